"""The IP suite against noots' own Intermediäre Plattform and against IPs broken on purpose
(in process: the landscape's IP, its SAK, the RDN and the Personenstandsregister, real
signatures, no sockets)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from noots.conformance import IP_CONDITIONS, Report, Status, report_json_schema, run_ip_suite
from noots.conformance.broken import BROKEN_IPS, broken_ip_app
from noots.conformance.catalogue import condition
from noots.conformance.eu_requests import EU_VARIANTS, EuRequestFactory, ip_parties
from noots.conformance.ip import IpTarget, default_ip_target, landscape_witness
from noots.errors import UpstreamError
from noots.settings import NootsSettings
from noots.testing.asgi import RoutingTransport
from noots.testing.landscape import Landscape, bootstrap, landscape_in_process

PSTR = "992-00001PSTR-10"
IP = "noots-ip"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("ip-suite")
    bootstrap(data_dir, people=60)
    return data_dir


@pytest.fixture
async def wired(
    template: Path, tmp_path: Path
) -> AsyncIterator[tuple[Landscape, RoutingTransport]]:
    data_dir = tmp_path / "data"
    shutil.copytree(template, data_dir)
    async with landscape_in_process(data_dir, consumers=False, registers=[PSTR]) as wired:
        yield wired


async def run(
    wired: tuple[Landscape, RoutingTransport], *, witness: bool = True, variant: str | None = None
) -> Report:
    landscape, routes = wired
    settings = NootsSettings(**landscape.settings_overrides)
    topology, clock = landscape.topology, settings.clock()
    if variant is not None:
        url = httpx.URL(landscape.url(IP))
        address = f"{url.host}:{url.port}"
        broken = broken_ip_app(
            variant, landscape.apps[address], pki_dir=landscape.data_dir / "pki", clock=clock
        )
        routes.add(address, httpx.ASGITransport(app=broken))
    target = default_ip_target(topology)
    return await run_ip_suite(
        target,
        pki_dir=landscape.data_dir / "pki",
        clock=clock,
        transport=routes,
        witness=landscape_witness(
            topology,
            target.evidence_type.classification,
            target.parties.authority.identifier,
            lambda party: settings.protocol_log_target(party, topology),
            clock=clock,
        )
        if witness
        else None,
    )


def failures(report: Report) -> dict[str, list[str]]:
    return {
        s.id: [f"{c.name}: {c.actual}" for c in s.checks if c.status is Status.FAILED]
        for s in report.sections
        if s.status is Status.FAILED
    }


async def test_noots_ip_passes_every_condition(
    wired: tuple[Landscape, RoutingTransport],
) -> None:
    """noots' IP passes IP-01 … IP-10, every check made (none skipped), the register asked
    exactly for the requests that should reach it."""
    report = await run(wired)
    assert failures(report) == {}
    assert [s.id for s in report.sections] == [c.id for c in IP_CONDITIONS]
    assert all(s.status is Status.PASSED for s in report.sections)
    skipped = [c.name for s in report.sections for c in s.checks if c.status is Status.SKIPPED]
    assert skipped == []
    assert report.summary.coverage == 100.0
    assert report.kind == "ip"


@pytest.mark.parametrize("variant", sorted(BROKEN_IPS))
async def test_a_broken_ip_fails_exactly_its_condition(
    wired: tuple[Landscape, RoutingTransport], variant: str
) -> None:
    """Each IP broken on purpose fails its own condition and no other."""
    report = await run(wired, variant=variant)
    assert set(failures(report)) == {BROKEN_IPS[variant].condition}, failures(report)


async def test_without_a_register_log_forwarding_is_not_checked(
    wired: tuple[Landscape, RoutingTransport],
) -> None:
    """Without a witness the "nothing passed on" checks are skipped (never passed) and the
    report says why."""
    report = await run(wired, witness=False)
    skipped = [c for s in report.sections for c in s.checks if c.status is Status.SKIPPED]
    assert skipped
    assert all("nothing passed on" in c.name or "nichts an ein Register" in c.name for c in skipped)
    assert any("Protokoll" in note or "protocol" in note for note in report.notes)


async def test_an_unreachable_access_point_is_a_tool_failure(
    wired: tuple[Landscape, RoutingTransport],
) -> None:
    """Nothing listens at the target: UpstreamError (exit 1), not a failed condition."""
    landscape, routes = wired
    target = default_ip_target(landscape.topology, "http://127.0.0.1:9/ip/v1")
    with pytest.raises(UpstreamError):
        await run_ip_suite(
            target,
            pki_dir=landscape.data_dir / "pki",
            clock=NootsSettings(**landscape.settings_overrides).clock(),
            transport=routes,
        )


async def test_the_report_reads_back_through_its_schema(
    wired: tuple[Landscape, RoutingTransport],
) -> None:
    """The JSON form validates against report.schema.json (kind ip, IP-xx ids) and reads back."""
    import jsonschema

    report = await run(wired)
    data = report.to_dict()
    jsonschema.validate(data, report_json_schema())
    assert Report.from_dict(data).statuses() == report.statuses()


def test_every_variant_probes_a_condition_of_the_catalogue(template: Path) -> None:
    """Each crafted variant names an IP condition, and each (but replay, sent twice) is built."""
    from noots.clock import SystemClock
    from noots.topology import load_topology

    topology = load_topology(template / "landscape.yaml")
    factory = EuRequestFactory(ip_parties(topology), pki_dir=template / "pki", clock=SystemClock())
    target: IpTarget = default_ip_target(topology)
    try:
        query = factory.query(target.evidence_type, target.subject)
        for name, variant in EU_VARIANTS.items():
            assert condition(variant.condition).side == "ip"
            crafted = factory.craft(name, query)
            assert crafted.raw, name
    finally:
        factory.close()
