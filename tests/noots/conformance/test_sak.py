"""The SAK suite against noots' own SAKs, provider side and consumer side (in process)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from noots.clock import SystemClock
from noots.conformance import Report, Status, run_sak_suite
from noots.conformance.broken import BROKEN_SAKS, broken_sak_app, credulous_transport
from noots.conformance.credentials import prepare_pki
from noots.conformance.sak import default_sak_target, provider_sak_app, provider_sak_double
from noots.errors import UpstreamError
from noots.pki import Role
from noots.testing.asgi import RoutingTransport
from noots.testing.landscape import Landscape, bootstrap, landscape_in_process

KBA = "991-01234ZFZR-41"
BPA = "08118079-BPA-87"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("sak-suite")
    bootstrap(data_dir, people=120)
    prepare_pki(data_dir / "pki", participant=KBA, role=Role.PROVIDER, clock=SystemClock())
    return data_dir


@pytest.fixture
async def wired(
    template: Path, tmp_path: Path
) -> AsyncIterator[tuple[Landscape, RoutingTransport]]:
    data_dir = tmp_path / "data"
    shutil.copytree(template, data_dir)
    async with landscape_in_process(data_dir, consumers=False) as wired:
        yield wired


def failures(report: Report) -> dict[str, list[str]]:
    return {
        s.id: [f"{c.name}: {c.actual}" for c in s.checks if c.status is Status.FAILED]
        for s in report.sections
        if s.status is Status.FAILED
    }


def _address(landscape: Landscape, participant: str) -> str:
    return landscape.url(participant).removeprefix("http://")


@pytest.mark.slow
async def test_noots_provider_side_sak_passes(wired: Any) -> None:
    """A register's SAK of noots passes every provider-side condition; TLS is not tested
    in process and says so."""
    landscape, routes = wired
    sak = f"{KBA}.sak"
    target = default_sak_target(landscape.topology, sak, landscape.url(sak))
    report = await run_sak_suite(
        target,
        topology=landscape.topology,
        pki_dir=landscape.data_dir / "pki",
        clock=SystemClock(),
        transport=routes,
    )
    assert failures(report) == {}
    statuses = report.statuses()
    assert statuses["SAK-08"] is Status.SKIPPED
    assert {s for s, v in statuses.items() if v is Status.PASSED} == {
        "SAK-01",
        "SAK-02",
        "SAK-03",
        "SAK-04",
        "SAK-05",
        "SAK-06",
        "SAK-09",
        "SAK-10",
    }


async def _consumer_side(wired: Any) -> Report:
    landscape, routes = wired
    topology = landscape.topology
    pki = landscape.data_dir / "pki"
    sak = f"{BPA}.sak"
    target = default_sak_target(
        topology, sak, landscape.url(sak), evidence_type="Fahrzeughalterauskunft"
    )
    double = provider_sak_double(target, topology, pki, clock=SystemClock())
    routes.add(
        _address(landscape, topology.sak_id(target.register)),
        httpx.ASGITransport(app=provider_sak_app(double)),
    )
    return await run_sak_suite(
        target, topology=topology, pki_dir=pki, clock=SystemClock(), transport=routes, double=double
    )


STALE = "eine Antwort, vor einer Stunde erstellt, wird abgelehnt, nichts weitergegeben"


@pytest.mark.slow
async def test_noots_consumer_side_sak_passes(wired: Any) -> None:
    """An online service's SAK of noots refuses every wrong answer of the provider's SAK the
    suite plays, hands the online service nothing of them, refuses hostile bodies and accepts
    only its own online service."""
    report = await _consumer_side(wired)
    assert failures(report) == {}
    assert report.statuses() == {
        "SAK-04": Status.PASSED,
        "SAK-07": Status.PASSED,
        "SAK-09": Status.PASSED,
        "SAK-10": Status.PASSED,
    }


@pytest.mark.slow
async def test_noots_consumer_side_sak_refuses_a_stale_answer(wired: Any) -> None:
    """An answer envelope created an hour ago, signed and bound, is refused (SAK-07)."""
    report = await _consumer_side(wired)
    stale = next(c for c in report.section("SAK-07").checks if c.name == STALE)
    assert stale.status is Status.PASSED


async def test_a_sak_that_does_not_answer_is_a_tool_failure(template: Path) -> None:
    """No SAK at the URL: UpstreamError (CLI: exit 1)."""
    from noots.topology import load_topology

    topology = load_topology(template / "landscape.yaml")
    target = default_sak_target(topology, f"{KBA}.sak", "http://127.0.0.1:9")
    with pytest.raises(UpstreamError, match="does not answer"):
        await run_sak_suite(
            target, topology=topology, pki_dir=template / "pki", clock=SystemClock()
        )


# -- SAKs broken on purpose -----------------------------------------------------------------


async def _broken_provider_side(wired: Any, variant: str) -> Report:
    landscape, routes = wired
    sak = f"{KBA}.sak"
    address = _address(landscape, sak)
    broken = broken_sak_app(
        variant,
        landscape.apps[address],
        pki_dir=landscape.data_dir / "pki",
        topology=landscape.topology,
        clock=SystemClock(),
    )
    routes.add(address, httpx.ASGITransport(app=broken))
    target = default_sak_target(landscape.topology, sak, landscape.url(sak))
    return await run_sak_suite(
        target,
        topology=landscape.topology,
        pki_dir=landscape.data_dir / "pki",
        clock=SystemClock(),
        transport=routes,
    )


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(v for v in BROKEN_SAKS if v != "SAK-07"))
async def test_a_broken_register_sak_fails_exactly_its_condition(wired: Any, variant: str) -> None:
    """A register's SAK wrong in one way fails that condition and no other."""
    report = await _broken_provider_side(wired, variant)
    assert set(failures(report)) == {BROKEN_SAKS[variant].condition}, failures(report)


@pytest.mark.slow
async def test_a_credulous_consumer_sak_fails_sak07(wired: Any) -> None:
    """An online service's SAK that hands on unverified answers fails SAK-07 and no other."""
    landscape, routes = wired
    topology = landscape.topology
    pki = landscape.data_dir / "pki"
    sak = f"{BPA}.sak"
    target = default_sak_target(
        topology, sak, landscape.url(sak), evidence_type="Fahrzeughalterauskunft"
    )
    double = provider_sak_double(target, topology, pki, clock=SystemClock())
    provider_sak = topology.sak_id(target.register)
    routes.add(
        _address(landscape, provider_sak),
        credulous_transport(
            httpx.ASGITransport(app=provider_sak_app(double)),
            provider_sak=provider_sak,
            pki_dir=pki,
            topology=topology,
            clock=SystemClock(),
        ),
    )
    report = await run_sak_suite(
        target, topology=topology, pki_dir=pki, clock=SystemClock(), transport=routes, double=double
    )
    assert set(failures(report)) == {"SAK-07"}
    refused = [c for c in report.section("SAK-07").checks if c.status is Status.FAILED]
    assert len(refused) >= 5
