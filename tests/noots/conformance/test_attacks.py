"""The attack builders of noots.conformance.attacks, checked against the core receiver pipeline."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date

import pytest

from noots import messages
from noots.conformance.attacks import (
    ATTACKS,
    AttackKit,
    HostileRequest,
    leaked_personal_data,
    personal_data,
)
from noots.conformance.requests import RequestFactory
from noots.envelope import ReplayGuard, open_envelope
from noots.errors import EdmCode, NootsError, SignatureWrapping, XmlError
from noots.messages import NaturalPerson
from noots.pki import Role
from noots.testing.messages import sample_person
from noots.testing.pki import TestPki
from noots.tokens import check_token_binding, verify_token
from noots.topology import load_topology
from noots.xml import DEFAULT_LIMITS

CONSUMER = "08118079-BPA-87"
OTHER_CONSUMER = "09162000-GEWA-65"
PROVIDER = "991-01234ZFZR-41"
OTHER_PERSON = NaturalPerson("Musterfrau", "Gabriele", date(1971, 3, 4), "47036892816")


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    with TestPki() as pki:
        yield pki


@pytest.fixture(scope="module")
def kit(pki: TestPki) -> Iterator[AttackKit]:
    topology = load_topology()
    factory = RequestFactory.from_test_pki(pki, topology)
    revoked = pki.credential("attacker-revoked-1", Role.CONSUMER)
    pki.revoke("attacker-revoked-1")
    with TestPki() as foreign:
        yield AttackKit(
            factory,
            consumer=CONSUMER,
            provider=PROVIDER,
            evidence_type="Fahrzeughalterauskunft",
            subject=sample_person(),
            other_subject=OTHER_PERSON,
            other_consumer=OTHER_CONSUMER,
            revoked_signer=pki.signer(revoked.participant_id, Role.CONSUMER),
            untrusted_signer=foreign.signer(CONSUMER, Role.CONSUMER),
        )


def receive(raw: bytes, pki: TestPki, guard: ReplayGuard) -> None:
    """What a data provider does before it reads any register data (raises on refusal)."""
    verifier = pki.verifier()
    opened = open_envelope(raw, verifier, required_role=Role.CONSUMER)
    guard.check(opened.header)
    request = messages.parse(opened.body)
    assert isinstance(request, messages.EvidenceRequest)
    token = verify_token(request.issued_token, verifier, clock=pki.clock)
    check_token_binding(
        token,
        request=request,
        request_element=opened.body,
        consumer=opened.header.sender,
        purpose=opened.header.purpose,
        provider_id=PROVIDER,
    )


def test_the_kit_builds_requests_the_receiver_accepts(kit: AttackKit, pki: TestPki) -> None:
    """The baseline of every attack is a request the core receiver accepts."""
    receive(kit.fresh().raw, pki, ReplayGuard(pki.clock))


@pytest.mark.parametrize("name", list(ATTACKS))
def test_every_attack_is_refused_by_the_core_with_its_code(
    name: str, kit: AttackKit, pki: TestPki
) -> None:
    """Each attack's prelude is accepted and its hostile bytes are refused with its code."""
    attack = ATTACKS[name]
    assert attack.applies_to(kit)
    hostile = attack.build(kit)
    assert isinstance(hostile, HostileRequest)
    assert hostile.code is attack.code
    guard = ReplayGuard(pki.clock)
    for raw in hostile.prelude:
        receive(raw, pki, guard)
    with pytest.raises(NootsError) as caught:
        receive(hostile.raw, pki, guard)
    assert caught.value.code is attack.code, caught.value


def test_the_registry_covers_every_attack_the_issue_names() -> None:
    """Wrapping variants, hostile XML, replay, revoked sender, token and identity attacks."""
    required = {
        "moved_signed_body",
        "duplicated_body",
        "wrapped_in_unknown_element",
        "duplicate_id_reference",
        "header_only_signature",
        "xxe_external_entity",
        "billion_laughs",
        "external_dtd",
        "oversize",
        "deep_nesting",
        "replay",
        "revoked_sender",
        "token_for_another_request",
        "certificate_of_another_participant",
        "idnr_of_another_person",
    }
    assert required <= set(ATTACKS)
    for attack in ATTACKS.values():
        assert attack.description
        assert not attack.description.endswith(":")
        assert attack.build.__name__ == attack.name


