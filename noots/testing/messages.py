"""Ready XNachweis messages for tests: fixed samples and hypothesis strategies.

::

    request = sample_request(clock)                       # Bewohnerparkausweis → KBA, Erika
    @given(evidence_requests())                           # random valid requests
    def test_round_trip(request): ...

The samples follow the official examples (Stadt Korntal-Münchingen asks the Kraftfahrt-Bundesamt
for a Fahrzeughalterauskunft about Erika Mustermann, IDNr 02476291358, an official test
number). The strategies produce values the model accepts, so every one of them builds into a
schema-valid message. Needs ``hypothesis`` (a development dependency).
"""

from __future__ import annotations

import string
from datetime import UTC, date, datetime, timedelta, timezone
from uuid import UUID

from hypothesis import strategies as st

from noots.clock import Clock
from noots.errors import EdmCode
from noots.messages import (
    EVIDENCE_TYPE_CLASSIFICATION_PREFIX,
    LEVELS_OF_ASSURANCE,
    Address,
    Agent,
    Authority,
    ErrorDetail,
    Evidence,
    EvidenceErrorResponse,
    EvidenceRequest,
    EvidenceResponse,
    EvidenceType,
    EvidenceTypeRef,
    LegalIdentifier,
    LegalPerson,
    NaturalPerson,
    Product,
)

__all__ = [
    "SAMPLE_DOCUMENT",
    "addresses",
    "agents",
    "error_responses",
    "evidence_requests",
    "evidence_responses",
    "evidence_types",
    "evidences",
    "instants",
    "legal_persons",
    "natural_persons",
    "sample_consumer",
    "sample_evidence_type",
    "sample_person",
    "sample_provider",
    "sample_request",
    "subjects",
]

SAMPLE_DOCUMENT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<fzr:Fahrzeughalterauskunft"
    b' xmlns:fzr="urn:example:noots:nachweis:fahrzeughalterauskunft:0.1">'
    b"<fzr:Kennzeichen>LB-EM 164</fzr:Kennzeichen></fzr:Fahrzeughalterauskunft>\n"
)


def sample_consumer() -> Agent:
    """The online service of the official examples (data consumer)."""
    return Agent("08118079-BPA-87", "Stadt Korntal-Münchingen, Bewohnerparkausweis")


def sample_provider() -> Agent:
    """The register of the official examples (data provider)."""
    return Agent("991-01234ZFZR-41", "Kraftfahrt-Bundesamt, Zentrales Fahrzeugregister")


def sample_evidence_type() -> EvidenceType:
    return EvidenceType(
        EVIDENCE_TYPE_CLASSIFICATION_PREFIX + "d830ee7b-b480-43f0-bbde-4a0da769deeb",
        "Fahrzeughalterauskunft aus dem Zentralen Fahrzeugregister",
        UUID("beb79032-2088-4061-a834-ca8f0e244ac1"),
    )


def sample_person() -> NaturalPerson:
    return NaturalPerson("Mustermann", "Erika", date(1964, 8, 12), "02476291358")


def sample_request(clock: Clock, *, issued_token: str = "") -> EvidenceRequest:
    """A fresh test request of the sample consumer to the sample provider."""
    return EvidenceRequest.new(
        requester=sample_consumer(),
        provider=sample_provider(),
        evidence_type=sample_evidence_type(),
        subject=sample_person(),
        clock=clock,
        issued_token=issued_token,
        test=True,
    )


# --- strategies -------------------------------------------------------------------------------

_GERMAN_LETTERS = string.ascii_letters + "äöüÄÖÜßéèçñ"
_NAME_ALPHABET = _GERMAN_LETTERS + " -'."
# xs:string fields keep every character, line breaks (CR too, lxml escapes it) included.
_FREE_ALPHABET = _NAME_ALPHABET + '0123456789,;:/()&<>"\n\r\t€'


def _words(min_size: int = 1, max_size: int = 40) -> st.SearchStrategy[str]:
    """Single-line text with at least one letter (names, titles: normalizedString)."""
    return st.text(_NAME_ALPHABET, min_size=min_size, max_size=max_size).filter(
        lambda text: any(char.isalpha() for char in text)
    )


def _free_text(max_size: int = 60) -> st.SearchStrategy[str]:
    return st.text(_FREE_ALPHABET, max_size=max_size)


def _codes() -> st.SearchStrategy[str]:
    return st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,11}", fullmatch=True)


def _participant_ids() -> st.SearchStrategy[str]:
    return st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.:_-]{0,30}", fullmatch=True)


def instants() -> st.SearchStrategy[datetime]:
    """Zone-aware instants in any whole-minute offset, microseconds included (the model keeps
    milliseconds)."""
    offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    )
    return st.builds(
        lambda moment, zone: moment.replace(tzinfo=UTC).astimezone(zone),
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
        st.one_of(st.just(UTC), offsets),
    )


def _dates() -> st.SearchStrategy[date]:
    return st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31))


def addresses() -> st.SearchStrategy[Address]:
    optional_text = st.none() | _free_text(30)
    return st.builds(
        Address,
        full_address=optional_text,
        thoroughfare=optional_text,
        locator_designator=optional_text,
        country_code=st.none() | st.sampled_from(["DE", "AT", "FR"]),
        nuts_code=st.none() | st.sampled_from(["DE11", "DE111", "DE300"]),
        post_code=st.none() | st.from_regex(r"[0-9]{5}", fullmatch=True),
        post_city_name=optional_text,
    )


