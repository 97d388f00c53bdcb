"""Fault injection: the plan and its random draws, the admin API, and what the register's SAK
sees for every fault a register carries out (in-process ASGI). The faults of a signed answer
belong to the register's SAK (tests/noots/intermediary/test_sak_transport.py); a register refuses
them."""

from __future__ import annotations

import json
import statistics
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from noots import messages
from noots.errors import ConfigurationError, EdmCode, XmlSyntaxError
from noots.faults import SIGNATURE_FAULTS, Fault, FaultInjector, FaultPlan, LogNormalLatency
from noots.registers._service import ConnectionDropped
from noots.registers.settings import RegisterSettings
from noots.xml import parse as parse_xml
from tests.noots.registers.support import ADMIN_TOKEN, Landscape, Running

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


# -- the plan ---------------------------------------------------------------------------------


def test_same_seed_gives_the_same_decisions() -> None:
    """A seeded plan draws the same faults and latencies every time."""
    plan = FaultPlan(
        rates={Fault.DROP: 0.2, Fault.ERROR: 0.3},
        latency_lognormal=LogNormalLatency(median_ms=20, sigma=1),
        seed=42,
    )
    first = [FaultInjector(plan).decide() for _ in range(1)]
    a, b = FaultInjector(plan), FaultInjector(plan)
    assert [a.decide() for _ in range(200)] == [b.decide() for _ in range(200)]
    assert first[0] == FaultInjector(plan).decide()


def test_rates_are_honoured() -> None:
    """Over many draws each fault occurs about as often as its rate says."""
    injector = FaultInjector(FaultPlan(rates={Fault.DROP: 0.1, Fault.WRONG_BINDING: 0.3}, seed=7))
    draws = [injector.decide().fault for _ in range(5000)]
    assert 0.08 < draws.count(Fault.DROP) / 5000 < 0.12
    assert 0.27 < draws.count(Fault.WRONG_BINDING) / 5000 < 0.33
    assert 0.57 < draws.count(None) / 5000 < 0.63


def test_lognormal_latency_has_the_configured_median() -> None:
    """Log-normal latency is centred on its median, fixed latency is added on top."""
    injector = FaultInjector(
        FaultPlan(
            latency_ms=100, latency_lognormal=LogNormalLatency(median_ms=50, sigma=0.8), seed=3
        )
    )
    delays = [injector.decide().delay_seconds for _ in range(4001)]
    assert min(delays) > 0.1
    assert statistics.median(delays) == pytest.approx(0.150, abs=0.006)


def test_count_limits_a_plan_to_the_next_requests() -> None:
    """A plan with count=2 applies twice, then the configured plan is back."""
    injector = FaultInjector(FaultPlan())
    injector.set(FaultPlan.always(Fault.ERROR, count=2))
    assert [injector.decide().fault for _ in range(4)] == [Fault.ERROR, Fault.ERROR, None, None]
    assert injector.plan == FaultPlan()


def test_reset_restores_the_baseline() -> None:
    """reset() goes back to the configured plan, not to no faults at all."""
    baseline = FaultPlan(latency_ms=5)
    injector = FaultInjector(baseline)
    injector.set(FaultPlan.always(Fault.DROP))
    injector.reset()
    assert injector.plan == baseline
    assert injector.decide().fault is None


@pytest.mark.parametrize(
    "data",
    [
        {"rates": {"drop": 0.7, "error": 0.4}},
        {"rates": {"drop": -0.1}},
        {"rates": {"explode": 0.1}},
        {"latency_ms": -1},
        {"latency_lognormal": {"median_ms": 0}},
        {"count": 0},
        {"unknown": 1},
    ],
)
def test_invalid_plans_are_refused(data: dict[str, Any]) -> None:
    """Rates above 1 in sum, negative values, unknown faults and fields are refused."""
    with pytest.raises(ValidationError):
        FaultPlan.model_validate(data)


def test_plan_from_the_environment(monkeypatch: pytest.MonkeyPatch, landscape: Landscape) -> None:
    """NOOTS_FAULTS carries the configured plan as JSON."""
    monkeypatch.setenv("NOOTS_FAULTS", json.dumps({"rates": {"timeout": 0.5}, "seed": 9}))
    settings = RegisterSettings(data_dir=landscape.data_dir)
    assert settings.faults == FaultPlan(rates={Fault.TIMEOUT: 0.5}, seed=9)


# -- the admin API ----------------------------------------------------------------------------


async def test_admin_api_needs_the_token(start_register: Any) -> None:
    """Without or with a wrong bearer token the admin API answers 401 and changes nothing."""
    async with start_register("kba") as running:
        plan = FaultPlan.always(Fault.ERROR).model_dump(mode="json")
        assert (await running.client.put("/admin/v1/faults", json=plan)).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        response = await running.client.put("/admin/v1/faults", json=plan, headers=wrong)
        assert response.status_code == 401
        assert running.service.faults.plan == FaultPlan()


async def test_admin_api_sets_reads_and_resets(start_register: Any) -> None:
    """PUT sets the plan, GET shows it, DELETE restores the configured one."""
    configured = FaultPlan(latency_ms=1)
    async with start_register("kba", faults=configured) as running:
        plan = {"rates": {"drop": 0.25}, "seed": 5}
        response = await running.client.put("/admin/v1/faults", json=plan, headers=AUTH)
        assert response.status_code == 200
        shown = (await running.client.get("/admin/v1/faults", headers=AUTH)).json()
        assert FaultPlan.model_validate(shown) == FaultPlan.model_validate(plan)
        reset = await running.client.delete("/admin/v1/faults", headers=AUTH)
        assert FaultPlan.model_validate(reset.json()) == configured
        bad = await running.client.put(
            "/admin/v1/faults", json={"rates": {"drop": 2}}, headers=AUTH
        )
        assert bad.status_code == 422


