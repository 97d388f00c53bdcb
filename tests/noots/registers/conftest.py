"""Fixtures of the register tests: one landscape data directory per session (a test PKI under
``pki/`` and a seeded population with a few planted people), and a factory that starts one
register app in-process with its own manual clock and protocol log."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from noots.clock import ManualClock
from noots.conformance.requests import RequestFactory
from noots.pki import Role
from noots.protocol import open_protocol_log
from noots.registers._service import create_register_app
from noots.registers.settings import RegisterSettings
from noots.synthetic.population import PopulationStore, seed_population
from noots.testing.pki import TestPki
from noots.topology import load_topology
from tests.noots.registers.support import (
    ADMIN_TOKEN,
    PEOPLE,
    SEED,
    Case,
    Landscape,
    Running,
    plant,
)


@pytest.fixture(scope="session")
def landscape() -> Iterator[Landscape]:
    """PKI, population and topology shared by every register test of the session."""
    with tempfile.TemporaryDirectory(prefix="noots-registers-") as tmp:
        data_dir = Path(tmp)
        topology = load_topology()
        pki = TestPki(data_dir / "pki")
        for register in topology.registers:
            pki.credential(register.participant_id, Role.PROVIDER)
        seed_population(data_dir / "population.db", people=PEOPLE, seed=SEED, topology=topology)
        planted = plant(data_dir / "population.db")
        natural = {
            key: planted[key]
            for key in ("found", "unknown", "ambiguous", "blocked", "invalid_idnr")
        }
        cases = {
            "melderegister": Case(
                register="09162000-MELD-57",
                kind="melderegister",
                consumer="09162000-GEWA-65",
                evidence_type="Meldebescheinigung",
                **natural,
            ),
            "personenstandsregister": Case(
                register="992-00001PSTR-10",
                kind="personenstandsregister",
                consumer="08-ELTERNGELD-79",
                evidence_type="Geburtsurkunde",
                **natural,
            ),
            "kba": Case(
                register="991-01234ZFZR-41",
                kind="kba",
                consumer="08118079-BPA-87",
                evidence_type="Fahrzeughalterauskunft",
                **natural,
            ),
            "handelsregister": Case(
                register="993-00001HREG-32",
                kind="handelsregister",
                consumer="09162000-GEWA-65",
                evidence_type="Handelsregisterauszug",
                found=planted["company"],
                unknown=planted["company_unknown"],
                ambiguous=planted["company_ambiguous"],
                blocked=None,
            ),
        }
        yield Landscape(data_dir, topology, pki, cases)
        pki.close()


@pytest.fixture(scope="session")
def population(landscape: Landscape) -> Iterator[PopulationStore]:
    store = PopulationStore(landscape.data_dir / "population.db")
    yield store
    store.close()


StartRegister = Callable[..., Any]


@pytest.fixture
def start_register(
    landscape: Landscape, population: PopulationStore, tmp_path: Path
) -> StartRegister:
    """``async with start_register("kba", **settings) as running: ...``"""

    @asynccontextmanager
    async def start(name: str, **overrides: Any) -> AsyncIterator[Running]:
        case = landscape.cases[name]
        if "participant_id" in overrides:
            case = dataclasses.replace(case, register=overrides["participant_id"])
        clock = ManualClock(landscape.pki.clock.now())
        settings_values: dict[str, Any] = {
            "data_dir": landscape.data_dir,
            "participant_id": case.register,
            "admin_token": ADMIN_TOKEN,
            # Each test's own announcements, as its clock is its own.
            "state_dir": tmp_path / "state",
        }
        settings_values.update(overrides)
        settings = RegisterSettings(**settings_values)
        log = open_protocol_log(tmp_path / f"{case.register}.db", party=case.register, clock=clock)
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        try:
            app = create_register_app(
                settings,
                topology=landscape.topology,
                clock=clock,
                population=population,
                protocol_log=log,
                sleep=sleep,
            )
            factory = RequestFactory.from_test_pki(landscape.pki, landscape.topology)
            factory.clock = clock
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://register") as client:
                yield Running(
                    client,
                    app,
                    app.state.register,
                    clock,
                    factory,
                    log,
                    case,
                    sleeps,
                    landscape.pki,
                )
        finally:
            log.close()

    return start
