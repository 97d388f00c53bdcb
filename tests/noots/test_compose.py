"""docker-compose.yml: valid per the Compose specification, current, true to the topology, and
deployed as an operator would (TLS, key isolation, health checks, restart policies, volumes).

The file is checked against the Compose specification's JSON Schema (tests/data/compose-spec.json,
vendored from check-jsonschema 0.39.0, Apache-2.0, see tests/data/LICENSE.compose-spec) and, as
an engine reads it (anchors merged, variables substituted with their defaults), against the
topology it was generated from. `make compose-e2e` runs it for real.
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
from noots.components import Component
from noots.compose import BASE_IMAGE, IMAGE, POSTGRES_IMAGE, render_compose, service_name
from noots.containers import load_compose
from noots.deployment import (
    DATA_DIR,
    KEYS_MOUNT,
    TOPOLOGY_PATH,
    TRUST_MOUNT,
    workloads,
)
from noots.errors import ConfigurationError
from noots.paths import PROJECT_ROOT
from noots.topology import load_topology

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
SCHEMA = json.loads((Path(__file__).parents[1] / "data" / "compose-spec.json").read_text())
TOPOLOGY = load_topology()
WORKLOADS = workloads(TOPOLOGY)
#: What `docker compose` reads without any NOOTS_* variable set: the users' defaults.
DATABASE_URL = "postgresql://noots:noots@postgres:5432/noots"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The file as an engine runs it with no variable set."""
    return load_compose(COMPOSE_FILE, env={}).data


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


def test_valid_against_the_compose_specification(raw: dict[str, Any]) -> None:
    """The file validates against the Compose specification's JSON Schema."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.absolute_path))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []


def test_the_schema_is_not_vacuous(raw: dict[str, Any]) -> None:
    """The schema refuses what compose refuses (misspelt keys of a service and of a check)."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    broken = json.loads(json.dumps(raw))
    broken["services"]["platform"]["comand"] = ["noots"]
    assert not validator.is_valid(broken)
    broken = json.loads(json.dumps(raw))
    broken["services"]["platform"]["healthcheck"]["intervall"] = "10s"
    assert not validator.is_valid(broken)


def test_one_service_per_component(compose: dict[str, Any]) -> None:
    """Every component of the topology is a service running `noots serve <component>`."""
    services = _noots_services(compose)
    assert set(services) == {w.name for w in WORKLOADS}
    for workload in WORKLOADS:
        command = ["noots", "serve", workload.component.name, "--host", "0.0.0.0"]  # noqa: S104
        assert services[workload.name]["command"] == command


def test_ports_agree_with_the_topology(compose: dict[str, Any]) -> None:
    """Each service publishes the topology's port on the host's loopback by default."""
    services = _noots_services(compose)
    for workload in WORKLOADS:
        assert services[workload.name]["ports"] == [f"127.0.0.1:{workload.port}:{workload.port}"]


def test_the_published_address_is_a_variable() -> None:
    """NOOTS_PUBLISH_ADDRESS moves every published port (e.g. off a busy 127.0.0.1)."""
    moved = load_compose(COMPOSE_FILE, env={"NOOTS_PUBLISH_ADDRESS": "127.0.0.9"}).data
    for workload in WORKLOADS:
        assert moved["services"][workload.name]["ports"][0].startswith("127.0.0.9:")


def test_tls_is_on_and_health_checks_present_the_own_certificate(compose: dict[str, Any]) -> None:
    """NOOTS_TLS is true; each health check probes https on its own port, trusting only the
    landscape's root and presenting the container's own certificate (registers and the IDA
    refuse clients without one)."""
    services = _noots_services(compose)
    for workload in WORKLOADS:
        spec = services[workload.name]
        assert spec["environment"]["NOOTS_TLS"] == "true"
        test = spec["healthcheck"]["test"]
        assert test[:4] == ["CMD", "python", "-m", "noots.healthcheck"]
        assert test[-1] == f"https://127.0.0.1:{workload.port}/health"
        own = f"{KEYS_MOUNT}/{workload.component.participant_id}"
        options = dict(zip(test[4:-1:2], test[5:-1:2], strict=True))
        assert options == {
            "--ca": f"{TRUST_MOUNT}/root-cert.pem",
            "--cert": f"{own}/cert.pem",
            "--key": f"{own}/key.pem",
        }


