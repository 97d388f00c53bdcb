"""noots.containers without a container engine: the compose file read as an engine reads it,
the commands the podman driver and the docker wrapper run (a recording runner stands in for
the engine), the waits and their failures, the build's view of the host's pip settings.

`make compose-e2e` runs the same code against a real engine."""

from __future__ import annotations

import json
import resource
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noots import containers
from noots.containers import (
    BUILD_PIP_CONFIG,
    ComposeFile,
    ContainerFailure,
    DockerCompose,
    PodmanProject,
    VolumeSpec,
    detect_engine,
    host_build_mounts,
    host_limits,
    interpolate,
    load_compose,
    podman_global_options,
)
from noots.errors import ConfigurationError
from noots.paths import PROJECT_ROOT

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"

Handler = Callable[[list[str]], tuple[int, str, str] | None]


class Recorder:
    """A subprocess runner that records every command and answers from ``handler``."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.calls: list[list[str]] = []
        self.handler = handler or (lambda _argv: None)

    def __call__(self, argv: Sequence[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        argv = list(argv)
        self.calls.append(argv)
        code, out, err = self.handler(argv) or (0, "", "")
        return subprocess.CompletedProcess(argv, code, out, err)

    def find(self, *words: str) -> list[list[str]]:
        return [c for c in self.calls if all(w in c for w in words)]


def _compose(tmp_path: Path, services: dict[str, Any], **extra: Any) -> ComposeFile:
    path = tmp_path / "compose.yml"
    path.write_text(json.dumps({"name": "t", "services": services, **extra}))
    return load_compose(path, env={})


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _project(
    compose: ComposeFile, runner: Recorder, clock: FakeClock | None = None
) -> PodmanProject:
    clock = clock or FakeClock()
    return PodmanProject(
        compose,
        project="p",
        env={"NOOTS_PODMAN_RUNTIME": "runc", "NOOTS_PODMAN_CGROUP_MANAGER": "cgroupfs"},
        runner=runner,
        clock=clock,
        sleep=clock.sleep,
    )


def _state(status: str = "running", *, exit_code: int = 0, restarts: int = 0) -> str:
    return json.dumps(
        [
            {
                "State": {"Status": status, "Running": status == "running", "ExitCode": exit_code},
                "RestartCount": restarts,
            }
        ]
    )


# -- reading the compose file ----------------------------------------------------------------


def test_interpolation_forms() -> None:
    """$$, $VAR, ${VAR}, ${VAR:-default} and ${VAR-default} behave as in compose."""
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("$$SET", env) == "$SET"
    assert interpolate("$SET/${SET}", env) == "x/x"
    assert interpolate("${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${SET:-d}", env) == "d d  x"
    assert interpolate("${UNSET}", env) == ""


def test_required_variable_is_refused_when_unset() -> None:
    """${VAR:?message} without the variable is a ConfigurationError naming it."""
    with pytest.raises(ConfigurationError, match="NEEDED"):
        interpolate("${NEEDED:?set it}", {})
    assert interpolate("${NEEDED:?set it}", {"NEEDED": "v"}) == "v"


@given(st.text().filter(lambda s: "$" not in s))
def test_text_without_dollar_is_unchanged(text: str) -> None:
    """Interpolation leaves text without a $ alone."""
    assert interpolate(text, {"A": "b"}) == text


@given(st.text(alphabet=st.characters(blacklist_characters="$}"), max_size=30))
def test_defaults_and_escapes_round_trip(default: str) -> None:
    """An unset variable yields its default verbatim, and $$ always yields one $."""
    assert interpolate("${UNSET:-" + default + "}", {}) == default
    assert interpolate("$$" + default, {}) == "$" + default


def test_the_committed_file_as_an_engine_reads_it() -> None:
    """Anchors merged, extension fields dropped, variables substituted from the environment."""
    compose = load_compose(COMPOSE_FILE, env={"NOOTS_IMAGE": "mine:1"})
    assert not [key for key in compose.data if key.startswith("x-")]
    platform = compose.services["platform"]
    assert platform["image"] == "mine:1"
    assert platform["restart"] == "unless-stopped"
    assert platform["environment"]["NOOTS_TLS"] == "true"


def test_start_order_puts_dependencies_first() -> None:
    """PostgreSQL and the one-shot come before every service that depends on them."""
    order = load_compose(COMPOSE_FILE, env={}).start_order()
    assert set(order[:2]) == {"postgres", "bootstrap"}
    assert len(order) == len(set(order))


def test_dependency_cycles_and_unknown_services_are_refused(tmp_path: Path) -> None:
    """A depends_on cycle, or a dependency on a missing service, is a ConfigurationError."""
    cycle = _compose(tmp_path, {"a": {"depends_on": ["b"]}, "b": {"depends_on": ["a"]}})
    with pytest.raises(ConfigurationError, match="cycle"):
        cycle.start_order()
    unknown = _compose(tmp_path, {"a": {"depends_on": ["ghost"]}})
    with pytest.raises(ConfigurationError, match="ghost"):
        unknown.start_order()


def test_volume_entries(tmp_path: Path) -> None:
    """Named volumes stay names, bind paths resolve against the compose file's directory,
    :ro is read-only; other forms are refused."""
    named = VolumeSpec.parse("keys-x:/data/pki/participants:ro", tmp_path)
    assert (named.source, named.target, named.read_only, named.named) == (
        "keys-x",
        "/data/pki/participants",
        True,
        True,
    )
    bind = VolumeSpec.parse("./landscape.yaml:/etc/noots/landscape.yaml:ro", tmp_path)
    assert bind.source == str(tmp_path / "landscape.yaml")
    assert not bind.named
    with pytest.raises(ConfigurationError):
        VolumeSpec.parse("a:b:c:d", tmp_path)


# -- the podman driver -----------------------------------------------------------------------


def test_unknown_service_keys_are_refused(tmp_path: Path) -> None:
    """A key the driver does not implement is refused by name, never silently ignored."""
    compose = _compose(tmp_path, {"a": {"image": "i", "privileged": True}})
    with pytest.raises(ConfigurationError, match="privileged"):
        _project(compose, Recorder())


def test_run_command_of_a_service() -> None:
    """A service becomes one `podman run`: its DNS name on the project network, its named
    volumes prefixed with the project (read-only where compose says so), its published port,
    restart policy, health check (exec form) and, last, image and command."""
    compose = load_compose(COMPOSE_FILE, env={})
    argv = _project(compose, Recorder()).run_argv("08118079-meld-12")
    assert argv[:5] == ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]
    assert argv[argv.index("--network-alias") + 1] == "08118079-meld-12"
    assert argv[argv.index("--network") + 1] == "p_default"
    volumes = [argv[i + 1] for i, a in enumerate(argv) if a == "-v"]
    assert "p_keys-08118079-meld-12:/data/pki/participants:ro" in volumes
    assert "p_data-08118079-meld-12:/data" in volumes
    assert "p_trust:/data/pki/ca:ro" in volumes
    assert argv[argv.index("-p") + 1] == "127.0.0.1:8410:8410"
    assert argv[argv.index("--restart") + 1] == "unless-stopped"
    assert "--read-only" in argv
    assert argv[argv.index("--tmpfs") + 1] == "/tmp"
    health = json.loads(argv[argv.index("--health-cmd") + 1])
    assert health[:3] == ["python", "-m", "noots.healthcheck"]
    tail = argv[argv.index("noots:0.1.0") :]
    assert tail == ["noots:0.1.0", "noots", "serve", "08118079-MELD-12", "--host", "0.0.0.0"]  # noqa: S104


def test_up_starts_in_order_and_waits_for_conditions(tmp_path: Path) -> None:
    """The one-shot must have exited 0 and the database be healthy before a service that
    depends on them starts; up returns when the long-running ones are healthy."""
    compose = _compose(
        tmp_path,
        {
            "db": {"image": "db", "restart": "always", "healthcheck": {"test": ["CMD", "ok"]}},
            "once": {"image": "app", "build": ".", "restart": "no"},
            "app": {
                "image": "app",
                "restart": "always",
                "healthcheck": {"test": ["CMD", "ok"]},
                "depends_on": {
                    "once": {"condition": "service_completed_successfully"},
                    "db": {"condition": "service_healthy"},
                },
            },
        },
    )
    started: list[str] = []

    def engine(argv: list[str]) -> tuple[int, str, str] | None:
        if "run" in argv and "-d" in argv:
            started.append(argv[argv.index("--name") + 1])
        if "inspect" in argv:
            name = argv[-1]
            return 0, _state("exited" if name == "p-once-1" else "running"), ""
        if "exists" in argv:
            return (0, "", "") if "image" in argv else (1, "", "")
        return None

    runner = Recorder(engine)
    _project(compose, runner).up(timeout=60)
    assert started.index("p-app-1") > started.index("p-once-1")
    assert started.index("p-app-1") > started.index("p-db-1")
    assert runner.find("healthcheck", "run", "p-app-1")
    assert runner.find("network", "create", "p_default")


def test_a_restarting_container_ends_the_wait_with_its_logs(tmp_path: Path) -> None:
    """A container that restarts instead of becoming healthy fails the run at once, naming
    it and quoting its last log lines."""
    compose = _compose(tmp_path, {"app": {"image": "i", "restart": "always"}})

    def engine(argv: list[str]) -> tuple[int, str, str] | None:
        if "inspect" in argv:
            return 0, _state(restarts=1), ""
        if "logs" in argv:
            return 0, "Traceback …\nConfigurationError: no credential\n", ""
        return None

    with pytest.raises(ContainerFailure) as failure:
        _project(compose, Recorder(engine)).up(timeout=60)
    assert failure.value.service == "app"
    assert "restarted" in failure.value.message
    assert "no credential" in str(failure.value)


def test_a_failed_one_shot_ends_the_wait(tmp_path: Path) -> None:
    """A dependency that had to complete successfully and exited 1 fails the run, naming it."""
    compose = _compose(
        tmp_path,
        {
            "once": {"image": "i", "restart": "no"},
            "app": {
                "image": "i",
                "restart": "always",
                "depends_on": {"once": {"condition": "service_completed_successfully"}},
            },
        },
    )

    def engine(argv: list[str]) -> tuple[int, str, str] | None:
        if "inspect" in argv:
            return 0, _state("exited", exit_code=1), ""
        return None

    with pytest.raises(ContainerFailure, match=r"once failed \(exit 1\)"):
        _project(compose, Recorder(engine)).up(timeout=60)


def test_an_unhealthy_service_fails_at_the_deadline(tmp_path: Path) -> None:
    """A service that never turns healthy fails the run when the deadline passes (the clock
    is injected: nothing sleeps), naming every service still waited for."""
    compose = _compose(
        tmp_path,
        {"app": {"image": "i", "restart": "always", "healthcheck": {"test": ["CMD", "x"]}}},
    )

    def engine(argv: list[str]) -> tuple[int, str, str] | None:
        if "inspect" in argv:
            return 0, _state(), ""
        if "healthcheck" in argv:
            return 1, "", "unhealthy"
        return None

    clock = FakeClock()
    with pytest.raises(ContainerFailure, match="not healthy in time: app"):
        _project(compose, Recorder(engine), clock).up(timeout=30)
    assert clock.now >= 30


def test_an_image_nowhere_to_be_found_is_named(tmp_path: Path) -> None:
    """A service without build whose image is not on the machine fails before anything
    starts, naming the image and the service."""
    compose = _compose(tmp_path, {"db": {"image": "postgres:15", "restart": "always"}})

    def engine(argv: list[str]) -> tuple[int, str, str] | None:
        return (1, "", "") if "exists" in argv else None

    with pytest.raises(ContainerFailure, match="postgres:15 of db"):
        _project(compose, Recorder(engine)).up(timeout=30)


def test_build_once_per_image_with_the_hosts_pip_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Services sharing an image and its build are built once, with their build arguments
    and the host's CA bundle mounted read-only."""
    bundle = tmp_path / "ca.crt"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setattr(
        containers,
        "host_build_mounts",
        lambda env: containers.BuildMounts(volumes=[f"{bundle}:/etc/ssl/certs/ca.crt:ro"]),
    )
    build = {"context": ".", "args": {"BASE_IMAGE": "localhost/base:12"}}
    compose = _compose(
        tmp_path,
        {"a": {"image": "x:1", "build": build}, "b": {"image": "x:1", "build": build}},
    )
    runner = Recorder()
    _project(compose, runner).build()
    (command,) = runner.find("build")
    assert command[command.index("-t") + 1] == "x:1"
    assert "BASE_IMAGE=localhost/base:12" in command
    assert f"{bundle}:/etc/ssl/certs/ca.crt:ro" in command
    assert command[-1] == str(tmp_path)


