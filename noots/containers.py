"""Run the generated docker-compose.yml with whichever container engine the machine has.

- **Docker** (an engine answers ``docker info`` and the compose plugin is installed): the file
  goes to ``docker compose`` unchanged.
- **Podman** (no Docker engine): :class:`PodmanProject` is a small driver for the part of the
  Compose specification the generator writes (image, build, command, user, environment,
  volumes, ports, health checks, restart policies, ``depends_on`` conditions, named volumes).
  It is used instead of podman-compose because podman-compose 1.0 (Debian 12) starts every
  container at once without waiting for a ``service_completed_successfully`` or
  ``service_healthy`` condition, and podman runs health checks only through systemd timers,
  which a container or CI machine often lacks: the driver waits on the conditions itself and
  runs ``podman healthcheck run``. A key the generator starts to write and the driver does not
  know is refused, by name, rather than ignored.

Both are driven through :class:`Engine`; a failure names the service and quotes its last log
lines (:class:`ContainerFailure`).

Images where no registry is reachable: :func:`build_local_bases` builds a Debian base with
Python (and one with PostgreSQL) from Debian's packages with ``mmdebstrap``; inside a build,
pip reaches the package index with the host's CA bundle and pip settings mounted read-only
(:func:`host_build_mounts`), never copied into an image.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from noots.errors import ConfigurationError

__all__ = [
    "LOCAL_BASE_IMAGE",
    "LOCAL_POSTGRES_IMAGE",
    "ComposeFile",
    "ContainerFailure",
    "DockerCompose",
    "Engine",
    "Mount",
    "PodmanProject",
    "build_local_bases",
    "detect_engine",
    "host_build_mounts",
    "interpolate",
    "load_compose",
]

LOCAL_BASE_IMAGE = "localhost/noots-base:bookworm"
LOCAL_POSTGRES_BASE_IMAGE = "localhost/noots-postgres-base:bookworm"
LOCAL_POSTGRES_IMAGE = "localhost/noots-postgres:15"
#: Debian 12: its python3 is the 3.11 of the default image python:3.11-slim.
DEBIAN_SUITE = "bookworm"

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


class ContainerFailure(Exception):
    """A container did not do what it had to; ``service`` names it, ``logs`` are its last lines."""

    def __init__(self, message: str, *, service: str | None = None, logs: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.service = service
        self.logs = logs

    def __str__(self) -> str:
        if not self.logs:
            return self.message
        quoted = "\n".join(f"    | {line}" for line in self.logs.rstrip().splitlines())
        return f"{self.message}\n  last log lines of {self.service}:\n{quoted}"


# -- the compose file ---------------------------------------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution: ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``,
    ``${VAR-default}``, ``${VAR:?message}`` and ``${VAR?message}``."""

    def substitute(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("plain")
        op, arg = match.group("op"), match.group("arg") or ""
        current = env.get(name)
        unset = current is None or (current == "" and op is not None and op.startswith(":"))
        if op in ("-", ":-"):
            return arg if unset else str(current)
        if op in ("?", ":?"):
            if unset:
                raise ConfigurationError(f"variable {name} is required: {arg or 'not set'}")
            return str(current)
        return current or ""

    return _VARIABLE.sub(substitute, value)


def _interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, env) for key, value in node.items()}
    return node


@dataclass(frozen=True)
class ComposeFile:
    """A compose file after YAML anchors, merges and variables: what an engine would run."""

    path: Path
    data: dict[str, Any]

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def name(self) -> str:
        return str(self.data.get("name", self.directory.name))

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        services: dict[str, dict[str, Any]] = self.data.get("services", {})
        return services

    @property
    def volumes(self) -> list[str]:
        return list(self.data.get("volumes") or {})

    def start_order(self) -> list[str]:
        """The services, each after everything it depends on (refuses a cycle)."""
        order: list[str] = []
        state: dict[str, str] = {}

        def visit(name: str, path: tuple[str, ...]) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "visiting":
                raise ConfigurationError(f"depends_on cycle: {' → '.join((*path, name))}")
            if name not in self.services:
                raise ConfigurationError(f"{path[-1]} depends on an unknown service {name!r}")
            state[name] = "visiting"
            for dependency in _depends_on(self.services[name]):
                visit(dependency, (*path, name))
            state[name] = "done"
            order.append(name)

        for name in self.services:
            visit(name, ())
        return order


