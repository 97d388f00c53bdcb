"""Tests for noots.consumers._explain: one actionable line per failure."""

from __future__ import annotations

import pytest

from noots.consumers._explain import ExchangeContext, explain
from noots.consumers._retry import TransportFailed
from noots.consumers._sak import UnlistedCodeError
from noots.errors import (
    AuthorisationRefused,
    EdmCode,
    NootsError,
    PersonNotFound,
    RouteNotFound,
    SignatureInvalid,
    error_for_code,
)

CTX = ExchangeContext("08118079-BPA-87", "Meldebescheinigung", "Bewohnerparkausweis")


def test_vs_refusal_names_consumer_evidence_and_purpose() -> None:
    """A missing row in the matrix is explained with the three values that select it."""
    text = explain(AuthorisationRefused("no row", component="noots-vs"), CTX)
    assert text.code == EdmCode.AUTHORISATION
    assert "08118079-BPA-87" in text.cause
    assert "'Bewohnerparkausweis'" in text.cause
    assert "--as" in text.fix


def test_own_check_failure_differs_from_a_refusal_by_the_sak() -> None:
    """An answer that failed the client's own checks is not explained as 'your SAK refused
    you'."""
    unfit = explain(SignatureInvalid("bad", component="08118079-BPA-87"), CTX)
    refused = explain(SignatureInvalid("bad", component="08118079-BPA-87.sak"), CTX)
    assert "discarded" in unfit.cause
    assert "08118079-BPA-87.sak did not accept" in refused.cause


def test_an_unlisted_code_is_shown_as_it_came() -> None:
    """A code outside the EDM list is the explanation's code and is named in both languages."""
    error = UnlistedCodeError("NOOTS:ERR:4711", "Regel 17", component="08118079-MELD-12")
    english, german = explain(error, CTX), explain(error, CTX, language="de")
    assert english.code == german.code == "NOOTS:ERR:4711"
    assert "NOOTS:ERR:4711" in english.cause
    assert "Regel 17" in english.cause
    assert "NOOTS:ERR:4711" in german.cause


def test_unknown_person_suggests_idnr() -> None:
    """No unique match suggests checking the basic data or passing --idnr."""
    assert "--idnr" in explain(PersonNotFound("none"), CTX).fix


def test_unknown_person_asked_by_idnr_does_not_suggest_idnr() -> None:
    """Asked with an IDNr already: the fix is to check that IDNr and basic data belong
    together, not to pass --idnr."""
    by_idnr = ExchangeContext(
        "08118079-BPA-87", "Meldebescheinigung", "Bewohnerparkausweis", by_idnr=True
    )
    text = explain(PersonNotFound("none"), by_idnr)
    assert "--idnr" not in text.fix
    assert "IDNr" in text.fix


@pytest.mark.parametrize("code", [c.value for c in EdmCode])
def test_every_code_has_a_distinct_english_and_german_line(code: str) -> None:
    """Each EDM code yields a cause and fix in both languages, never empty."""
    error = error_for_code(code, "detail", component="991-01234ZFZR-41")
    en, de = explain(error, CTX), explain(error, CTX, language="de")
    assert en.code == de.code == code
    assert all([en.cause, en.fix, de.cause, de.fix])
    assert en.line() != de.line()


@pytest.mark.parametrize(
    ("error", "needle"),
    [
        (TransportFailed("refused"), "noots up"),
        (RouteNotFound("no route"), "--region"),
        (NootsError("odd"), "noots status"),
    ],
)
def test_common_cases_point_at_the_fix(error: NootsError, needle: str) -> None:
    """Unreachable platform, missing route and internal errors each name their fix."""
    assert needle in explain(error, CTX).fix


def test_german_lines_are_plain_language() -> None:
    """The German text for a forged answer says the data were not used."""
    text = explain(SignatureInvalid("bad", component="08118079-BPA-87"), CTX, language="de")
    assert "keine Daten" in text.cause


def test_evidence_announced_for_later_is_not_a_timeout() -> None:
    """Evidence announced for later is explained as not ready yet, with the time and the
    request id, not as a provider that failed to answer in time; in German with the time in
    Europe/Berlin."""
    import uuid
    from datetime import UTC, datetime

    from noots.errors import EvidencePending

    pending = EvidencePending(
        "announced",
        available_at=datetime(2026, 12, 6, 5, 12, tzinfo=UTC),
        request_id=uuid.UUID(int=7),
        component="991-01234ZFZR-41",
    )
    english = explain(pending, CTX)
    assert "announced the evidence for 2026-12-06T05:12:00+00:00" in english.cause
    assert str(uuid.UUID(int=7)) in english.cause
    assert "in time" not in english.cause
    german = explain(pending, CTX, language="de")
    assert "06.12.2026, 06:12 Uhr" in german.cause
    assert "nicht rechtzeitig" not in german.cause
