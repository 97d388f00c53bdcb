"""The Dockerfile's essentials, checked without a Docker engine: slim base, unprivileged user,
health check, nothing secret in the image, a sane entry point, and a build context that has
what the COPY lines need."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib

from noots.paths import PROJECT_ROOT
from noots.topology import load_topology

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined: list[str] = []
    current = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        joined.append(current + line)
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    result = []
    for line in joined:
        keyword, _, args = line.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def of(keyword: str) -> list[str]:
    return [args for kw, args in instructions() if kw == keyword]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not exec form: {args}"
    return [str(v) for v in value]


def test_slim_python_base() -> None:
    """One stage, on the official slim Python 3.11 image unless BASE_IMAGE names another."""
    assert of("FROM") == ["${BASE_IMAGE}"]
    keywords = [kw for kw, _ in instructions()]
    assert keywords[0] == "ARG", "BASE_IMAGE must be declared before FROM"
    assert of("ARG")[0] == "BASE_IMAGE=python:3.11-slim"


def test_installs_into_a_virtual_environment_on_the_path() -> None:
    """pip installs into /opt/venv (Debian's own Python refuses system-wide installs), and its
    bin directory comes first on PATH, so `noots` and `python` are the venv's."""
    runs = " ".join(of("RUN"))
    assert "python3 -m venv /opt/venv" in runs
    assert re.search(r"PATH=/opt/venv/bin:\$PATH", " ".join(of("ENV")))


def test_pip_settings_are_mounted_for_the_build_not_baked_in() -> None:
    """PIP_CONFIG_FILE is a build argument without a default (the driver mounts a file for the
    build); no pip configuration file is copied into the image."""
    assert "PIP_CONFIG_FILE" in of("ARG")
    for args in of("COPY"):
        assert "pip.conf" not in args


def test_runs_as_an_unprivileged_user() -> None:
    """The last USER is neither root nor uid 0, and it is set before the command."""
    users = of("USER")
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    keywords = [kw for kw, _ in instructions()]
    assert keywords.index("CMD") > len(keywords) - 1 - keywords[::-1].index("USER")
    assert any("useradd" in run and user in run for run in of("RUN"))


def test_health_check_probes_the_health_endpoint() -> None:
    """HEALTHCHECK runs noots.healthcheck (standard library only) in exec form."""
    (check,) = of("HEALTHCHECK")
    options, _, command = check.partition("CMD")
    assert "--interval=" in options
    assert "--timeout=" in options
    assert exec_form(command.strip())[:3] == ["python", "-m", "noots.healthcheck"]


def test_command_serves_a_component_on_all_interfaces() -> None:
    """CMD (exec form) starts `noots serve` listening beyond the container's loopback, on the
    port the image EXPOSEs, which is the platform's port of the topology."""
    (cmd,) = of("CMD")
    command = exec_form(cmd)
    assert command[:3] == ["noots", "serve", "platform"]
    assert command[command.index("--host") + 1] == "0.0.0.0"  # noqa: S104
    assert of("EXPOSE") == [str(load_topology().platform.port)]


def test_no_secrets_in_the_image() -> None:
    """No key, certificate, data directory or .env is copied, and no ENV or ARG holds a
    password, secret or token."""
    sources = []
    for args in of("COPY") + of("ADD"):
        parts = [p for p in shlex.split(args) if not p.startswith("--")]
        sources.extend(parts[:-1])
    assert not {".", "./"} & set(sources), "COPY . would take the whole checkout"
    for source in sources:
        assert not re.search(r"\.(pem|key|p12|db)$|noots-data|\.env|pki", source), source
    for args in of("ENV") + of("ARG"):
        assert not re.search(r"(?i)password|secret|token|private", args), args
    assert not of("ADD"), "ADD can fetch URLs and unpack archives: COPY is enough"


def test_dockerignore_keeps_state_and_keys_out_of_the_context() -> None:
    """The build context excludes the data directory, keys, databases and the git history."""
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for path in ("noots-data", ".git", "key.pem", "population.db", ".env"):
        assert any(fnmatch.fnmatch(path, p) for p in patterns), path


def test_copied_paths_exist_and_are_not_ignored() -> None:
    """Every COPY source exists in the checkout and is not excluded by .dockerignore."""
    ignored = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for args in of("COPY"):
        parts = [p for p in shlex.split(args) if not p.startswith("--")]
        for source in parts[:-1]:
            assert (PROJECT_ROOT / source).exists(), source
            assert not any(fnmatch.fnmatch(source, p) for p in ignored), source


def test_package_installed_without_cache_and_schemas_found() -> None:
    """pip keeps no cache in the image, the dependencies install in a layer of their own
    before the code; the schemas come with the package, not from a copied folder."""
    runs = of("RUN")
    assert any("pip install --no-cache-dir -r" in run for run in runs)
    assert any("pip install --no-cache-dir --no-deps ." in run for run in runs)
    assert "NOOTS_XSD_DIR" not in " ".join(of("ENV"))
    assert all(shlex.split(args)[0] != "xsd" for args in of("COPY"))


def test_files_the_package_build_reads_are_copied_before_pip_install() -> None:
    """pyproject's readme and license files are in the image when ``pip install .`` runs."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    needed = {project["project"]["readme"], *project["project"].get("license-files", [])}
    copied_before_install: set[str] = set()
    for keyword, args in instructions():
        if keyword == "RUN" and "pip install" in args and "-r" not in args.split():
            break
        if keyword == "COPY":
            copied_before_install |= set(shlex.split(args)[:-1])
    assert needed <= copied_before_install, needed - copied_before_install