def agents(*, with_address: bool = True) -> st.SearchStrategy[Agent]:
    return st.builds(
        Agent,
        _participant_ids(),
        _words(),
        scheme_id=st.sampled_from(
            ["urn:cef.eu:names:identifier:EAS:0204", "urn:cef.eu:names:identifier:EAS:0088"]
        ),
        address=(st.none() | addresses()) if with_address else st.none(),
    )


def natural_persons() -> st.SearchStrategy[NaturalPerson]:
    return st.builds(
        NaturalPerson,
        _free_text(40),
        _free_text(40),
        _dates(),
        st.none() | st.from_regex(r"[0-9]{11}", fullmatch=True),
        level_of_assurance=st.sampled_from(sorted(LEVELS_OF_ASSURANCE)),
        birth_name=st.none() | _free_text(40),
        place_of_birth=st.none() | _free_text(40),
        current_address=st.none() | addresses(),
        gender=st.none() | st.sampled_from(["female", "male", "diverse"]),
    )


def legal_persons() -> st.SearchStrategy[LegalPerson]:
    return st.builds(
        LegalPerson,
        _words(),
        identifiers=st.lists(
            st.builds(
                LegalIdentifier,
                st.from_regex(
                    r"(Amtsgericht [A-Z][a-zä]{2,12}, )?HR[AB] [0-9]{1,6}", fullmatch=True
                ),
                _codes(),
            ),
            max_size=2,
        ).map(tuple),
        legal_person_identifier=st.none()
        | st.from_regex(r"DE/DE/[A-Za-z0-9]{1,20}", fullmatch=True),
        registered_address=st.none() | addresses(),
        level_of_assurance=st.sampled_from(sorted(LEVELS_OF_ASSURANCE)),
    )


def subjects() -> st.SearchStrategy[NaturalPerson | LegalPerson]:
    return st.one_of(natural_persons(), legal_persons())


def evidence_types() -> st.SearchStrategy[EvidenceType]:
    return st.builds(
        EvidenceType,
        st.uuids().map(lambda value: f"{EVIDENCE_TYPE_CLASSIFICATION_PREFIX}{value}"),
        _words(),
        st.uuids(),
        st.sampled_from(["application/xml", "application/pdf", "application/json"]),
    )


def _authorities() -> st.SearchStrategy[Authority]:
    return st.builds(Authority, _participant_ids(), _words())


def _products() -> st.SearchStrategy[Product]:
    return st.one_of(
        st.just(Product()),
        st.builds(Product, _words(), _words(), st.none() | _codes()),
    )


def evidence_requests() -> st.SearchStrategy[EvidenceRequest]:
    return st.builds(
        EvidenceRequest,
        st.uuids(),
        st.uuids(),
        instants(),
        instants(),
        agents(),
        agents(),
        st.one_of(st.just(""), st.from_regex(r"[A-Za-z0-9+/]{4,80}={0,2}", fullmatch=True)),
        evidence_types(),
        subjects(),
        _authorities(),
        _authorities(),
        language=st.sampled_from(["de", "en", "fr"]),
        test=st.booleans(),
        product=_products(),
    )


def evidences() -> st.SearchStrategy[Evidence]:
    validity = st.none() | st.tuples(_dates(), _dates()).map(lambda pair: tuple(sorted(pair)))
    return st.builds(
        Evidence,
        st.uuids(),
        _dates(),
        agents(with_address=False),
        st.builds(
            EvidenceTypeRef,
            st.uuids().map(lambda value: f"{EVIDENCE_TYPE_CLASSIFICATION_PREFIX}{value}"),
            _words(),
        ),
        st.binary(max_size=300),
        subjects(),
        media_type=st.sampled_from(["application/xml", "application/pdf"]),
        language=st.none() | st.sampled_from(["de", "en"]),
        validity_period=validity,
    )


def evidence_responses(*, pending: bool | None = None) -> st.SearchStrategy[EvidenceResponse]:
    """Responses with one to three evidences, or asynchronous ones (``pending``)."""
    with_evidence = st.builds(
        EvidenceResponse,
        st.uuids(),
        st.uuids(),
        st.uuids(),
        instants(),
        instants(),
        agents(),
        agents(),
        _authorities(),
        _authorities(),
        evidences=st.lists(evidences(), min_size=1, max_size=3).map(tuple),
        test=st.booleans(),
        product=_products(),
    )
    announced = st.builds(
        EvidenceResponse,
        st.uuids(),
        st.uuids(),
        st.uuids(),
        instants(),
        instants(),
        agents(),
        agents(),
        _authorities(),
        _authorities(),
        available_at=instants(),
        test=st.booleans(),
        product=_products(),
    )
    if pending is None:
        return st.one_of(with_evidence, announced)
    return announced if pending else with_evidence


def error_responses() -> st.SearchStrategy[EvidenceErrorResponse]:
    errors = st.builds(
        ErrorDetail,
        st.sampled_from(list(EdmCode)),
        st.none() | _free_text(80),
        st.none() | instants(),
    )
    return st.builds(
        EvidenceErrorResponse,
        st.uuids(),
        st.uuids(),
        st.uuids(),
        instants(),
        instants(),
        agents(),
        agents(),
        st.lists(errors, min_size=1, max_size=3).map(tuple),
        _authorities(),
        _authorities(),
        test=st.booleans(),
        product=_products(),
    )