def load_compose(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> ComposeFile:
    """Read a compose file as an engine does: YAML anchors and merge keys resolved, ``x-``
    extension fields dropped, variables substituted from ``env`` (default: the environment)."""
    file = Path(path)
    raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{file} is not a compose file")
    data = {k: v for k, v in raw.items() if not str(k).startswith("x-")}
    return ComposeFile(file, _interpolate_tree(data, os.environ if env is None else env))


def _depends_on(spec: Mapping[str, Any]) -> dict[str, str]:
    """``depends_on`` as service → condition (the short list form means service_started)."""
    value = spec.get("depends_on") or {}
    if isinstance(value, list):
        return dict.fromkeys(value, "service_started")
    return {name: (cond or {}).get("condition", "service_started") for name, cond in value.items()}


@dataclass(frozen=True)
class VolumeSpec:
    """One entry of a service's ``volumes`` (short syntax)."""

    source: str
    target: str
    read_only: bool
    named: bool

    @classmethod
    def parse(cls, value: str, directory: Path) -> VolumeSpec:
        parts = value.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
            raise ConfigurationError(f"unsupported volume entry {value!r}")
        source, target = parts[0], parts[1]
        named = not source.startswith((".", "/", "~"))
        if not named:
            source = str((directory / source).resolve())
        return cls(source, target, len(parts) == 3 and parts[2] == "ro", named)


@dataclass(frozen=True)
class Mount:
    """What a running container mounts (from the engine's inspect)."""

    source: str
    target: str
    read_only: bool
    volume: str | None
    #: ``volume``, ``bind`` or ``tmpfs`` (as the engine's inspect names it).
    kind: str = "bind"


# -- the engines ----------------------------------------------------------------------------


class Engine(Protocol):
    """What the end-to-end run needs of a container engine, for one compose project."""

    name: str
    project: str

    def build(self) -> None: ...
    def up(self, *, timeout: float) -> None: ...
    def down(self) -> None: ...
    def stop(self, service: str) -> None: ...
    def logs(self, service: str, *, tail: int = 40) -> str: ...
    def mounts(self, service: str) -> list[Mount]: ...
    def exec(self, service: str, argv: Sequence[str]) -> subprocess.CompletedProcess[str]: ...
    def run(
        self,
        image: str,
        argv: Sequence[str],
        *,
        volumes: Sequence[str],
        environment: Mapping[str, str],
    ) -> int: ...
    def volume_name(self, volume: str) -> str: ...


def _run(argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), text=True, check=False, **kwargs)


def _captured(
    runner: Runner, argv: Sequence[str], **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    return runner(argv, capture_output=True, **kwargs)


def _checked(
    runner: Runner, argv: Sequence[str], what: str, *, service: str | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    result = _captured(runner, argv, **kwargs)
    if result.returncode != 0:
        output = (result.stderr or "") + (result.stdout or "")
        raise ContainerFailure(
            f"{what} failed (exit {result.returncode}): {' '.join(argv[:6])} …",
            service=service or argv[0],
            logs="\n".join(output.strip().splitlines()[-25:]),
        )
    return result


def _parse_mounts(inspected: str) -> list[Mount]:
    data = json.loads(inspected)
    container = data[0] if isinstance(data, list) else data
    mounts = []
    for item in container.get("Mounts") or []:
        mounts.append(
            Mount(
                source=str(item.get("Source", "")),
                target=str(item.get("Destination", "")),
                read_only=not item.get("RW", True),
                volume=item.get("Name") if item.get("Type") == "volume" else None,
                kind=str(item.get("Type", "bind")),
            )
        )
    return mounts


def _duration(value: Any, default: float) -> float:
    """A compose duration (``10s``, ``1m30s``, ``500ms``) in seconds."""
    if value is None:
        return default
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(value)):
        total += float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}[unit]
    return total or default


