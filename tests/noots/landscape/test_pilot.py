"""The pilot of ``noots demo``: played in-process against a landscape whose parties all log to
one PostgreSQL database, it logs there itself and reads the register's entries from there."""

from __future__ import annotations

from pathlib import Path

import pytest

from noots.landscape.pilot import PILOT_CITIZEN, PILOT_EVIDENCE, PILOT_KIND, play_pilot
from noots.participant import load_participant
from noots.protocol import open_protocol_log
from noots.settings import NootsSettings
from noots.testing.landscape import landscape_in_process
from noots.testing.postgres import fresh_database

MELDE_KORNTAL = "08118079-MELD-12"
KBA = "991-01234ZFZR-41"


@pytest.mark.postgres
async def test_pilot_logs_and_reads_where_the_landscape_database_is(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With NOOTS_DATABASE_URL set the pilot writes its consumer entries to that database, the
    register's checks find their entries there, and the DSC lists the consumer's records."""
    database = fresh_database(postgres_url)
    monkeypatch.setenv("NOOTS_DATABASE_URL", database)
    async with landscape_in_process(
        tmp_path, people=150, registers=[MELDE_KORNTAL, KBA], consumers=False
    ) as (landscape, routes):
        consumer = landscape.consumer(PILOT_KIND)
        settings = NootsSettings(**landscape.settings_overrides)
        report = await play_pilot(
            load_participant(landscape.data_dir / "pki", consumer, clock=settings.clock()),
            landscape.topology,
            settings=settings,
            transport=routes,
        )
    assert report.error is None, report.error
    assert report.completed
    logged = [c for h in report.hops for c in h.checks if c.label.endswith("and logged")]
    assert len(logged) == 2 * len(PILOT_EVIDENCE)
    assert all(c.passed for c in logged), logged
    assert not (tmp_path / "logs" / f"{consumer}.db").exists()
    with open_protocol_log(database, party="reader", clock=settings.clock()) as log:
        parties = {e.party for e in log.entries(idnr=PILOT_CITIZEN)}
    assert consumer in parties
    assert report.dsc is not None
    records = {
        r["party"]
        for t in report.dsc["transfers"]
        if t["requestId"].removeprefix("urn:uuid:") in {str(e.request_id) for e in report.evidences}
        for r in t["records"]
    }
    assert consumer in records


async def test_pilot_goes_through_the_online_services_sak(tmp_path: Path) -> None:
    """Played in process, every evidence hop runs through the online service's SAK: the route
    (SAK → RDN), the authorisation (SAK → VS where a token is needed) and the 0101 (its SAK →
    the register's SAK → the register), each with its checks passed."""
    async with landscape_in_process(
        tmp_path, people=150, registers=[MELDE_KORNTAL, KBA], consumers=False
    ) as (landscape, routes):
        consumer = landscape.consumer(PILOT_KIND)
        settings = NootsSettings(**landscape.settings_overrides)
        report = await play_pilot(
            load_participant(landscape.data_dir / "pki", consumer, clock=settings.clock()),
            landscape.topology,
            settings=settings,
            transport=routes,
        )
    assert report.error is None, report.error
    assert report.completed
    sak = f"{consumer}.sak"
    receivers = [h.receiver for h in report.hops]
    assert f"{sak} → RDN" in receivers
    assert f"{sak} → Vermittlungsstelle" in receivers  # Meldebescheinigung: across areas
    assert f"{sak} → {MELDE_KORNTAL}.sak → {MELDE_KORNTAL}" in receivers
    assert f"{sak} → {KBA}.sak → {KBA}" in receivers
    assert not any("hub" in r for r in receivers)
    bound = [
        c for h in report.hops for c in h.checks if c.label == "VS token bound to this exact 0101"
    ]
    assert len(bound) == 1
    assert bound[0].passed