@pytest.mark.parametrize("overrides", [{"mode": "strict"}, {"admin_token": None}])
async def test_admin_api_is_absent_in_strict_mode_and_without_token(
    overrides: dict[str, Any], start_register: Any
) -> None:
    """In strict mode, or without an admin token, there are no admin routes at all."""
    async with start_register("kba", **overrides) as running:
        response = await running.client.get("/admin/v1/faults", headers=AUTH)
        assert response.status_code == 404


async def test_strict_mode_ignores_configured_faults(start_register: Any) -> None:
    """A configured fault plan has no effect in strict mode."""
    async with start_register("kba", mode="strict", faults=FaultPlan.always(Fault.DROP)) as running:
        assert running.service.faults.plan == FaultPlan()


# -- faults that belong to the register's SAK -------------------------------------------------


@pytest.mark.parametrize("fault", sorted(SIGNATURE_FAULTS))
async def test_a_register_refuses_the_faults_of_a_signed_answer(
    fault: Fault, start_register: Any
) -> None:
    """bad/missing signature, expired certificate, wrong binding: the register answers
    unsigned, so it refuses the plan (409) and names its SAK's admin API; nothing changes."""
    async with start_register("kba") as running:
        plan = FaultPlan.always(fault).model_dump(mode="json")
        response = await running.client.put("/admin/v1/faults", json=plan, headers=AUTH)
        assert response.status_code == 409
        detail = response.json()["detail"]
        assert f"{running.case.register}.sak" in detail
        assert "/admin/v1/faults" in detail
        assert running.service.faults.plan == FaultPlan()


async def test_a_register_configured_with_a_signature_fault_does_not_start(
    start_register: Any,
) -> None:
    """NOOTS_FAULTS with a fault of the signed answer: the register refuses to start."""
    with pytest.raises(ConfigurationError, match=r"\.sak"):
        async with start_register("kba", faults=FaultPlan.always(Fault.BAD_SIGNATURE)):
            pass


# -- what the register's SAK sees -------------------------------------------------------------


async def _with_fault(running: Running, fault: Fault) -> httpx.Response:
    response = await running.client.put(
        "/admin/v1/faults", json=FaultPlan.always(fault).model_dump(mode="json"), headers=AUTH
    )
    assert response.status_code == 200, response.text
    return await running.post(running.delivered())


async def test_error_fault_gives_a_0008(start_register: Any) -> None:
    """error: a valid request gets a 0103 with 0008 (HTTP 500) that answers it."""
    async with start_register("kba") as running:
        response = await _with_fault(running, Fault.ERROR)
        assert response.status_code == 500
        message = messages.parse(parse_xml(response.content))
        assert isinstance(message, messages.EvidenceErrorResponse)
        assert message.code is EdmCode.QUERY_ERROR
        assert message.request_id.int != 0


async def test_malformed_fault_gives_a_body_that_does_not_parse(start_register: Any) -> None:
    """malformed: HTTP 200 with a body that is not well-formed XML."""
    async with start_register("kba") as running:
        response = await _with_fault(running, Fault.MALFORMED)
        assert response.status_code == 200
        with pytest.raises(XmlSyntaxError):
            parse_xml(response.content)


async def test_drop_fault_closes_the_connection_mid_answer(start_register: Any) -> None:
    """drop: half an answer, then the connection goes (in-process: the app raises)."""
    async with start_register("kba") as running:
        with pytest.raises(ConnectionDropped):
            await _with_fault(running, Fault.DROP)
        assert running.log.entries() == []


async def test_timeout_fault_waits_then_drops(start_register: Any) -> None:
    """timeout: no answer for hang_seconds (the client gives up first), then a drop."""
    async with start_register("kba") as running:
        plan = FaultPlan.always(Fault.TIMEOUT, hang_seconds=2).model_dump(mode="json")
        await running.client.put("/admin/v1/faults", json=plan, headers=AUTH)
        with pytest.raises(ConnectionDropped):
            await running.post(running.delivered())
        assert sum(running.sleeps) == pytest.approx(2.0)


async def test_latency_is_added_before_the_answer(start_register: Any) -> None:
    """Fixed latency delays a normal answer by exactly the configured time."""
    async with start_register("kba", faults=FaultPlan(latency_ms=250)) as running:
        response = await running.post(running.delivered())
        assert response.status_code == 200
        assert running.sleeps == [0.25]


async def test_a_fault_for_one_step(start_register: Any) -> None:
    """count=1 spoils exactly one answer; the next one is fine again."""
    async with start_register("personenstandsregister") as running:
        plan = FaultPlan.always(Fault.ERROR, count=1).model_dump(mode="json")
        await running.client.put("/admin/v1/faults", json=plan, headers=AUTH)
        first = await running.post(running.delivered())
        second = await running.post(running.delivered())
        assert (first.status_code, second.status_code) == (500, 200)


async def test_faults_are_drawn_only_for_the_own_saks_requests(start_register: Any) -> None:
    """A caller without the SAK's token is refused before any fault is drawn: a count=1 plan
    is still there for the SAK's next request."""
    async with start_register("kba") as running:
        plan = FaultPlan.always(Fault.ERROR, count=1).model_dump(mode="json")
        await running.client.put("/admin/v1/faults", json=plan, headers=AUTH)
        refused = await running.post(running.delivered(), anonymous=True)
        assert refused.status_code == 401
        assert (await running.post(running.delivered())).status_code == 500
