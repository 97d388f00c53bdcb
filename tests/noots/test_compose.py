"""docker-compose.yml: valid per the Compose specification, current, and true to the topology.

There is no Docker engine here: the file is checked against the Compose specification's JSON
Schema (tests/data/compose-spec.json, vendored from check-jsonschema 0.39.0, Apache-2.0, see
tests/data/LICENSE.compose-spec) and against the topology it was generated from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from noots.cli import app
from noots.components import Component, landscape_components
from noots.compose import DATABASE_URL, TOPOLOGY_PATH, render_compose, service_name
from noots.errors import ConfigurationError
from noots.paths import PROJECT_ROOT
from noots.topology import load_topology

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
SCHEMA = json.loads((Path(__file__).parents[1] / "data" / "compose-spec.json").read_text())
TOPOLOGY = load_topology()


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return data


def _noots_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: spec
        for name, spec in compose["services"].items()
        if name not in ("postgres", "bootstrap")
    }


def test_committed_file_is_current() -> None:
    """docker-compose.yml is exactly what `noots compose` makes of landscape.yaml."""
    expected = render_compose(TOPOLOGY, topology_file="./landscape.yaml")
    assert COMPOSE_FILE.read_text(encoding="utf-8") == expected, (
        "docker-compose.yml is stale: run `noots compose -o docker-compose.yml`"
    )


def test_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    """The file validates against the Compose specification's JSON Schema."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []


def test_the_schema_is_not_vacuous(compose: dict[str, Any]) -> None:
    """The schema refuses what compose refuses (misspelt keys of a service and of a check)."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    broken = json.loads(json.dumps(compose))
    broken["services"]["platform"]["comand"] = ["noots"]
    assert not validator.is_valid(broken)
    broken = json.loads(json.dumps(compose))
    broken["services"]["platform"]["healthcheck"]["intervall"] = "10s"
    assert not validator.is_valid(broken)


def test_one_service_per_component(compose: dict[str, Any]) -> None:
    """Every component of the topology is a service running `noots serve <component>`."""
    services = _noots_services(compose)
    components = landscape_components(TOPOLOGY, dashboard=True)
    assert set(services) == {service_name(c) for c in components}
    for component in components:
        spec = services[service_name(component)]
        command = ["noots", "serve", component.name, "--host", "0.0.0.0"]  # noqa: S104
        assert spec["command"] == command


def test_ports_agree_with_the_topology(compose: dict[str, Any]) -> None:
    """Each service publishes the topology's port on the host's loopback, and its health check
    probes that port inside the container."""
    services = _noots_services(compose)
    for component in landscape_components(TOPOLOGY, dashboard=True):
        spec = services[service_name(component)]
        assert spec["ports"] == [f"127.0.0.1:{component.port}:{component.port}"]
        assert spec["healthcheck"]["test"][-1] == f"http://127.0.0.1:{component.port}/health"
        assert spec["healthcheck"]["test"][:4] == ["CMD", "python", "-m", "noots.healthcheck"]


def test_services_find_each_other_by_name(compose: dict[str, Any]) -> None:
    """NOOTS_HOSTS maps every component to its service name (its host inside compose)."""
    for spec in _noots_services(compose).values():
        hosts = json.loads(spec["environment"]["NOOTS_HOSTS"])
        assert hosts == {
            c.name: service_name(c) for c in landscape_components(TOPOLOGY, dashboard=True)
        }
        assert set(hosts.values()) <= set(compose["services"])


def test_environment_and_volumes(compose: dict[str, Any]) -> None:
    """Every noots container reads the same topology file and data volume, logs to PostgreSQL."""
    for name, spec in [
        *_noots_services(compose).items(),
        ("bootstrap", compose["services"]["bootstrap"]),
    ]:
        env = spec["environment"]
        assert env["NOOTS_TOPOLOGY"] == TOPOLOGY_PATH, name
        assert env["NOOTS_DATA_DIR"] == "/data", name
        assert env["NOOTS_DATABASE_URL"] == DATABASE_URL, name
        assert env["NOOTS_TRACE_URL"] == f"http://dashboard:{TOPOLOGY.dashboard.port}/events/v1"
        assert f"./landscape.yaml:{TOPOLOGY_PATH}:ro" in spec["volumes"], name
        assert "noots-data:/data" in spec["volumes"], name
    assert set(compose["volumes"]) == {"noots-data", "noots-postgres"}


def test_every_party_logs_where_the_dsc_reads(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each component's own settings, read from its compose environment, put its protocol log
    into the PostgreSQL database the platform's Datenschutzcockpit reads (online services too)."""
    from consumers.demo import DemoSettings
    from intermediary.settings import PlatformSettings
    from registers.ida import IdaSettings
    from registers.settings import RegisterSettings

    classes: dict[str, Any] = {
        "platform": PlatformSettings,
        "ida": IdaSettings,
        "register": RegisterSettings,
        "consumer": DemoSettings,
    }
    services = _noots_services(compose)
    checked = set()
    for component in landscape_components(TOPOLOGY, dashboard=True):
        if component.kind not in classes:
            continue
        with monkeypatch.context() as env:
            for key, value in services[service_name(component)]["environment"].items():
                env.setenv(key, value)
            # The container's paths do not exist here; the variables are what is checked.
            env.setenv("NOOTS_TOPOLOGY", str(PROJECT_ROOT / "landscape.yaml"))
            settings = classes[component.kind]()
        assert settings.protocol_log_target(component.participant_id, TOPOLOGY) == DATABASE_URL
        checked.add(component.kind)
    assert checked == set(classes)