def test_wrapping_attacks_fail_in_the_signature_check(kit: AttackKit, pki: TestPki) -> None:
    """Wrapping is caught by the signature shape or digest, never later in the pipeline."""
    verifier = pki.verifier()
    for name in ("wrapped_in_unknown_element", "duplicate_id_reference", "header_only_signature"):
        with pytest.raises(SignatureWrapping):
            open_envelope(ATTACKS[name].build(kit).raw, verifier)


@pytest.mark.parametrize(
    "name",
    [
        "xxe_external_entity",
        "xxe_utf16",
        "billion_laughs",
        "billion_laughs_utf16",
        "external_dtd",
        "parameter_entity",
        "stylesheet_instruction",
        "oversize",
        "deep_nesting",
        "very_deep_nesting",
        "too_many_elements",
    ],
)
def test_hostile_xml_is_refused_by_the_parser(name: str, kit: AttackKit, pki: TestPki) -> None:
    """Hostile XML never reaches the signature check: the hardened parser refuses it."""
    with pytest.raises(XmlError):
        open_envelope(ATTACKS[name].build(kit).raw, pki.verifier())


def test_oversize_is_one_byte_over_the_limit(kit: AttackKit) -> None:
    """The oversize attack is exactly at the boundary, so an off-by-one limit would show."""
    assert len(ATTACKS["oversize"].build(kit).raw) == DEFAULT_LIMITS.max_bytes + 1


def test_attacks_that_need_an_optional_credential_are_skipped_without_it(pki: TestPki) -> None:
    """A kit without the optional parts offers only the attacks it can build."""
    factory = RequestFactory.from_test_pki(pki, load_topology())
    bare = AttackKit(factory, CONSUMER, PROVIDER, "Fahrzeughalterauskunft", sample_person())
    skipped = {a.name for a in ATTACKS.values() if not a.applies_to(bare)}
    assert skipped == {
        "untrusted_certificate",
        "revoked_sender",
        "certificate_of_another_participant",
        "idnr_of_another_person",
        "token_of_another_consumer",
    }


def test_personal_data_names_the_subject() -> None:
    """The markers cover names, both date formats and the IDNr."""
    markers = personal_data([sample_person()])
    assert {"Mustermann", "Erika", "1964-08-12", "12.08.1964", "02476291358"} <= set(markers)


def test_leaked_personal_data_finds_the_subject_in_an_answer(kit: AttackKit) -> None:
    """A body that echoes the subject is caught; a bare refusal is not."""
    refusal = b"<Error><Code>EDM:ERR:0002</Code><Detail>token differs</Detail></Error>"
    assert leaked_personal_data(refusal, kit) == []
    leaked = leaked_personal_data(refusal + OTHER_PERSON.idnr.encode(), kit)  # type: ignore[union-attr]
    assert leaked == ["47036892816"]


def test_leak_check_ignores_chance_matches_inside_signature_values(kit: AttackKit) -> None:
    """A marker inside a base64 signature value or certificate is chance, not a leak."""
    name = kit.subject.family_name  # type: ignore[union-attr]
    refusal = (
        b'<e xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><Code>EDM:ERR:0001</Code>'
        b"<ds:SignatureValue>abc" + name.encode() + b"+/xyz==</ds:SignatureValue>"
        b"<ds:X509Certificate>MII" + name.encode() + b"Q==</ds:X509Certificate></e>"
    )
    assert leaked_personal_data(refusal, kit) == []


def test_leak_check_finds_a_subject_hidden_in_base64(kit: AttackKit) -> None:
    """Personal data base64-encoded into the answer (an evidence document) is still found."""
    name = kit.subject.family_name  # type: ignore[union-attr]
    document = f"<Nachweis><Name>{name}</Name><Padding>{'x' * 40}</Padding></Nachweis>"
    answer = b"<RepositoryItem>" + base64.b64encode(document.encode()) + b"</RepositoryItem>"
    assert name in leaked_personal_data(answer, kit)


def test_every_attack_code_is_one_of_the_refusal_codes() -> None:
    """Attacks are refused as authentication, authorisation or invalid request."""
    assert {a.code for a in ATTACKS.values()} == {
        EdmCode.AUTHENTICATION,
        EdmCode.AUTHORISATION,
        EdmCode.INVALID_REQUEST,
    }