def test_down_removes_what_the_project_labelled() -> None:
    """Teardown removes the project's containers and volumes (found by label) and network."""

    def engine(argv: list[str]) -> tuple[int, str, str] | None:
        if "ps" in argv:
            return 0, "c1\nc2\n", ""
        if "volume" in argv and "ls" in argv:
            return 0, "v1\n", ""
        return None

    runner = Recorder(engine)
    _project(load_compose(COMPOSE_FILE, env={}), runner).down()
    assert runner.find("rm", "-f", "c1", "c2")
    assert runner.find("volume", "rm", "v1")
    assert runner.find("network", "rm", "p_default")
    assert all("label=io.noots.compose.project=p" in c for c in runner.find("--filter"))


def test_mounts_come_from_inspect() -> None:
    """The mounts of a container: named volumes by name, binds by path, read-only or not."""
    inspected = [
        {
            "Mounts": [
                {"Type": "volume", "Name": "p_trust", "Destination": "/d", "RW": False},
                {"Type": "bind", "Source": "/h/l.yaml", "Destination": "/e", "RW": False},
            ]
        }
    ]
    runner = Recorder(lambda argv: (0, json.dumps(inspected), ""))
    mounts = _project(load_compose(COMPOSE_FILE, env={}), runner).mounts("platform")
    assert [(m.volume, m.target, m.read_only) for m in mounts] == [
        ("p_trust", "/d", True),
        (None, "/e", True),
    ]


