"""Data consumers: the client library, the demo online services and the dashboard.

One call fetches one evidence for one person, verified end to end::

    from consumers import Client, Endpoints
    with Client(participant, Endpoints.from_topology(topology), topology) as client:
        result = client.fetch_evidence("Meldebescheinigung", idnr="02476291358",
                                       region="08118079", purpose="Bewohnerparkausweis")
        result.rows()        # the document as (label, value) rows
        result.raw_response  # the signed answer, kept for audit

Failures are the typed errors of :mod:`noots.errors` (one class per EDM code);
:func:`explain` turns one into a line a person can act on.
"""

from __future__ import annotations

from consumers._client import AsyncClient, Client, Endpoints
from consumers._document import DocumentRow, document_rows, document_to_dict
from consumers._explain import ExchangeContext, Explanation, explain
from consumers._person import PersonQuery, company, parse_date, parse_person
from consumers._results import EvidenceResult, Route
from consumers._retry import RetryPolicy, TransportFailed, is_retryable

__all__ = [
    "AsyncClient",
    "Client",
    "DocumentRow",
    "Endpoints",
    "EvidenceResult",
    "ExchangeContext",
    "Explanation",
    "PersonQuery",
    "RetryPolicy",
    "Route",
    "TransportFailed",
    "company",
    "document_rows",
    "document_to_dict",
    "explain",
    "is_retryable",
    "parse_date",
    "parse_person",
]
