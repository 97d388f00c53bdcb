"""Tests of noots.exchange: who sends which request to whom, and which answer belongs to it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from noots import messages
from noots.clock import ManualClock
from noots.errors import EdmCode, MalformedMessage, ResponseBindingError
from noots.exchange import addressee, check_answer, refusal, refusal_code, request_id, sender
from noots.messages import (
    Agent,
    Authority,
    EuEvidenceRequest,
    EvidenceOrder,
    GetEvidence,
    Requirement,
)
from noots.testing.messages import (
    sample_consumer,
    sample_evidence_type,
    sample_person,
    sample_provider,
    sample_request,
)

Check = Callable[[bytes], list[str]]
CLOCK = ManualClock(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
IP = Agent("noots-ip", "Intermediäre Plattform")
LYON = Agent("21690123100011", "Mairie de Lyon", scheme_id="urn:cef.eu:names:identifier:EAS:0009")
SAK = Agent("noots-ip.sak", "Sicherer Anschlussknoten")


def request_0301() -> EuEvidenceRequest:
    return EuEvidenceRequest.new(
        requester=LYON,
        provider=sample_provider(),
        evidence_type=sample_evidence_type(),
        subject=sample_person(),
        platform=Authority.of(IP),
        clock=CLOCK,
        test=True,
    )


def order() -> EvidenceOrder:
    return EvidenceOrder.new(
        requester=sample_consumer(),
        platform=IP,
        procedure="T3",
        requirements=(
            Requirement(
                "https://sr.oots.tech.ec.europa.eu/requirements/"
                "f8a6a284-34e9-42c7-9733-63b5c4f4aa42",
                "Degree",
                "AT",
            ),
        ),
        evidence_type=sample_evidence_type(),
        subject=sample_person(),
        back_url="https://dienst.example/zurueck",
        clock=CLOCK,
        test=True,
    )


def collect() -> GetEvidence:
    return GetEvidence.new(
        conversation_id="conversation-1",
        requester=Authority.of(sample_consumer()),
        platform=Authority.of(IP),
        clock=CLOCK,
        test=True,
    )


def test_the_0301_is_sent_by_the_ip_not_by_its_eu_requester() -> None:
    """The 0301's sender through NOOTS is its author (the IP); its requester is abroad."""
    request = request_0301()
    assert sender(request) == "noots-ip"
    assert addressee(request) == sample_provider().identifier


def test_orders_and_collections_go_to_the_ip() -> None:
    """A 0401 and a 0411 are sent by the online service and addressed to the IP."""
    assert (sender(order()), addressee(order())) == (sample_consumer().identifier, "noots-ip")
    assert (sender(collect()), addressee(collect())) == (sample_consumer().identifier, "noots-ip")


def test_a_0402_answers_its_0401_by_the_order_id() -> None:
    """The 0402 echoes the order id; check_answer returns it."""
    placed = order()
    answer = messages.answer_order(
        placed, url_to_ip="https://ip.example/c/1", conversation="conversation-1", clock=CLOCK
    )
    assert check_answer(placed, answer) is answer
    assert request_id(answer) == placed.order_id


def test_a_0102_does_not_answer_a_0301() -> None:
    """A national answer to an EU request is refused as malformed."""
    national = messages.answer_with_error(
        sample_request(CLOCK), EdmCode.NOT_FOUND, "x", clock=CLOCK
    )
    with pytest.raises(MalformedMessage, match="does not answer"):
        check_answer(request_0301(), national)


def test_an_answer_to_another_request_is_refused() -> None:
    """The right type echoing another request id is a binding error."""
    other = messages.answer_with_error(request_0301(), EdmCode.NOT_FOUND, "x", clock=CLOCK)
    with pytest.raises(ResponseBindingError):
        check_answer(request_0301(), other)


@pytest.mark.parametrize("make", [sample_request, request_0301, order, collect])
def test_every_refusal_validates_against_the_oracle(make: object, xnachweis_check: Check) -> None:
    """The SAK's refusal of each request type is the right error message, valid XNachweis."""
    request = make(CLOCK) if make is sample_request else make()  # type: ignore[operator]
    answer = refusal(request, EdmCode.TIMEOUT, "too slow", clock=CLOCK, error_provider=SAK)
    assert check_answer(request, answer) is answer
    assert refusal_code(answer) == "EDM:ERR:0005"
    assert xnachweis_check(messages.to_bytes(answer)) == []