def test_a_test_container_runs_on_the_project_network() -> None:
    """A one-shot run joins the project's network, is removed afterwards, carries the
    project's label (teardown finds it) and skips the image's own health check."""
    runner = Recorder()
    project = _project(load_compose(COMPOSE_FILE, env={}), runner)
    project.run("img", ["python", "-V"], volumes=["a:/b:ro"], environment={"K": "V"})
    (command,) = runner.calls
    assert command[command.index("--network") + 1] == "p_default"
    assert {"--rm", "--no-healthcheck", "a:/b:ro", "K=V"} <= set(command)
    assert "io.noots.compose.project=p" in command
    assert command[-3:] == ["img", "python", "-V"]


# -- the docker wrapper ----------------------------------------------------------------------


def test_docker_compose_commands() -> None:
    """With Docker the file goes to `docker compose` unchanged, as the given project."""
    runner = Recorder()
    compose = load_compose(COMPOSE_FILE, env={})
    docker = DockerCompose(compose, project="p", env={}, runner=runner)
    docker.up(timeout=90)
    docker.stop("ida")
    docker.down()
    assert runner.calls[0][:6] == ["docker", "compose", "-p", "p", "-f", str(COMPOSE_FILE)]
    assert runner.calls[0][6:] == ["up", "-d", "--wait", "--wait-timeout", "90"]
    assert runner.calls[1][-2:] == ["stop", "ida"]
    assert runner.calls[2][6:] == ["down", "-v", "--remove-orphans", "--timeout", "5"]
    assert docker.volume_name("trust") == "p_trust"


