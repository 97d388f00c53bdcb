"""Moved to :mod:`noots.synthetic.identities` (shared by IDA, eID and registers); this name stays
importable."""

from __future__ import annotations

from noots.synthetic.identities import (
    BEHAVIOUR_IDENTITIES,
    DEMO_COMPANY,
    Behaviour,
    BehaviourIdentity,
    DemoCompany,
    IdentityVehicle,
    behaviour_of,
    identity,
    markdown_table,
    reserved_idnrs,
    reserved_plates,
)

__all__ = [
    "BEHAVIOUR_IDENTITIES",
    "DEMO_COMPANY",
    "Behaviour",
    "BehaviourIdentity",
    "DemoCompany",
    "IdentityVehicle",
    "behaviour_of",
    "identity",
    "markdown_table",
    "reserved_idnrs",
    "reserved_plates",
]
