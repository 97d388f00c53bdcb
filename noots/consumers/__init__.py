"""Data consumers: the client library, the demo online services and the dashboard.

An online service connects only through its own Sicherer Anschlussknoten (SAK). One call
fetches one evidence for one person, checked end to end::

    from noots.consumers import Client
    with Client.from_landscape("08118079-BPA-87", data_dir="noots-data") as client:
        result = client.fetch_evidence("Meldebescheinigung", idnr="02476291358",
                                       born=date(1964, 8, 12), region="08118079",
                                       purpose="Bewohnerparkausweis")
        result.rows()        # the document as (label, value) rows
        result.raw_response  # the 0102 exactly as received, kept for audit

Evidence from another EU member state is ordered through the Intermediäre Plattform
(``order_evidence`` → send the citizen to ``url_to_ip`` → ``get_evidence``, docs/EU.md).

Failures are the typed errors of :mod:`noots.errors` (one class per EDM code; a code outside
``EDM:ERR:0001…0008`` is :class:`UnlistedCodeError`); :func:`explain` turns one into a line a
person can act on.
"""

from __future__ import annotations

from noots.consumers._client import AccessTokens, AsyncClient, Client, Endpoints
from noots.consumers._document import DocumentRow, document_rows, document_to_dict
from noots.consumers._eu import EuEvidence, EuEvidencePending, OrderPlaced
from noots.consumers._explain import ExchangeContext, Explanation, explain
from noots.consumers._landscape import RunningLandscape, find_landscape
from noots.consumers._person import PersonQuery, company, parse_date, parse_person
from noots.consumers._results import EvidenceResult, PendingEvidence, Route
from noots.consumers._retry import RetryPolicy, TransportFailed, is_retryable
from noots.consumers._sak import UnlistedCodeError

__all__ = [
    "AccessTokens",
    "AsyncClient",
    "Client",
    "DocumentRow",
    "Endpoints",
    "EuEvidence",
    "EuEvidencePending",
    "EvidenceResult",
    "ExchangeContext",
    "Explanation",
    "OrderPlaced",
    "PendingEvidence",
    "PersonQuery",
    "RetryPolicy",
    "Route",
    "RunningLandscape",
    "TransportFailed",
    "UnlistedCodeError",
    "company",
    "document_rows",
    "document_to_dict",
    "explain",
    "find_landscape",
    "is_retryable",
    "parse_date",
    "parse_person",
]