def test_postgres_matches_the_database_url(compose: dict[str, Any]) -> None:
    """The PostgreSQL service has the user, password and database the URL names, a health
    check, and its files in a named volume."""
    postgres = compose["services"]["postgres"]
    env = postgres["environment"]
    assert (
        f"postgresql://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@postgres:5432/"
        f"{env['POSTGRES_DB']}"
    ) == DATABASE_URL
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert postgres["volumes"] == ["noots-postgres:/var/lib/postgresql/data"]


def test_components_wait_for_bootstrap_and_database(compose: dict[str, Any]) -> None:
    """No component starts before the data volume is bootstrapped and PostgreSQL is healthy."""
    bootstrap = compose["services"]["bootstrap"]
    assert bootstrap["command"][:2] == ["noots", "bootstrap"]
    assert bootstrap["restart"] == "no"
    for name, spec in _noots_services(compose).items():
        assert spec["depends_on"] == {
            "bootstrap": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
        }, name
        assert spec["image"] == bootstrap["image"]


def test_compose_check_command(tmp_path: Path) -> None:
    """`noots compose --check` passes for the committed file and fails for a stale one."""
    runner = CliRunner()
    ok = runner.invoke(app, ["compose", "--check", "--output", str(COMPOSE_FILE)])
    assert ok.exit_code == 0, ok.output
    stale = tmp_path / "docker-compose.yml"
    stale.write_text(COMPOSE_FILE.read_text().replace("8400", "8499"))
    topology = tmp_path / "landscape.yaml"
    topology.write_text((PROJECT_ROOT / "landscape.yaml").read_text())
    failed = runner.invoke(
        app, ["compose", "--check", "--output", str(stale), "--topology", str(topology)]
    )
    assert failed.exit_code == 1


def test_compose_command_mounts_the_topology_relative_to_the_file(tmp_path: Path) -> None:
    """The generated file mounts the topology by its path relative to the compose file."""
    (tmp_path / "deploy").mkdir()
    topology = tmp_path / "landscape.yaml"
    topology.write_text((PROJECT_ROOT / "landscape.yaml").read_text())
    output = tmp_path / "deploy" / "compose.yml"
    result = CliRunner().invoke(
        app, ["compose", "--topology", str(topology), "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    platform = yaml.safe_load(output.read_text())["services"]["platform"]
    assert f"../landscape.yaml:{TOPOLOGY_PATH}:ro" in platform["volumes"]


def test_service_names_are_dns_safe() -> None:
    """Participant ids become lower-case host names; a clash is refused."""
    component = Component("08118079-MELD_12.x", "register", "p", "t", "127.0.0.1", 1)
    assert service_name(component) == "08118079-meld-12-x"
    with pytest.raises(ConfigurationError):
        service_name(Component("__", "register", "p", "t", "127.0.0.1", 1))