class DockerCompose:
    """The Docker engine with its compose plugin: the file as it is."""

    name = "docker"

    def __init__(
        self,
        compose: ComposeFile,
        *,
        project: str,
        env: Mapping[str, str],
        runner: Runner = _run,
    ) -> None:
        self.compose = compose
        self.project = project
        self.env = dict(env)
        self.runner = runner

    def _compose(self, *args: str) -> list[str]:
        return ["docker", "compose", "-p", self.project, "-f", str(self.compose.path), *args]

    def build(self) -> None:
        _checked(self.runner, self._compose("build"), "docker compose build", env=self.env)

    def up(self, *, timeout: float) -> None:
        result = _captured(
            self.runner,
            self._compose("up", "-d", "--wait", "--wait-timeout", str(int(timeout))),
            env=self.env,
        )
        if result.returncode == 0:
            return
        for service in self.compose.start_order():
            state = self._state(service)
            if state not in ("running (healthy)", "exited (0)", "running"):
                raise ContainerFailure(
                    f"{service} did not become healthy ({state})",
                    service=service,
                    logs=self.logs(service),
                )
        raise ContainerFailure(
            "docker compose up failed", service="docker compose", logs=result.stderr[-3000:]
        )

    def _state(self, service: str) -> str:
        result = _captured(
            self.runner, self._compose("ps", "-a", "--format", "json", service), env=self.env
        )
        try:
            rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        except json.JSONDecodeError:
            return "unknown"
        if not rows:
            return "not created"
        row = rows[0][0] if isinstance(rows[0], list) else rows[0]
        health = row.get("Health") or ""
        state = str(row.get("State", "unknown"))
        if state == "exited":
            return f"exited ({row.get('ExitCode')})"
        return f"{state} ({health})" if health else state

    def down(self) -> None:
        _captured(
            self.runner,
            self._compose("down", "-v", "--remove-orphans", "--timeout", "5"),
            env=self.env,
        )

    def stop(self, service: str) -> None:
        _checked(self.runner, self._compose("stop", service), f"stopping {service}", env=self.env)

    def logs(self, service: str, *, tail: int = 40) -> str:
        result = _captured(
            self.runner,
            self._compose("logs", "--no-color", "--tail", str(tail), service),
            env=self.env,
        )
        return (result.stdout or "") + (result.stderr or "")

    def _container(self, service: str) -> str:
        result = _checked(
            self.runner,
            self._compose("ps", "-a", "-q", service),
            f"finding {service}",
            env=self.env,
        )
        return result.stdout.strip().splitlines()[0]

    def mounts(self, service: str) -> list[Mount]:
        inspected = _checked(
            self.runner, ["docker", "inspect", self._container(service)], f"inspecting {service}"
        )
        return _parse_mounts(inspected.stdout)

    def exec(self, service: str, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return _captured(self.runner, self._compose("exec", "-T", service, *argv), env=self.env)

    def volume_name(self, volume: str) -> str:
        return f"{self.project}_{volume}"

    def run(
        self,
        image: str,
        argv: Sequence[str],
        *,
        volumes: Sequence[str],
        environment: Mapping[str, str],
    ) -> int:
        command = [
            "docker",
            "run",
            "--rm",
            "--no-healthcheck",
            "--network",
            f"{self.project}_default",
        ]
        for volume in volumes:
            command += ["-v", volume]
        for key, value in environment.items():
            command += ["-e", f"{key}={value}"]
        return self.runner([*command, image, *argv]).returncode


#: What the driver does with each key of a service; anything else is refused.
_PODMAN_SERVICE_KEYS = frozenset(
    {
        "image",
        "build",
        "command",
        "user",
        "environment",
        "volumes",
        "ports",
        "healthcheck",
        "restart",
        "depends_on",
        "read_only",
        "tmpfs",
    }
)


def host_limits() -> list[str]:
    """``--ulimit`` options within this machine's hard limits (podman's defaults may exceed
    them: then no container starts)."""
    options = []
    for flag, limit, wanted in (
        ("nofile", resource.RLIMIT_NOFILE, 65536),
        ("nproc", resource.RLIMIT_NPROC, 4096),
    ):
        _soft, hard = resource.getrlimit(limit)
        value = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        options += ["--ulimit", f"{flag}={value}:{value}"]
    return options


def podman_global_options(env: Mapping[str, str] | None = None) -> list[str]:
    """Options before podman's subcommand: the OCI runtime and the cgroup manager.

    runc unless ``NOOTS_PODMAN_RUNTIME`` says otherwise (crun fails on some kernels, runc has
    not); cgroupfs where systemd does not run (podman's systemd cgroup manager needs it).
    """
    env = os.environ if env is None else env
    options = []
    runtime = env.get("NOOTS_PODMAN_RUNTIME") or ("runc" if shutil.which("runc") else "")
    if runtime:
        options += ["--runtime", runtime]
    manager = env.get("NOOTS_PODMAN_CGROUP_MANAGER") or (
        "" if Path("/run/systemd/system").is_dir() else "cgroupfs"
    )
    if manager:
        options += ["--cgroup-manager", manager]
    return options


_CONFIG_PATH = re.compile(r"^\s*[\w-]+\s*=\s*(/\S+)\s*$", re.MULTILINE)
_PIP_NETWORK_VARIABLES = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "PIP_CERT",
    "PIP_CLIENT_CERT",
    "PIP_PROXY",
    "PIP_DEFAULT_TIMEOUT",
    "PIP_RETRIES",
    "PIP_FIND_LINKS",
    "PIP_CONSTRAINT",
)
#: Where the driver mounts a pip configuration made of the host's PIP_* variables; the
#: Dockerfile's ``ARG PIP_CONFIG_FILE`` lets pip read it during the build only.
BUILD_PIP_CONFIG = "/run/noots-build/pip.conf"


