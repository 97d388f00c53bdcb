"""Sensible defaults for a run: whom to ask about, as whom, from the fixed test identities.

The behaviour identities of :mod:`registers.identities` exist in every seeded population, so
against a mock register of the simulator (or a register loaded with the same test data) the
suite needs nothing but the URL and the participant id. An operator whose register holds other
people names one with ``--idnr`` and ``--person`` (or ``--company``).
"""

from __future__ import annotations

import ssl
from dataclasses import replace
from pathlib import Path

from consumers.provider_conformance._suite import ProviderTarget
from noots.errors import ConfigurationError
from noots.messages import LegalIdentifier, LegalPerson, NaturalPerson, Subject
from noots.tls import TlsFiles, client_context
from noots.topology import RegisterSpec, Topology
from registers.identities import (
    BEHAVIOUR_IDENTITIES,
    DEMO_COMPANY,
    Behaviour,
    BehaviourIdentity,
)

__all__ = ["default_target", "person_of", "platform_tls"]


def person_of(identity: BehaviourIdentity, *, with_idnr: bool = True) -> NaturalPerson:
    return NaturalPerson(
        identity.family_name,
        identity.given_names.split()[0],
        identity.date_of_birth,
        identity.idnr if with_idnr else None,
    )


def _first(behaviour: Behaviour) -> BehaviourIdentity:
    return next(i for i in BEHAVIOUR_IDENTITIES if i.behaviour is behaviour)


def _by_idnr(idnr: str) -> BehaviourIdentity:
    return next(i for i in BEHAVIOUR_IDENTITIES if i.idnr == idnr)


ERIKA = "02476291358"
LENA = "01234567812"


_PREFERENCE = (
    Behaviour.NORMAL,
    Behaviour.MOVED_AWAY,
    Behaviour.AMBIGUOUS,
    Behaviour.ASYNCHRONOUS,
    Behaviour.SLOW,
)


def _resident(spec: RegisterSpec) -> BehaviourIdentity | None:
    """A test identity registered in the municipality of a Melderegister."""
    candidates = [
        i
        for i in BEHAVIOUR_IDENTITIES
        if i.ags == spec.region
        and i.in_population
        and i.date_of_death is None
        and not i.information_block
        and i.behaviour in _PREFERENCE
    ]
    # A normal identity first; a slow one (answers late on purpose) only when nobody else lives
    # there.
    candidates.sort(key=lambda i: _PREFERENCE.index(i.behaviour))
    return candidates[0] if candidates else None


def default_target(
    topology: Topology,
    participant: str,
    url: str,
    *,
    evidence_type: str | None = None,
    consumer: str | None = None,
    subject: Subject | None = None,
    protocol_log: str | None = None,
    time_budget: float = 10.0,
    max_wait: float = 30.0,
) -> ProviderTarget:
    """The target with defaults filled in; :class:`ConfigurationError` says what is missing."""
    spec = next((r for r in topology.registers if r.participant_id == participant), None)
    if evidence_type is None:
        if spec is None:
            raise ConfigurationError(
                f"{participant} is not a register of this landscape: name the evidence type "
                "with --evidence"
            )
        evidence_type = spec.evidence_types[0]
    type_spec = topology.evidence_type(evidence_type)
    rows = [
        a
        for a in topology.authorisations
        if a.evidence_type == evidence_type and a.allows_provider(participant)
    ]
    consumers = [c.participant_id for c in topology.consumers]
    consumer = consumer or (rows[0].consumer if rows else (consumers[0] if consumers else None))
    if consumer is None:
        raise ConfigurationError("the landscape has no data consumer to act as: use --consumer")
    other_consumer = next((c for c in consumers if c != consumer), None)
    if type_spec.subject == "legal":
        return ProviderTarget(
            url=url,
            participant=participant,
            evidence_type=evidence_type,
            consumer=consumer,
            subject=subject
            or LegalPerson(
                DEMO_COMPANY.name,
                identifiers=(LegalIdentifier(DEMO_COMPANY.number, DEMO_COMPANY.register),),
            ),
            unknown=LegalPerson("Niemand GmbH", identifiers=(LegalIdentifier("9999999", "HRB"),)),
            other_subject=person_of(_by_idnr(LENA)),
            other_consumer=other_consumer,
            protocol_log=protocol_log,
            time_budget=time_budget,
            max_wait=max_wait,
        )
    asynchronous = _first(Behaviour.ASYNCHRONOUS)
    if subject is None:
        if spec is not None and spec.kind == "melderegister":
            resident = _resident(spec)
            if resident is None:
                raise ConfigurationError(
                    f"no test identity lives in {spec.region}: name a person your register "
                    "knows with --idnr and --person"
                )
            subject = person_of(resident)
        else:
            subject = person_of(_by_idnr(ERIKA))
    holds_async = spec is None or spec.kind != "melderegister" or spec.region == asynchronous.ags
    subject_idnr = subject.idnr if isinstance(subject, NaturalPerson) else None
    other = _by_idnr(LENA if subject_idnr != LENA else ERIKA)
    return ProviderTarget(
        url=url,
        participant=participant,
        evidence_type=evidence_type,
        consumer=consumer,
        subject=subject,
        unknown=person_of(_first(Behaviour.NOT_FOUND)),
        blocked=person_of(_first(Behaviour.INFORMATION_BLOCK)),
        ambiguous=person_of(_first(Behaviour.AMBIGUOUS), with_idnr=False),
        async_subject=person_of(asynchronous) if holds_async else None,
        other_subject=person_of(other),
        other_consumer=other_consumer,
        protocol_log=protocol_log,
        time_budget=time_budget,
        max_wait=max_wait,
    )


def platform_tls(
    topology: Topology, pki_dir: Path, *, ca_file: Path | None = None
) -> ssl.SSLContext:
    """The client side of mutual TLS as the platform's hub, the only caller a register accepts:
    the hub's certificate and key from the simulator PKI, and the simulator's root CA (or
    ``ca_file``, the CA that issued the register's server certificate) as the trust anchor."""
    files = TlsFiles.for_participant(pki_dir, topology.platform.platform_id)
    if ca_file is not None:
        files = replace(files, trust_anchor=ca_file)
    missing = [p for p in (files.certificate, files.key, files.trust_anchor) if not p.is_file()]
    if missing:
        raise ConfigurationError(
            "mutual TLS needs " + ", ".join(str(p) for p in missing) + " (run `noots bootstrap`)"
        )
    try:
        return client_context(files)
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigurationError(f"the TLS files cannot be used: {exc}") from None