def test_docker_compose_names_the_unhealthy_service() -> None:
    """When `up --wait` fails, the first service that is neither healthy nor done is named
    with its last log lines."""

    def engine(argv: list[str]) -> tuple[int, str, str] | None:
        if "up" in argv:
            return 1, "", "dependency failed"
        if "ps" in argv:
            service = argv[-1]
            state = (
                {"State": "running", "Health": "unhealthy"}
                if service == "ida"
                else {"State": "exited", "ExitCode": 0}
                if service == "bootstrap"
                else {"State": "running", "Health": "healthy"}
            )
            return 0, json.dumps(state), ""
        if "logs" in argv:
            return 0, "ida | boom\n", ""
        return None

    docker = DockerCompose(
        load_compose(COMPOSE_FILE, env={}), project="p", env={}, runner=Recorder(engine)
    )
    with pytest.raises(ContainerFailure) as failure:
        docker.up(timeout=10)
    assert failure.value.service == "ida"
    assert "boom" in str(failure.value)


# -- choosing the engine and the build's settings --------------------------------------------


def test_engine_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Docker when its engine and compose answer; podman when only the docker CLI is there
    (no engine behind it); NOOTS_CONTAINER_ENGINE decides when set; none is an error."""
    monkeypatch.setattr(containers.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert detect_engine({}, Recorder()) == "docker"
    no_daemon = Recorder(lambda argv: (1, "", "Cannot connect") if "info" in argv else None)
    assert detect_engine({}, no_daemon) == "podman"
    assert detect_engine({"NOOTS_CONTAINER_ENGINE": "podman"}, Recorder()) == "podman"
    with pytest.raises(ConfigurationError):
        detect_engine({"NOOTS_CONTAINER_ENGINE": "lxc"}, Recorder())
    monkeypatch.setattr(containers.shutil, "which", lambda name: None)
    with pytest.raises(ConfigurationError, match="no container engine"):
        detect_engine({}, Recorder())


def test_podman_options_follow_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runtime and cgroup manager come from the environment when set."""
    options = podman_global_options(
        {"NOOTS_PODMAN_RUNTIME": "crun", "NOOTS_PODMAN_CGROUP_MANAGER": "systemd"}
    )
    assert options == ["--runtime", "crun", "--cgroup-manager", "systemd"]