@dataclass
class BuildMounts:
    """Read-only mounts and build arguments that let pip inside a build reach the index."""

    volumes: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    pip_config: str | None = None


SYSTEM_PIP_CONFIGS = (Path("/etc/pip.conf"), Path("/etc/xdg/pip/pip.conf"))


def host_build_mounts(
    env: Mapping[str, str] | None = None,
    *,
    home: Path | None = None,
    system_configs: Sequence[Path] = SYSTEM_PIP_CONFIGS,
) -> BuildMounts:
    """What the host's pip uses, for a build: its CA bundle, its pip configuration files and
    the files they name, and its ``PIP_*`` network settings (as a pip configuration file)."""
    env = os.environ if env is None else env
    home = home or Path.home()
    mounts: dict[str, str] = {}

    def share(path: Path, target: str | None = None) -> None:
        # The first source named for a target wins: the bundle pip is told to use comes first.
        if path.exists():
            mounts.setdefault(target or str(path), str(path.resolve()))

    bundle = next(
        (
            Path(candidate)
            for candidate in (
                env.get("PIP_CERT"),
                env.get("REQUESTS_CA_BUNDLE"),
                env.get("SSL_CERT_FILE"),
                "/etc/ssl/certs/ca-certificates.crt",
            )
            if candidate and Path(candidate).is_file()
        ),
        None,
    )
    if bundle is not None:
        # Where Debian's and the slim image's OpenSSL and pip look, and where the host's own
        # settings name it.
        share(bundle, "/etc/ssl/certs/ca-certificates.crt")
        share(bundle)
    configs = list(system_configs)
    if system_configs is SYSTEM_PIP_CONFIGS:
        configs += [
            Path(d) / "pip" / "pip.conf" for d in env.get("XDG_CONFIG_DIRS", "").split(":") if d
        ]
    user_configs = [home / ".config" / "pip" / "pip.conf", home / ".pip" / "pip.conf"]
    for config in configs:
        if config.is_file():
            share(config)
    for config in user_configs:
        if config.is_file():
            # The build runs as root: the host user's settings become root's.
            share(config, str(Path("/root") / config.relative_to(home)))
    for config in [*configs, *user_configs]:
        if config.is_file():
            for path in _CONFIG_PATH.findall(config.read_text(encoding="utf-8", errors="replace")):
                share(Path(path))
    result = BuildMounts()
    settings = {
        name.removeprefix("PIP_").lower().replace("_", "-"): env[name]
        for name in _PIP_NETWORK_VARIABLES
        if env.get(name)
    }
    if env.get("PIP_CONFIG_FILE") and Path(env["PIP_CONFIG_FILE"]).is_file():
        share(Path(env["PIP_CONFIG_FILE"]))
        result.build_args["PIP_CONFIG_FILE"] = env["PIP_CONFIG_FILE"]
    elif settings:
        for value in settings.values():
            for part in value.split():
                if part.startswith("/"):
                    share(Path(part))
        result.pip_config = "[global]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())
        result.build_args["PIP_CONFIG_FILE"] = BUILD_PIP_CONFIG
    result.volumes = [f"{source}:{target}:ro" for target, source in sorted(mounts.items())]
    return result


