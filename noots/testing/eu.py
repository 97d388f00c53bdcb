"""Ready EDM values and hypothesis strategies for tests of the EU side (noots.eu).

The samples are the two pilots: a French authority (Mairie de Lyon) asks for a German
Geburtsurkunde (use case 3), a German online service orders an Austrian university degree
(use case 4). Needs ``hypothesis`` (a development dependency) for the strategies.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import strategies as st

from noots.clock import Clock
from noots.errors import EdmCode
from noots.eu.edm import (
    LEVELS_OF_ASSURANCE,
    EdmAgent,
    EdmError,
    EdmEvidence,
    EdmEvidenceType,
    EdmLegalPerson,
    EdmNaturalPerson,
    EdmRequirement,
    QueryErrorResponse,
    QueryRequest,
    QueryResponse,
)
from noots.intermediary.eu.catalogue import (
    AUSTRIAN_UNIVERSITY,
    BIRTH_CERTIFICATE,
    BIRTH_REQUIREMENT,
    DEGREE,
    DEGREE_REQUIREMENT,
    FRENCH_AUTHORITY,
    GERMAN_IP,
)
from noots.messages import EVIDENCE_TYPE_CLASSIFICATION_PREFIX

__all__ = [
    "AUSTRIAN_UNIVERSITY",
    "BIRTH_CERTIFICATE",
    "BIRTH_REQUIREMENT",
    "DEGREE",
    "DEGREE_REQUIREMENT",
    "FRENCH_AUTHORITY",
    "GERMAN_IP",
    "edm_errors",
    "error_responses",
    "query_requests",
    "query_responses",
    "sample_query",
]


def sample_query(
    clock: Clock, *, preview: bool = False, subject: EdmNaturalPerson | None = None
) -> QueryRequest:
    """The French authority asks the German IP for Erika Mustermann's birth certificate."""
    return QueryRequest.new(
        procedure="R1",
        requester=FRENCH_AUTHORITY,
        provider=GERMAN_IP,
        evidence_type=BIRTH_CERTIFICATE,
        subject=subject or EdmNaturalPerson("Mustermann", "Erika", date(1964, 8, 12)),
        requirements=(),
        clock=clock,
        possibility_for_preview=preview,
    )


# --- strategies -------------------------------------------------------------------------------

_WORDS = st.text("abcdefghijklmnopqrstuvwxyzÄÖÜäöüßéèç -'", min_size=1, max_size=25).filter(
    lambda text: text.strip() != "" and text == " ".join(text.split())
)
_LANGS = st.sampled_from(["EN", "DE", "FR", "de"])
_INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)


def _agents(classification: str | None) -> st.SearchStrategy[EdmAgent]:
    return st.builds(
        EdmAgent,
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True),
        st.sampled_from(
            [
                "urn:cef.eu:names:identifier:EAS:0009",
                "urn:cef.eu:names:identifier:EAS:0204",
                "urn:oasis:names:tc:ebcore:partyid-type:unregistered:FR",
            ]
        ),
        _WORDS,
        name_lang=_LANGS,
        country=st.none() | st.sampled_from(["DE", "FR", "AT"]),
        classification=st.just(classification),
    )


def _subjects() -> st.SearchStrategy[EdmNaturalPerson | EdmLegalPerson]:
    loa = st.sampled_from(sorted(LEVELS_OF_ASSURANCE))
    natural = st.builds(
        EdmNaturalPerson,
        _WORDS,
        _WORDS,
        st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 1, 1)),
        level_of_assurance=loa,
        identifier=st.none() | st.from_regex(r"[A-Z]{2}/DE/[A-Za-z0-9]{1,12}", fullmatch=True),
        birth_name=st.none() | _WORDS,
        place_of_birth=st.none() | _WORDS,
        gender=st.none() | st.sampled_from(["Male", "Female", "Unspecified"]),
    )
    legal = st.builds(
        EdmLegalPerson,
        _WORDS,
        level_of_assurance=loa,
        identifier=st.none() | st.from_regex(r"DE/[A-Z]{2}/[A-Za-z0-9]{1,12}", fullmatch=True),
    )
    return st.one_of(natural, legal)


def _evidence_types() -> st.SearchStrategy[EdmEvidenceType]:
    return st.builds(
        EdmEvidenceType,
        st.uuids().map(str),
        st.uuids().map(lambda u: f"{EVIDENCE_TYPE_CLASSIFICATION_PREFIX}{u}"),
        _WORDS,
        title_lang=_LANGS,
        description=st.none() | _WORDS,
        format=st.sampled_from(["application/pdf", "application/xml"]),
        language=st.none() | _LANGS,
    )


def query_requests() -> st.SearchStrategy[QueryRequest]:
    return st.builds(
        QueryRequest,
        st.uuids(),
        _INSTANTS,
        st.sampled_from(["T3", "R1", "00"]),
        st.booleans(),
        st.booleans(),
        _agents("ER"),
        _agents(None),
        _evidence_types(),
        _subjects(),
        requirements=st.lists(
            st.builds(
                EdmRequirement,
                st.uuids().map(lambda u: f"https://sr.oots.tech.ec.europa.eu/requirements/{u}"),
                _WORDS,
                _LANGS,
            ),
            max_size=2,
        ).map(tuple),
        platform=st.none() | _agents("IP"),
        preview_location=st.none() | st.just("https://preview.example.org/space?token=abc"),
    )


def _evidences() -> st.SearchStrategy[EdmEvidence]:
    return st.builds(
        EdmEvidence,
        st.uuids(),
        _subjects(),
        _agents(None),
        st.uuids().map(lambda u: f"{EVIDENCE_TYPE_CLASSIFICATION_PREFIX}{u}"),
        _WORDS,
        st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)),
        st.binary(max_size=200),
        title_lang=_LANGS,
        format=st.sampled_from(["application/pdf", "application/xml"]),
        language=st.none() | _LANGS,
        package_id=st.uuids(),
        object_id=st.uuids(),
        content_id=st.uuids().map(lambda u: f"{u}@noots.eu"),
    )


def query_responses() -> st.SearchStrategy[QueryResponse]:
    with_evidence = st.builds(
        QueryResponse,
        st.uuids(),
        st.uuids(),
        _INSTANTS,
        _agents("EP"),
        _agents(None),
        evidences=st.lists(
            _evidences(), min_size=1, max_size=2, unique_by=lambda e: e.content_id
        ).map(tuple),
    )
    pending = st.builds(
        QueryResponse,
        st.uuids(),
        st.uuids(),
        _INSTANTS,
        _agents("EP"),
        _agents(None),
        available_at=_INSTANTS.map(lambda moment: moment + timedelta(hours=1)),
    )
    return st.one_of(with_evidence, pending)


def edm_errors() -> st.SearchStrategy[EdmError]:
    plain = st.builds(
        EdmError,
        st.sampled_from(list(EdmCode)),
        _WORDS,
        detail=st.none() | _WORDS,
        timestamp=st.none() | _INSTANTS,
    )
    preview = st.builds(
        EdmError,
        st.just(EdmCode.AUTHORISATION),
        st.just("Missing Authorization"),
        timestamp=st.none() | _INSTANTS,
        preview_location=st.just("https://preview.example.org/space?token=abc"),
        preview_description=st.none() | _WORDS,
        preview_method=st.none() | st.sampled_from(["GET", "POST"]),
    )
    return st.one_of(plain, preview)


def error_responses() -> st.SearchStrategy[QueryErrorResponse]:
    return st.builds(
        QueryErrorResponse, st.uuids(), st.uuids(), _agents("ERRP"), _agents(None), edm_errors()
    )