def test_plain_http_variant() -> None:
    """`noots compose --no-tls` writes plain-HTTP health checks and NOOTS_TLS false."""
    data = yaml.safe_load(render_compose(TOPOLOGY, tls=False))
    platform = data["services"]["platform"]
    assert platform["environment"]["NOOTS_TLS"] == "false"
    assert platform["healthcheck"]["test"][-1].startswith("http://")
    assert platform["environment"]["NOOTS_TRACE_URL"].startswith("http://dashboard:")


def test_services_find_each_other_by_name(compose: dict[str, Any]) -> None:
    """NOOTS_HOSTS maps every component to its service name (its host inside compose)."""
    for spec in _noots_services(compose).values():
        hosts = json.loads(spec["environment"]["NOOTS_HOSTS"])
        assert hosts == {w.component.name: w.name for w in WORKLOADS}
        assert set(hosts.values()) <= set(compose["services"])


def test_environment(compose: dict[str, Any]) -> None:
    """Every noots container reads the same topology file and logs to PostgreSQL; the traces
    go to the dashboard over TLS."""
    for name, spec in _noots_services(compose).items():
        env = spec["environment"]
        assert env["NOOTS_TOPOLOGY"] == TOPOLOGY_PATH, name
        assert env["NOOTS_DATA_DIR"] == DATA_DIR, name
        assert env["NOOTS_DATABASE_URL"] == DATABASE_URL, name
        assert env["NOOTS_TRACE_URL"] == f"https://dashboard:{TOPOLOGY.dashboard.port}/events/v1"


def test_each_container_mounts_only_its_own_keys(compose: dict[str, Any]) -> None:
    """A workload mounts its own state volume, its own keys read-only, what the CA published
    read-only and the topology read-only: nothing else (the platform too)."""
    for workload in WORKLOADS:
        volumes = compose["services"][workload.name]["volumes"]
        assert sorted(volumes) == sorted(
            [
                f"data-{workload.name}:{DATA_DIR}",
                f"keys-{workload.name}:{KEYS_MOUNT}:ro",
                f"trust:{TRUST_MOUNT}:ro",
                f"./landscape.yaml:{TOPOLOGY_PATH}:ro",
            ]
        ), workload.name


def test_the_ca_volume_is_the_one_shots_alone(compose: dict[str, Any]) -> None:
    """Only the one-shot bootstrap mounts the `ca` volume; no key or state volume is shared
    between two services."""
    mounting_ca = {
        name
        for name, spec in compose["services"].items()
        if any(v.split(":")[0] == "ca" for v in spec.get("volumes", []))
    }
    assert mounting_ca == {"bootstrap"}
    owners: dict[str, str] = {}
    for name, spec in _noots_services(compose).items():
        for volume in spec["volumes"]:
            source = volume.split(":")[0]
            if source.startswith(("keys-", "data-")):
                assert source not in owners, f"{source}: {owners.get(source)} and {name}"
                owners[source] = name