class PodmanProject:
    """One compose project on podman (see the module docstring)."""

    name = "podman"

    def __init__(
        self,
        compose: ComposeFile,
        *,
        project: str,
        env: Mapping[str, str] | None = None,
        runner: Runner = _run,
        poll: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.compose = compose
        self.project = project
        self.env = dict(os.environ if env is None else env)
        self.runner = runner
        self.poll = poll
        self.clock = clock
        self.sleep = sleep
        self.podman = ["podman", *podman_global_options(self.env)]
        for service, spec in compose.services.items():
            unknown = sorted(set(spec) - _PODMAN_SERVICE_KEYS)
            if unknown:
                raise ConfigurationError(
                    f"service {service}: the podman driver (noots.containers) does not support "
                    f"{', '.join(unknown)}; teach it, or run with docker compose"
                )

    # -- names

    @property
    def network(self) -> str:
        return f"{self.project}_default"

    def volume_name(self, volume: str) -> str:
        return f"{self.project}_{volume}"

    def container(self, service: str) -> str:
        return f"{self.project}-{service}-1"

    def _label(self) -> str:
        return f"io.noots.compose.project={self.project}"

    # -- build

    def build(self) -> None:
        built: set[tuple[str, str]] = set()
        mounts = host_build_mounts(self.env)
        with contextlib.ExitStack() as stack:
            volumes = list(mounts.volumes)
            if mounts.pip_config is not None:
                scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                config = scratch / "pip.conf"
                config.write_text(mounts.pip_config, encoding="utf-8")
                volumes.append(f"{config}:{BUILD_PIP_CONFIG}:ro")
            for service in self.compose.start_order():
                spec = self.compose.services[service]
                build = spec.get("build")
                if build is None:
                    continue
                if isinstance(build, str):
                    build = {"context": build}
                image = str(spec.get("image") or f"{self.project}-{service}")
                context = (self.compose.directory / str(build.get("context", "."))).resolve()
                key = (image, json.dumps(build, sort_keys=True))
                if key in built:
                    continue
                built.add(key)
                argv = [*self.podman, "build", "--format", "docker", "-t", image, *host_limits()]
                if build.get("dockerfile"):
                    argv += ["-f", str(context / str(build["dockerfile"]))]
                args = {**mounts.build_args, **(build.get("args") or {})}
                for name, value in args.items():
                    argv += ["--build-arg", f"{name}={value}"]
                for volume in volumes:
                    argv += ["-v", volume]
                _checked(self.runner, [*argv, str(context)], f"building {image}", service=service)

    # -- up

    def _ensure_network_and_volumes(self) -> None:
        if _captured(self.runner, [*self.podman, "network", "exists", self.network]).returncode:
            _checked(
                self.runner,
                [*self.podman, "network", "create", "--label", self._label(), self.network],
                "creating the network",
            )
        for volume in self.compose.volumes:
            name = self.volume_name(volume)
            if _captured(self.runner, [*self.podman, "volume", "exists", name]).returncode:
                _checked(
                    self.runner,
                    [*self.podman, "volume", "create", "--label", self._label(), name],
                    f"creating volume {volume}",
                )

    def run_argv(self, service: str) -> list[str]:
        """The ``podman run`` of one service."""
        spec = self.compose.services[service]
        argv = [*self.podman, "run", "-d", "--name", self.container(service)]
        argv += ["--label", self._label(), "--label", f"io.noots.compose.service={service}"]
        argv += ["--network", self.network, "--network-alias", service, *host_limits()]
        restart = str(spec.get("restart", "no"))
        argv += ["--restart", restart]
        if spec.get("user"):
            argv += ["--user", str(spec["user"])]
        if spec.get("read_only"):
            argv.append("--read-only")
        tmpfs = spec.get("tmpfs") or []
        for path in [tmpfs] if isinstance(tmpfs, str) else tmpfs:
            argv += ["--tmpfs", str(path)]
        environment = spec.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.partition("=")[::2] for item in environment)
        for key, value in environment.items():
            argv += ["-e", f"{key}={'' if value is None else value}"]
        for entry in spec.get("volumes") or []:
            volume = VolumeSpec.parse(str(entry), self.compose.directory)
            source = self.volume_name(volume.source) if volume.named else volume.source
            argv += ["-v", f"{source}:{volume.target}" + (":ro" if volume.read_only else "")]
        for port in spec.get("ports") or []:
            argv += ["-p", str(port)]
        check = spec.get("healthcheck")
        if check and not check.get("disable"):
            test = check["test"]
            if isinstance(test, str):
                probe = test
            elif test[0] == "CMD-SHELL":
                probe = test[1]
            elif test[0] == "CMD":
                probe = json.dumps(test[1:])
            else:
                raise ConfigurationError(f"service {service}: unsupported health check {test!r}")
            argv += ["--health-cmd", probe]
            for option, key, default in (
                ("--health-interval", "interval", "30s"),
                ("--health-timeout", "timeout", "30s"),
                ("--health-start-period", "start_period", "0s"),
            ):
                argv += [option, str(check.get(key, default))]
            argv += ["--health-retries", str(check.get("retries", 3))]
        image = spec.get("image")
        if not image:
            raise ConfigurationError(f"service {service} names no image")
        argv.append(str(image))
        command = spec.get("command")
        if command:
            argv += [str(c) for c in command] if isinstance(command, list) else command.split()
        return argv

    def _inspect(self, service: str) -> dict[str, Any] | None:
        result = _captured(self.runner, [*self.podman, "inspect", self.container(service)])
        if result.returncode != 0:
            return None
        data = json.loads(result.stdout)
        return data[0] if isinstance(data, list) and data else None

    def _healthy(self, service: str) -> bool:
        spec = self.compose.services[service]
        if not spec.get("healthcheck"):
            state = self._inspect(service)
            return bool(state and state["State"].get("Running"))
        result = _captured(
            self.runner, [*self.podman, "healthcheck", "run", self.container(service)]
        )
        return result.returncode == 0

    def _wait(self, services: Mapping[str, str], deadline: float) -> None:
        """Wait until each service meets its condition; a container that exits (or restarts)
        when it should run ends the wait with its logs. The health checks of one round run
        side by side: each starts a Python process in its container."""
        pending = dict(services)
        while pending:
            probe: list[str] = []
            for service, condition in list(pending.items()):
                state = self._inspect(service)
                if state is None:
                    raise ContainerFailure(f"{service} was not created", service=service)
                status = state["State"]
                exit_code = status.get("ExitCode", 0)
                running = bool(status.get("Running"))
                if condition == "service_completed_successfully":
                    if not running and status.get("Status") in ("exited", "stopped"):
                        if exit_code != 0:
                            raise ContainerFailure(
                                f"{service} failed (exit {exit_code})",
                                service=service,
                                logs=self.logs(service),
                            )
                        del pending[service]
                    continue
                restarts = int(state.get("RestartCount") or 0)
                if not running or restarts:
                    why = f"exited with {exit_code}" if not running else f"restarted {restarts}×"
                    raise ContainerFailure(
                        f"{service} {why} instead of becoming healthy",
                        service=service,
                        logs=self.logs(service),
                    )
                if condition == "service_started":
                    del pending[service]
                else:
                    probe.append(service)
            if probe:
                with ThreadPoolExecutor(max_workers=4) as pool:
                    healthy = dict(zip(probe, pool.map(self._healthy, probe), strict=True))
                for service, ok in healthy.items():
                    if ok:
                        del pending[service]
            if not pending:
                return
            if self.clock() > deadline:
                first = sorted(pending)[0]
                raise ContainerFailure(
                    f"not healthy in time: {', '.join(sorted(pending))}",
                    service=first,
                    logs=self.logs(first),
                )
            self.sleep(self.poll)

    def up(self, *, timeout: float) -> None:
        """Start every service in dependency order, each once its dependencies meet their
        conditions; return when every long-running service is healthy."""
        deadline = self.clock() + timeout
        self._ensure_network_and_volumes()
        for service in self.compose.start_order():
            spec = self.compose.services[service]
            image = str(spec.get("image", ""))
            if (
                not spec.get("build")
                and _captured(self.runner, [*self.podman, "image", "exists", image]).returncode
            ):
                raise ContainerFailure(
                    f"image {image} of {service} is not on this machine, and no registry may be "
                    "reachable: build a local one (see docs/DEPLOYMENT.md) and name it in the "
                    "variable the compose file reads",
                    service=service,
                )
            self._wait(_depends_on(spec), deadline)
            _captured(self.runner, [*self.podman, "rm", "-f", self.container(service)])
            _checked(self.runner, self.run_argv(service), f"starting {service}", service=service)
        long_running = {
            name: "service_healthy"
            for name, spec in self.compose.services.items()
            if str(spec.get("restart", "no")) != "no"
        }
        self._wait(long_running, deadline)

    # -- the running project

    def logs(self, service: str, *, tail: int = 40) -> str:
        result = _captured(
            self.runner, [*self.podman, "logs", "--tail", str(tail), self.container(service)]
        )
        return (result.stdout or "") + (result.stderr or "")

    def stop(self, service: str) -> None:
        _checked(
            self.runner,
            [*self.podman, "stop", "-t", "10", self.container(service)],
            f"stopping {service}",
            service=service,
        )

    def mounts(self, service: str) -> list[Mount]:
        inspected = _checked(
            self.runner,
            [*self.podman, "inspect", self.container(service)],
            f"inspecting {service}",
            service=service,
        )
        return _parse_mounts(inspected.stdout)

    def exec(self, service: str, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return _captured(self.runner, [*self.podman, "exec", self.container(service), *argv])

    def run(
        self,
        image: str,
        argv: Sequence[str],
        *,
        volumes: Sequence[str],
        environment: Mapping[str, str],
    ) -> int:
        command = [*self.podman, "run", "--rm", "--no-healthcheck", "--network", self.network]
        command += host_limits()
        command += ["--label", self._label()]
        for volume in volumes:
            command += ["-v", volume]
        for key, value in environment.items():
            command += ["-e", f"{key}={value}"]
        return self.runner([*command, image, *argv]).returncode

    def down(self) -> None:
        """Remove the project's containers, volumes and network (what exists of them)."""
        listed = _captured(
            self.runner,
            [*self.podman, "ps", "-a", "-q", "--filter", f"label={self._label()}"],
        )
        containers = listed.stdout.split()
        if containers:
            _captured(self.runner, [*self.podman, "rm", "-f", "-t", "5", *containers])
        volumes = _captured(
            self.runner,
            [*self.podman, "volume", "ls", "-q", "--filter", f"label={self._label()}"],
        ).stdout.split()
        if volumes:
            _captured(self.runner, [*self.podman, "volume", "rm", "-f", *volumes])
        _captured(self.runner, [*self.podman, "network", "rm", "-f", self.network])


# -- choosing the engine --------------------------------------------------------------------


def _answers(argv: Sequence[str], runner: Runner = _run) -> bool:
    try:
        return _captured(runner, argv, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def detect_engine(env: Mapping[str, str] | None = None, runner: Runner = _run) -> str:
    """``docker`` when a Docker engine and its compose plugin answer, else ``podman`` when it is
    installed; ``NOOTS_CONTAINER_ENGINE`` chooses. Raises :class:`ConfigurationError` if none."""
    env = os.environ if env is None else env
    chosen = env.get("NOOTS_CONTAINER_ENGINE")
    if chosen:
        if chosen not in ("docker", "podman"):
            raise ConfigurationError("NOOTS_CONTAINER_ENGINE must be docker or podman")
        return chosen
    if (
        shutil.which("docker")
        and _answers(["docker", "info"], runner)
        and _answers(["docker", "compose", "version"], runner)
    ):
        return "docker"
    if shutil.which("podman"):
        return "podman"
    raise ConfigurationError(
        "no container engine: install Docker with its compose plugin, or podman "
        "(Debian: apt-get install podman runc; see docs/DEPLOYMENT.md)"
    )


def engine_for(name: str, compose: ComposeFile, *, project: str, env: Mapping[str, str]) -> Engine:
    if name == "docker":
        return DockerCompose(compose, project=project, env=env)
    return PodmanProject(compose, project=project, env=env)


# -- local base images ------------------------------------------------------------------------

_POSTGRES_ENTRYPOINT = r"""#!/bin/sh
# The official postgres image's variables on Debian's PostgreSQL: a first start creates the
# cluster with POSTGRES_USER/POSTGRES_PASSWORD and the database POSTGRES_DB (default: the user).
set -eu
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile="$(mktemp)"
  printf '%s' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" > "$pwfile"
  "$BIN/initdb" -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  database="${POSTGRES_DB:-${POSTGRES_USER:-postgres}}"
  if [ "$database" != postgres ]; then
    "$BIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    "$BIN/createdb" -U "${POSTGRES_USER:-postgres}" "$database"
    "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  fi
fi
exec "$BIN/postgres" -D "$PGDATA"
"""

_POSTGRES_DOCKERFILE = f"""FROM {LOCAL_POSTGRES_BASE_IMAGE}
COPY entrypoint.sh /usr/local/bin/noots-postgres
RUN chmod 0755 /usr/local/bin/noots-postgres \\
    && mkdir -p /var/lib/postgresql/data /var/run/postgresql \\
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \\
    && chmod 0700 /var/lib/postgresql/data
USER postgres
ENV PGDATA=/var/lib/postgresql/data
EXPOSE 5432
CMD ["/usr/local/bin/noots-postgres"]
"""


def _host_sources() -> list[str]:
    """The host's Debian sources, when the host runs the suite the base is built from (its
    mirror is the one known to be reachable); else mmdebstrap's default."""
    release = Path("/etc/os-release")
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    on_suite = release.is_file() and f"VERSION_CODENAME={DEBIAN_SUITE}" in release.read_text()
    return [str(sources)] if on_suite and sources.is_file() else []


def build_local_bases(
    podman: Sequence[str],
    *,
    rebuild: bool = False,
    runner: Runner = _run,
    say: Callable[[str], None] = print,
) -> dict[str, str]:
    """Debian 12 base images from Debian's packages (``mmdebstrap``), for machines that reach
    no image registry: Python 3.11 (for the noots image) and PostgreSQL (as the official
    image behaves). Kept in the engine's storage and reused unless ``rebuild``. Returns the
    variables that select them (``NOOTS_BASE_IMAGE``, ``NOOTS_POSTGRES_IMAGE``)."""
    if not shutil.which("mmdebstrap"):
        raise ConfigurationError(
            "mmdebstrap is needed to build the local base images (apt-get install mmdebstrap)"
        )
    wanted = {
        LOCAL_BASE_IMAGE: "python3,python3-venv,python3-pip,ca-certificates",
        LOCAL_POSTGRES_BASE_IMAGE: "postgresql,ca-certificates",
    }
    lock = threading.Lock()

    def report(text: str) -> None:  # the two builds report from their own threads
        with lock:
            say(text)

    missing = {}
    for image, packages in wanted.items():
        if not rebuild and not _captured(runner, [*podman, "image", "exists", image]).returncode:
            report(f"base image {image}: kept from an earlier run")
        else:
            missing[image] = packages

    def build(image: str) -> None:
        packages = missing[image]
        report(f"base image {image}: building from Debian packages ({packages}) …")
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="noots-base-") as scratch:
            tarball = Path(scratch) / "base.tar"
            _checked(
                runner,
                [
                    "mmdebstrap",
                    "--quiet",
                    "--variant=apt",
                    f"--include={packages}",
                    DEBIAN_SUITE,
                    str(tarball),
                    *_host_sources(),
                ],
                f"mmdebstrap for {image}",
                service="mmdebstrap",
            )
            _checked(
                runner,
                [*podman, "import", str(tarball), image],
                f"importing {image}",
                service="podman import",
            )
        report(f"base image {image}: built in {time.monotonic() - started:.0f} s")

    # Side by side: most of the time goes to downloading, which overlaps well.
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _done in pool.map(build, missing):
            pass
    with tempfile.TemporaryDirectory(prefix="noots-postgres-") as scratch:
        context = Path(scratch)
        (context / "Dockerfile").write_text(_POSTGRES_DOCKERFILE, encoding="utf-8")
        (context / "entrypoint.sh").write_text(_POSTGRES_ENTRYPOINT, encoding="utf-8")
        _checked(
            runner,
            [
                *podman,
                "build",
                "--format",
                "docker",
                "-t",
                LOCAL_POSTGRES_IMAGE,
                *host_limits(),
                str(context),
            ],
            f"building {LOCAL_POSTGRES_IMAGE}",
            service="podman build",
        )
    return {"NOOTS_BASE_IMAGE": LOCAL_BASE_IMAGE, "NOOTS_POSTGRES_IMAGE": LOCAL_POSTGRES_IMAGE}


@contextlib.contextmanager
def interrupts_as_exceptions() -> Iterator[None]:
    """SIGTERM (and SIGHUP) raise KeyboardInterrupt like Ctrl-C does, so ``finally`` blocks
    tear the containers down whichever way the run is stopped."""
    import signal

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
