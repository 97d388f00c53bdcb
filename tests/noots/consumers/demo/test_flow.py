"""Tests for noots.consumers.demo._flow: step order and the accepted-data-only rule (DC-07)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from noots.consumers._document import DocumentRow
from noots.consumers._explain import Explanation
from noots.consumers.demo._flow import (
    Citizen,
    FlowError,
    SessionStore,
    Step,
    sign_session_id,
    unsign_session_id,
)
from noots.consumers.demo._services import SERVICES

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ERIKA = Citizen("02476291358", "Erika", "Mustermann", date(1964, 8, 12), "hoch")
ROW = DocumentRow(("Person", "Familienname"), "Person › Familienname", "Mustermann")


def fetched_application():
    application = SessionStore().create(SERVICES["bewohnerparkausweis"], NOW)
    application.log_in(ERIKA)
    application.give_consent(NOW, {})
    melde, kfz = application.retrievals
    melde.rows = [ROW]
    kfz.rows = [ROW]
    return application


def test_steps_follow_login_consent_preview_done() -> None:
    """An application moves login → consent → preview → done, and reports where it is."""
    application = SessionStore().create(SERVICES["elterngeld"], NOW)
    assert application.step is Step.LOGIN
    application.log_in(ERIKA)
    assert application.step is Step.CONSENT
    application.give_consent(NOW, {"region": "05315000"})
    assert application.step is Step.PREVIEW
    assert [r.need.evidence_type for r in application.retrievals] == [
        "Geburtsurkunde",
        "Meldebescheinigung",
    ]


def test_no_consent_before_login_and_no_decision_before_consent() -> None:
    """DC-07: consenting before login or deciding before consent raises FlowError."""
    application = SessionStore().create(SERVICES["bewohnerparkausweis"], NOW)
    with pytest.raises(FlowError) as caught:
        application.give_consent(NOW, {})
    assert caught.value.step is Step.LOGIN
    application.log_in(ERIKA)
    with pytest.raises(FlowError):
        application.decide({"Meldebescheinigung": "accepted"})
    assert application.retrievals == []  # nothing fetched before consent


def test_completion_needs_a_decision_for_every_previewed_evidence() -> None:
    """DC-07: an application cannot complete while a previewed evidence is undecided."""
    application = fetched_application()
    with pytest.raises(FlowError):
        application.decide({"Meldebescheinigung": "accepted"})
    with pytest.raises(FlowError):
        application.complete(NOW)
    assert application.completed_at is None


def test_only_accepted_evidence_is_used() -> None:
    """DC-07: a rejected evidence is not among the accepted data; it is to be handed in."""
    application = fetched_application()
    application.decide({"Meldebescheinigung": "accepted", "Fahrzeughalterauskunft": "rejected"})
    application.complete(NOW)
    assert application.step is Step.DONE
    assert [r.need.evidence_type for r in application.accepted()] == ["Meldebescheinigung"]
    assert [r.need.evidence_type for r in application.not_used()] == ["Fahrzeughalterauskunft"]
    assert application.reference is not None


def test_application_form_is_filled_from_accepted_evidence_only() -> None:
    """The plate comes from an accepted vehicle extract; a rejected one leaves it unproven."""
    application = fetched_application()
    melde, kfz = application.retrievals
    melde.rows = [
        DocumentRow(("Person", "Vornamen"), "", "Erika"),
        DocumentRow(("Person", "Familienname"), "", "Mustermann"),
    ]
    kfz.rows = [DocumentRow(("Fahrzeug", "Kennzeichen"), "", "LB-EM 1964")]
    application.decide({"Meldebescheinigung": "accepted", "Fahrzeughalterauskunft": "rejected"})
    application.complete(NOW)
    assert application.form() == [
        ("Name", "Erika Mustermann"),
        ("Wohnanschrift", None),  # accepted, but the document lacks the address: not proven
        ("Kennzeichen", None),
    ]


def test_failed_retrieval_needs_no_decision_and_is_not_used() -> None:
    """A retrieval that failed is shown with its explanation, needs no decision, is never used."""
    application = fetched_application()
    application.retrievals[1].rows = []
    application.retrievals[1].error = Explanation("EDM:ERR:0004", "nicht gefunden", "selbst")
    application.decide({"Meldebescheinigung": "rejected"})
    application.complete(NOW)
    assert application.accepted() == []
    assert len(application.not_used()) == 2


def test_session_ids_are_signed_and_bound_to_their_purpose() -> None:
    """A cookie verifies only with its key and purpose; a changed id or MAC is refused."""
    secret = b"k" * 32
    cookie = sign_session_id(secret, "abc123")
    assert unsign_session_id(secret, cookie) == "abc123"
    assert unsign_session_id(b"other", cookie) is None
    assert unsign_session_id(secret, cookie, "form") is None
    assert unsign_session_id(secret, "abc124" + cookie[6:]) is None
    assert unsign_session_id(secret, "no-mac") is None


def test_store_drops_old_and_excess_sessions() -> None:
    """The store is bounded: sessions older than max_age vanish, the oldest go first when full."""
    store = SessionStore(max_sessions=2, max_age=timedelta(minutes=30))
    first = store.create(SERVICES["gewerbeanmeldung"], NOW)
    second = store.create(SERVICES["gewerbeanmeldung"], NOW + timedelta(minutes=1))
    third = store.create(SERVICES["gewerbeanmeldung"], NOW + timedelta(minutes=2))
    assert store.get(first.id, NOW + timedelta(minutes=2)) is None
    assert store.get(second.id, NOW + timedelta(minutes=2)) is second
    assert store.get(third.id, NOW + timedelta(minutes=40)) is None
    assert len(store) == 0