def test_bootstrap_provisions_every_volume(compose: dict[str, Any]) -> None:
    """The one-shot runs `noots provision` as root (to hand the files to the containers' user)
    and mounts every workload's key and state volume where provision writes them."""
    bootstrap = compose["services"]["bootstrap"]
    command = bootstrap["command"]
    assert command[:2] == ["noots", "provision"]
    options = dict(zip(command[2::2], command[3::2], strict=True))
    assert options["--owner"] == "10001:10001"
    assert bootstrap["user"] == "0:0"
    mounts = {v.split(":")[1]: v.split(":")[0] for v in bootstrap["volumes"]}
    root = options["--volumes"]
    assert mounts[options["--pki-dir"]] == "ca"
    assert mounts[f"{root}/trust"] == "trust"
    for workload in WORKLOADS:
        assert mounts[f"{root}/keys/{workload.name}"] == f"keys-{workload.name}"
        assert mounts[f"{root}/data/{workload.name}"] == f"data-{workload.name}"


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    """Every named volume a service mounts is declared, and every declared one is used."""
    used = {
        volume.split(":")[0]
        for spec in compose["services"].values()
        for volume in spec.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert used == set(compose["volumes"])


def test_restart_policies(compose: dict[str, Any]) -> None:
    """Long-running services restart unless stopped; the one-shot never restarts."""
    assert compose["services"]["bootstrap"]["restart"] == "no"
    for name, spec in compose["services"].items():
        if name != "bootstrap":
            assert spec["restart"] == "unless-stopped", name


def test_root_file_systems_are_read_only(compose: dict[str, Any]) -> None:
    """Long-running noots containers write only to their volumes and a /tmp of their own."""
    for name, spec in _noots_services(compose).items():
        assert spec["read_only"] is True, name
        assert spec["tmpfs"] == ["/tmp"], name


def test_default_images_are_the_users(compose: dict[str, Any]) -> None:
    """Without variables the file builds on python:3.11-slim and runs postgres:15; the
    variables select other images (a locally built base where no registry is reachable)."""
    assert compose["services"]["postgres"]["image"] == POSTGRES_IMAGE
    assert compose["services"]["platform"]["image"] == IMAGE
    assert compose["services"]["platform"]["build"]["args"]["BASE_IMAGE"] == BASE_IMAGE
    local = load_compose(
        COMPOSE_FILE,
        env={"NOOTS_POSTGRES_IMAGE": "localhost/pg:15", "NOOTS_BASE_IMAGE": "localhost/b:12"},
    ).data
    assert local["services"]["postgres"]["image"] == "localhost/pg:15"
    assert local["services"]["bootstrap"]["build"]["args"]["BASE_IMAGE"] == "localhost/b:12"


def test_every_party_logs_where_the_dsc_reads(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each component's own settings, read from its compose environment, put its protocol log
    into the PostgreSQL database the platform's Datenschutzcockpit reads (online services too)."""
    from noots.consumers.demo import DemoSettings
    from noots.intermediary.settings import PlatformSettings
    from noots.registers.ida import IdaSettings
    from noots.registers.settings import RegisterSettings

    classes: dict[str, Any] = {
        "platform": PlatformSettings,
        "ida": IdaSettings,
        "register": RegisterSettings,
        "consumer": DemoSettings,
    }
    services = _noots_services(compose)
    checked = set()
    for workload in WORKLOADS:
        component = workload.component
        if component.kind not in classes:
            continue
        with monkeypatch.context() as env:
            for key, value in services[workload.name]["environment"].items():
                env.setenv(key, value)
            # The container's paths do not exist here; the variables are what is checked.
            env.setenv("NOOTS_TOPOLOGY", str(PROJECT_ROOT / "landscape.yaml"))
            env.setenv("NOOTS_DATA_DIR", str(PROJECT_ROOT / "does-not-exist"))
            settings = classes[component.kind]()
        assert settings.protocol_log_target(component.participant_id, TOPOLOGY) == DATABASE_URL
        checked.add(component.kind)
    assert checked == set(classes)


def test_postgres_matches_the_database_url(compose: dict[str, Any]) -> None:
    """The PostgreSQL service has the user, password and database the URL names, a health
    check, and its files in a named volume; the password is one variable for both."""
    postgres = compose["services"]["postgres"]
    env = postgres["environment"]
    assert (
        f"postgresql://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@postgres:5432/"
        f"{env['POSTGRES_DB']}"
    ) == DATABASE_URL
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert postgres["volumes"] == ["postgres:/var/lib/postgresql/data"]
    secret = load_compose(COMPOSE_FILE, env={"NOOTS_POSTGRES_PASSWORD": "s3"}).data
    assert secret["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == "s3"
    assert ":s3@postgres" in secret["services"]["platform"]["environment"]["NOOTS_DATABASE_URL"]


def test_components_wait_for_bootstrap_and_database(compose: dict[str, Any]) -> None:
    """No component starts before its volumes are provisioned and PostgreSQL is healthy."""
    bootstrap = compose["services"]["bootstrap"]
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
    """Participant ids become lower-case host names; one without a usable character is
    refused."""
    component = Component("08118079-MELD_12.x", "register", "p", "t", "127.0.0.1", 1)
    assert service_name(component) == "08118079-meld-12-x"
    with pytest.raises(ConfigurationError):
        service_name(Component("__", "register", "p", "t", "127.0.0.1", 1))
