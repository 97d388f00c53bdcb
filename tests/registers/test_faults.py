"""Fault injection: the plan and its random draws, the admin API, and what a client sees for
every fault kind (real signatures, in-process ASGI)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import statistics
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from pydantic import ValidationError

from noots import messages
from noots.envelope import check_binding, open_envelope
from noots.errors import (
    CertificateExpired,
    EdmCode,
    ResponseBindingError,
    SignatureInvalid,
    SignatureMissing,
    XmlSyntaxError,
)
from noots.pki import Role, participant_id_of
from noots.xml import parse as parse_xml
from registers._service import ConnectionDropped
from registers.faults import Fault, FaultInjector, FaultPlan, LogNormalLatency
from registers.settings import RegisterSettings
from tests.registers.support import ADMIN_TOKEN, Landscape, Running

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


# -- what a client sees -----------------------------------------------------------------------


async def _with_fault(running: Running, fault: Fault) -> tuple[bytes, Any]:
    response = await running.client.put(
        "/admin/v1/faults", json=FaultPlan.always(fault).model_dump(mode="json"), headers=AUTH
    )
    assert response.status_code == 200, response.text
    signed = running.signed()
    return signed.raw, await running.post(signed.raw)


async def test_error_fault_gives_a_signed_0008(landscape: Landscape, start_register: Any) -> None:
    """error: a valid request gets a signed, bound 0103 with 0008 and HTTP 500."""
    async with start_register("kba") as running:
        raw, response = await _with_fault(running, Fault.ERROR)
        assert response.status_code == 500
        opened = open_envelope(response.content, landscape.pki.verifier())
        check_binding(opened, raw)
        message = messages.parse(opened.body)
        assert isinstance(message, messages.EvidenceErrorResponse)
        assert message.code is EdmCode.QUERY_ERROR
        assert message.request_id != 0


async def test_malformed_fault_gives_a_body_that_does_not_parse(start_register: Any) -> None:
    """malformed: HTTP 200 with a body that is not well-formed XML."""
    async with start_register("kba") as running:
        _, response = await _with_fault(running, Fault.MALFORMED)
        assert response.status_code == 200
        with pytest.raises(XmlSyntaxError):
            parse_xml(response.content)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.BAD_SIGNATURE, SignatureInvalid),
        (Fault.MISSING_SIGNATURE, SignatureMissing),
        (Fault.EXPIRED_CERTIFICATE, CertificateExpired),
    ],
)
async def test_signature_faults_fail_verification(
    fault: Fault, error: type[Exception], landscape: Landscape, start_register: Any
) -> None:
    """bad/missing signature and expired certificate: the answer fails verification."""
    async with start_register("melderegister") as running:
        _, response = await _with_fault(running, fault)
        assert response.status_code == 200
        with pytest.raises(error):
            open_envelope(response.content, landscape.pki.verifier(), required_role=Role.PROVIDER)


async def test_expired_certificate_is_genuine_but_expired(
    landscape: Landscape, start_register: Any
) -> None:
    """expired_certificate: the certificate is the register's, from the real CA, expired."""
    async with start_register("kba") as running:
        _, response = await _with_fault(running, Fault.EXPIRED_CERTIFICATE)
        text = re.search(rb"<ds:X509Certificate>([^<]+)<", response.content)
        assert text is not None
        certificate = x509.load_der_x509_certificate(base64.b64decode(text.group(1)))
        anchor = landscape.pki.ca.trust_anchor
        certificate.verify_directly_issued_by(anchor)  # issued by the landscape's own root
        assert participant_id_of(certificate) == running.case.register
        assert certificate.not_valid_after_utc < running.clock.now()
        assert certificate != running.service.participant.credential.certificate


async def test_expired_certificate_needs_the_ca(
    landscape: Landscape, start_register: Any, tmp_path: Path
) -> None:
    """Without the CA's key in the data dir the expired-certificate fault is refused (409)."""
    pki = tmp_path / "pki"
    (pki / "ca").mkdir(parents=True)
    for name in ("root-cert.pem", "crl.pem"):
        shutil.copy(landscape.data_dir / "pki" / "ca" / name, pki / "ca" / name)
    register = landscape.cases["kba"].register
    shutil.copytree(
        landscape.data_dir / "pki" / "participants" / register, pki / "participants" / register
    )
    async with start_register("kba", data_dir=tmp_path) as running:
        plan = FaultPlan.always(Fault.EXPIRED_CERTIFICATE).model_dump(mode="json")
        response = await running.client.put("/admin/v1/faults", json=plan, headers=AUTH)
        assert response.status_code == 409
        assert running.service.faults.plan == FaultPlan()


async def test_wrong_binding_fault_is_caught_by_the_binding_check(
    landscape: Landscape, start_register: Any
) -> None:
    """wrong_binding: a genuinely signed answer whose InResponseTo names another request."""
    async with start_register("handelsregister") as running:
        raw, response = await _with_fault(running, Fault.WRONG_BINDING)
        opened = open_envelope(response.content, landscape.pki.verifier())
        with pytest.raises(ResponseBindingError):
            check_binding(opened, raw)


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
            await running.post(running.signed().raw)
        assert sum(running.sleeps) == pytest.approx(2.0)


async def test_latency_is_added_before_the_answer(start_register: Any) -> None:
    """Fixed latency delays a normal answer by exactly the configured time."""
    async with start_register("kba", faults=FaultPlan(latency_ms=250)) as running:
        response = await running.post(running.signed().raw)
        assert response.status_code == 200
        assert running.sleeps == [0.25]


async def test_a_fault_for_one_step(landscape: Landscape, start_register: Any) -> None:
    """count=1 spoils exactly one answer; the next one is fine again."""
    async with start_register("personenstandsregister") as running:
        plan = FaultPlan.always(Fault.BAD_SIGNATURE, count=1).model_dump(mode="json")
        await running.client.put("/admin/v1/faults", json=plan, headers=AUTH)
        first = await running.post(running.signed().raw)
        second = await running.post(running.signed().raw)
        with pytest.raises(SignatureInvalid):
            open_envelope(first.content, landscape.pki.verifier())
        open_envelope(second.content, landscape.pki.verifier())
