"""The authorisation matrix of the topology as an online service reads it: which purposes and
legal bases it may declare for an evidence type. The Vermittlungsstelle decides; the online
service only states truthfully what it claims."""

from __future__ import annotations

from noots.topology import Authorisation, Topology

__all__ = ["legal_basis_for", "matrix_rows"]

#: What an online service declares without a matrix row: the VS will refuse (nothing is sent).
NO_LEGAL_BASIS = "nicht angegeben"


def matrix_rows(topology: Topology, consumer: str, evidence_type: str) -> list[Authorisation]:
    """The authorisation matrix rows of ``consumer`` for ``evidence_type`` (any provider)."""
    return [
        row
        for row in topology.authorisations
        if row.consumer == consumer and row.evidence_type == evidence_type
    ]


def legal_basis_for(
    topology: Topology, consumer: str, evidence_type: str, provider: str, purpose: str
) -> str:
    """The legal basis of the matrix row this request claims (``nicht angegeben`` without)."""
    for row in topology.authorisations_for(consumer, evidence_type, provider):
        if row.purpose == purpose:
            return row.legal_basis
    return NO_LEGAL_BASIS