def test_ulimits_stay_within_the_hard_limits() -> None:
    """The --ulimit options never exceed this machine's hard limits."""
    options = host_limits()
    values = dict(o.split("=") for o in options if o != "--ulimit")
    for name, limit in (("nofile", resource.RLIMIT_NOFILE), ("nproc", resource.RLIMIT_NPROC)):
        soft, hard = (int(v) for v in values[name].split(":"))
        assert soft == hard
        assert hard <= resource.getrlimit(limit)[1] or resource.getrlimit(limit)[1] == -1


def test_build_mounts_follow_the_hosts_pip(tmp_path: Path) -> None:
    """The CA bundle pip uses is mounted where the images look and where the host's settings
    name it; a user pip.conf becomes root's; files it names are mounted too; PIP_* network
    settings become a pip configuration the build reads through PIP_CONFIG_FILE."""
    bundle = tmp_path / "bundle.crt"
    bundle.write_text("certs")
    home = tmp_path / "home"
    config = home / ".config" / "pip" / "pip.conf"
    config.parent.mkdir(parents=True)
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("torch<3\n")
    config.write_text(f"[global]\nconstraint = {constraints}\n")
    mounts = host_build_mounts(
        {"PIP_CERT": str(bundle), "PIP_INDEX_URL": "https://mirror.invalid/simple"},
        home=home,
        system_configs=(),
    )
    assert f"{bundle}:/etc/ssl/certs/ca-certificates.crt:ro" in mounts.volumes
    assert f"{bundle}:{bundle}:ro" in mounts.volumes
    assert f"{config}:/root/.config/pip/pip.conf:ro" in mounts.volumes
    assert f"{constraints}:{constraints}:ro" in mounts.volumes
    assert mounts.pip_config is not None
    assert "index-url = https://mirror.invalid/simple" in mounts.pip_config
    assert mounts.build_args == {"PIP_CONFIG_FILE": BUILD_PIP_CONFIG}


def test_no_pip_settings_no_build_arguments(tmp_path: Path) -> None:
    """Without PIP_* variables the build gets no pip configuration of ours."""
    mounts = host_build_mounts({}, home=tmp_path, system_configs=())
    assert mounts.pip_config is None
    assert mounts.build_args == {}
