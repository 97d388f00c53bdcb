"""``make compose-e2e`` (``python -m noots.testing.compose_e2e``): the compose landscape built,
started and exercised for real, with whichever container engine the machine has.

On the host, in this order (each step must hold; exit 0 only when all did):

1. the committed docker-compose.yml is what ``noots compose`` makes of landscape.yaml;
2. the images are built (with podman and no reachable registry: on Debian 12 bases built from
   Debian's packages, kept between runs, :func:`noots.containers.build_local_bases`);
3. the landscape starts as project ``noots-e2e`` and every container becomes healthy;
4. **key isolation**: each container mounts exactly its own volumes (state, its own keys
   read-only, the trust anchor and CRL read-only, the CA only where its kind operates it) and
   can read no private key but its own participants' (the CA's root key included);
5. **TLS**: the published ports speak TLS; inside the network a client checks the servers'
   names against their certificates, a register refuses a client without certificate, plain
   HTTP gets nothing;
6. **the Bewohnerparkausweis pilot** is played through the containers (eID, IDA, RDN, VS, the
   SAKs, registers) by a test container on the compose network acting as the online service, the
   Datenschutzcockpit shows both transfers, and the protocol entries are in PostgreSQL (no
   SQLite protocol log in any container);
7. **the pilot scenario suite** (scenarios/pilots/bewohnerparkausweis.yaml) passes against the
   containers;
8. **a register stopped**: the pilot's Melderegister container is stopped and the retrieval
   fails with an error that names it;
9. everything is torn down (containers, volumes, network), also on failure, Ctrl-C or SIGTERM.

A failure names the container and quotes its last log lines. ``inside …`` are the steps run in
the test container (``python -m noots.testing.compose_e2e inside pilot|register-down|files``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import ssl
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from noots.containers import (
    ComposeFile,
    ContainerFailure,
    Engine,
    build_local_bases,
    detect_engine,
    engine_for,
    interrupts_as_exceptions,
    load_compose,
    podman_global_options,
)
from noots.deployment import (
    DATA_DIR,
    KEYS_MOUNT,
    TOPOLOGY_PATH,
    TRUST_MOUNT,
    Workload,
    workloads,
)
from noots.errors import ConfigurationError

__all__ = ["main"]

PROJECT = "noots-e2e"
IMAGE = "noots:e2e"
PILOT_SUITE = Path("scenarios") / "pilots" / "bewohnerparkausweis.yaml"
#: Generous: a cold start of every container on two busy cores.
UP_TIMEOUT = 420.0
INSIDE_TIMEOUT = 600.0
#: In the test container.
INSIDE_ROOT = Path("/e2e")


class StepFailed(Exception):
    """A check of the run did not hold (the message says which and why); ``services`` are the
    containers whose last log lines tell more."""

    def __init__(self, message: str, *, services: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.services = tuple(services)


# -- what runs inside the test container ---------------------------------------------------


#: A PEM private key block (PKCS#8, RSA, EC, encrypted): text merely naming one does not match.
_PEM_PRIVATE_KEY = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----\r?\n[A-Za-z0-9+/=:,\- \r\n]+"
    rb"-----END \1PRIVATE KEY-----"
)


def _private_keys(roots: Sequence[Path]) -> list[str]:
    """Every file below ``roots`` this process can read that holds a PEM private key."""
    found = []
    for root in roots:
        for directory, dirs, files in os.walk(root, onerror=lambda _e: None):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(directory, d))]
            for name in files:
                path = os.path.join(directory, name)
                try:
                    if os.path.getsize(path) > 1_000_000:
                        continue
                    with open(path, "rb") as handle:
                        head = handle.read(100_000)
                except OSError:
                    continue
                if _PEM_PRIVATE_KEY.search(head):
                    found.append(path)
    return sorted(found)


def inside_files() -> int:
    """Print (JSON) what this container can see: private keys, SQLite protocol logs."""
    skip = {"proc", "sys", "dev", "usr", "lib", "lib64", "bin", "sbin", "boot"}
    roots = [Path("/") / p for p in sorted(os.listdir("/")) if p not in skip]
    roots = [r for r in roots if r.is_dir() and not r.is_symlink() and r != Path("/opt/venv")]
    logs = Path(DATA_DIR) / "logs"
    report = {
        "private_keys": _private_keys(roots),
        "sqlite_logs": sorted(str(p) for p in logs.glob("*.db")) if logs.is_dir() else [],
    }
    print(json.dumps(report))
    return 0


def _assemble_pki(topology: Any) -> Path:
    """A PKI directory for the test container: the trust volume and the mounted key volumes
    (a participant several workloads hold, such as an online service the dashboard acts for,
    is linked once)."""
    pki = Path("/tmp/e2e/pki")  # noqa: S108 - the test container's own, short-lived
    (pki / "participants").mkdir(parents=True, exist_ok=True)
    if not (pki / "ca").exists():
        (pki / "ca").symlink_to(INSIDE_ROOT / "trust")
    for volume in (INSIDE_ROOT / "keys").iterdir():
        for participant in volume.iterdir():
            link = pki / "participants" / participant.name
            if not link.exists():
                link.symlink_to(participant)
    return pki


@dataclass
class _Inside:
    """What the test container knows: the topology as the containers see it, its keys."""

    topology: Any
    topology_path: Path
    data_dir: Path
    consumer: str

    @classmethod
    def load(cls) -> _Inside:
        from noots.landscape.pilot import PILOT_KIND
        from noots.settings import load_settings

        settings = load_settings()
        topology = settings.load_topology()
        consumer = next(c.participant_id for c in topology.consumers if c.kind == PILOT_KIND)
        pki = _assemble_pki(topology)
        return cls(topology, settings.topology, pki.parent, consumer)

    @property
    def pki(self) -> Path:
        return self.data_dir / "pki"

    def tls_context(self) -> ssl.SSLContext:
        from noots.tls import TlsFiles, client_context

        return client_context(TlsFiles.for_participant(self.pki, self.consumer))


def _say(ok: bool, text: str) -> bool:
    print(f"  {'ok  ' if ok else 'FAIL'} {text}", flush=True)
    return ok


def _tls_checks(inside: _Inside) -> bool:
    import httpx

    topology = inside.topology
    platform = topology.base_url("platform", tls=True)
    register = topology.registers[0]
    register_url = topology.base_url(register.participant_id, tls=True)
    results = []
    with httpx.Client(verify=inside.tls_context(), timeout=10.0, trust_env=False) as client:
        response = client.get(platform + "/health")
        results.append(
            _say(
                response.status_code == 200,
                f"{platform}: the server's certificate names it, our client certificate is "
                f"accepted (HTTP {response.status_code})",
            )
        )
    bare = ssl.create_default_context(cafile=str(inside.pki / "ca" / "root-cert.pem"))
    try:
        with httpx.Client(verify=bare, timeout=10.0, trust_env=False) as client:
            status: str = f"HTTP {client.get(register_url + '/health').status_code}"
    except httpx.HTTPError as exc:
        status = f"refused ({type(exc).__name__})"
    results.append(
        _say(
            status.startswith("refused"),
            f"{register.participant_id} refuses a client without certificate: {status}",
        )
    )
    plain = platform.replace("https://", "http://")
    try:
        with httpx.Client(timeout=10.0, trust_env=False) as client:
            answer = client.get(plain + "/health")
            plain_status = f"HTTP {answer.status_code}"
            plain_ok = answer.status_code != 200
    except httpx.HTTPError as exc:
        plain_status, plain_ok = f"no answer ({type(exc).__name__})", True
    results.append(_say(plain_ok, f"plain HTTP to {plain} gets no service: {plain_status}"))
    return all(results)


def _pilot(inside: _Inside) -> bool:
    from noots.clock import SystemClock
    from noots.landscape.pilot import play_pilot
    from noots.participant import load_participant
    from noots.protocol import open_protocol_log
    from noots.settings import NootsSettings

    settings = NootsSettings(data_dir=inside.data_dir, topology=inside.topology_path)
    participant = load_participant(inside.pki, inside.consumer, clock=SystemClock())
    report = asyncio.run(
        play_pilot(
            participant,
            inside.topology,
            tls=True,
            settings=settings,
            verify=inside.tls_context(),
            timeout=60.0,
        )
    )
    results = []
    for number, hop in enumerate(report.hops, 1):
        failed = [c.label for c in hop.checks if not c.passed]
        detail = f" — failed: {', '.join(failed)}" if failed else ""
        results.append(
            _say(
                hop.passed,
                f"pilot hop {number}: {hop.title} ({hop.sender} → {hop.receiver}, "
                f"HTTP {hop.exchange.status}){detail}",
            )
        )
    if report.error is not None:
        where = f" at {report.error.component}" if report.error.component else ""
        results.append(_say(False, f"pilot failed{where}: {report.error.message}"))
    results.append(
        _say(
            report.dsc_entries() >= len(report.evidences) == 2,
            f"Datenschutzcockpit shows {report.dsc_entries()} transfer(s) of this run "
            f"({len(report.evidences)} evidences fetched)",
        )
    )
    database = settings.protocol_database(inside.topology)
    results.append(
        _say(
            bool(database and database.startswith("postgresql://")),
            "protocol logs go to PostgreSQL",
        )
    )
    for result in report.evidences:
        request_id = str(result.request_id)
        for party in (result.provider, inside.consumer):
            log = open_protocol_log(
                settings.protocol_log_target(party, inside.topology),
                party=party,
                clock=SystemClock(),
            )
            try:
                entries = [
                    e
                    for e in log.entries()
                    if e.party == party and e.message_id.removeprefix("urn:uuid:") == request_id
                ]
            finally:
                log.close()
            results.append(
                _say(
                    bool(entries),
                    f"{party} logged request {request_id} in PostgreSQL "
                    f"({', '.join(e.outcome for e in entries) or 'nothing'})",
                )
            )
    return report.completed and all(results)


class _TlsTransport:
    """The scenario runner speaks plain HTTP to the topology's URLs; in the TLS landscape the
    same requests go over HTTPS, presenting the certificate of the online service the pilot
    suite acts as (the only participant it acts as)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        import httpx

        self.inner = httpx.AsyncHTTPTransport(verify=context)

    async def handle_async_request(self, request: Any) -> Any:
        if request.url.scheme == "http":
            request.url = request.url.copy_with(scheme="https")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _scenarios(inside: _Inside, suite: Path) -> bool:
    import httpx

    from noots.conformance import run_scenarios
    from noots.conformance.scenarios import LandscapeAccess, load_scenarios

    class Transport(_TlsTransport, httpx.AsyncBaseTransport):
        pass

    scenarios = load_scenarios([suite])
    acting = {
        str(step.params.get("as"))
        for scenario in scenarios
        for step in scenario.steps
        if step.params.get("as")
    }
    if acting - {inside.consumer}:
        return _say(
            False,
            f"the suite acts as {', '.join(sorted(acting))}; this run presents only the TLS "
            f"certificate of {inside.consumer}",
        )
    access = LandscapeAccess(
        inside.data_dir,
        inside.topology,
        inside.topology_path,
        transport=Transport(inside.tls_context()),
    )
    run = asyncio.run(
        run_scenarios(access, scenarios, on_progress=lambda line: print(f"    {line}", flush=True))
    )
    for failure in run.tool_failures:
        _say(False, f"tool failure: {failure}")
    return _say(run.exit_code == 0, f"scenario suite {suite.name}: exit code {run.exit_code}")


def _register_down(inside: _Inside, register: str, evidence: str) -> bool:
    import httpx

    from noots.clock import SystemClock
    from noots.consumers import AsyncClient, Endpoints, PersonQuery
    from noots.errors import NootsError
    from noots.participant import load_participant
    from noots.synthetic.identities import BEHAVIOUR_IDENTITIES, Behaviour

    topology = inside.topology
    consumer = topology.consumer(inside.consumer)
    person = next(i for i in BEHAVIOUR_IDENTITIES if i.behaviour is Behaviour.NORMAL)
    purpose = next(
        a.purpose
        for a in topology.authorisations
        if a.consumer == inside.consumer and a.evidence_type == evidence
    )

    async def fetch() -> str:
        participant = load_participant(inside.pki, inside.consumer, clock=SystemClock())
        async with httpx.AsyncClient(
            verify=inside.tls_context(), timeout=60.0, trust_env=False
        ) as http:
            client = AsyncClient(
                participant, Endpoints.from_topology(topology, tls=True), topology, http=http
            )
            try:
                await client.fetch_evidence(
                    evidence,
                    purpose=purpose,
                    idnr=person.idnr,
                    person=PersonQuery(
                        person.given_names.split()[0], person.family_name, person.date_of_birth
                    ),
                    region=consumer.region if topology.evidence_type(evidence).regional else None,
                )
            except NootsError as exc:
                where = exc.component or ""
                return f"{exc.code.value} at {where}: {exc.message}"
        return "delivered"

    outcome = asyncio.run(fetch())
    return _say(
        outcome != "delivered" and register in outcome,
        f"with {register} stopped, fetching {evidence} fails naming it: {outcome}",
    )


def inside(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="compose_e2e inside")
    parser.add_argument("step", choices=("files", "pilot", "register-down"))
    parser.add_argument("--register")
    parser.add_argument("--evidence")
    args = parser.parse_args(argv)
    if args.step == "files":
        return inside_files()
    context = _Inside.load()
    if args.step == "pilot":
        ok = _tls_checks(context)
        ok = _pilot(context) and ok
        ok = _scenarios(context, INSIDE_ROOT / "scenarios" / PILOT_SUITE.name) and ok
        return 0 if ok else 1
    return 0 if _register_down(context, args.register, args.evidence) else 1


# -- the host's side -------------------------------------------------------------------------


class Run:
    """One end-to-end run: the steps of the module docstring, with times."""

    def __init__(self, root: Path, engine_name: str, base: str) -> None:
        self.root = root
        self.engine_name = engine_name
        self.base = base
        self.started = time.monotonic()
        self.env: dict[str, str] = dict(os.environ)
        self.compose: ComposeFile | None = None
        self.engine: Engine | None = None
        self.containers = 0

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {text}", flush=True)

    # -- preparation

    def check_compose_current(self) -> Path:
        from noots.compose import render_compose
        from noots.topology import load_topology

        path = self.root / "docker-compose.yml"
        expected = render_compose(load_topology(self.root / "landscape.yaml"))
        if not path.is_file() or path.read_text(encoding="utf-8") != expected:
            raise StepFailed(
                f"{path} is not what `noots compose` makes of landscape.yaml: run "
                "`noots compose -o docker-compose.yml` and commit it"
            )
        self.say(f"{path.name} is current (generated from landscape.yaml)")
        return path

    def prepare_images(self) -> None:
        self.env["NOOTS_IMAGE"] = IMAGE
        use_local = self.base == "local" or (
            self.base == "auto" and self.engine_name == "podman" and not self._official_here()
        )
        if use_local:
            podman = ["podman", *podman_global_options(self.env)]
            self.env.update(build_local_bases(podman, say=self.say))
        else:
            self.say("base images: the official python:3.11-slim and postgres:15")
        self.env["NOOTS_PUBLISH_ADDRESS"] = _free_loopback(self._ports())
        self.say(f"published ports on {self.env['NOOTS_PUBLISH_ADDRESS']}")

    def _official_here(self) -> bool:
        import subprocess

        return all(
            subprocess.run(
                ["podman", "image", "exists", image], capture_output=True, check=False
            ).returncode
            == 0
            for image in ("python:3.11-slim", "postgres:15")
        )

    def _ports(self) -> list[int]:
        from noots.topology import load_topology

        return [w.port for w in workloads(load_topology(self.root / "landscape.yaml"))]

    # -- the steps

    def start(self, path: Path) -> None:
        self.compose = load_compose(path, self.env)
        self.engine = engine_for(self.engine_name, self.compose, project=PROJECT, env=self.env)
        self.engine.down()  # what an interrupted earlier run may have left
        started = time.monotonic()
        self.say("building the images …")
        self.engine.build()
        self.say(f"images built in {time.monotonic() - started:.0f} s")
        started = time.monotonic()
        self.engine.up(timeout=UP_TIMEOUT)
        self.containers = len(self.compose.services)
        self.say(
            f"{self.containers} containers started, the long-running ones healthy, in "
            f"{time.monotonic() - started:.0f} s"
        )

    def workloads(self) -> list[Workload]:
        from noots.topology import load_topology

        return workloads(load_topology(self.root / "landscape.yaml"))

    def check_isolation(self) -> None:
        assert self.engine is not None
        engine = self.engine
        problems = []
        for workload in self.workloads():
            expected = {
                DATA_DIR: (engine.volume_name(f"data-{workload.name}"), False),
                KEYS_MOUNT: (engine.volume_name(f"keys-{workload.name}"), True),
            }
            expected[TRUST_MOUNT] = (engine.volume_name("trust"), True)
            mounts = engine.mounts(workload.name)
            seen = {m.target: (m.volume, m.read_only) for m in mounts if m.kind == "volume"}
            binds = {m.target: m.read_only for m in mounts if m.kind == "bind"}
            if seen != expected:
                problems.append(f"{workload.name} mounts {seen}, expected {expected}")
            if binds != {TOPOLOGY_PATH: True}:
                problems.append(f"{workload.name} bind-mounts {binds}, expected the topology")
            probe = engine.exec(
                workload.name, ["python", "-m", "noots.testing.compose_e2e", "inside", "files"]
            )
            if probe.returncode != 0:
                raise ContainerFailure(
                    f"probing the files of {workload.name} failed",
                    service=workload.name,
                    logs=probe.stderr,
                )
            seen_files = json.loads(probe.stdout.strip().splitlines()[-1])
            keys = set(seen_files["private_keys"])
            own = {f"{KEYS_MOUNT}/{p}/key.pem" for p in workload.participants}
            if keys != own:
                problems.append(
                    f"{workload.name} can read the private keys {sorted(keys)}, expected "
                    f"{sorted(own)}"
                )
            if seen_files["sqlite_logs"]:
                problems.append(f"{workload.name} keeps SQLite protocol logs: {seen_files}")
            self.say(
                f"  {workload.name}: mounts only its own volumes, reads {len(keys)} private "
                f"key(s): its own participants' ({', '.join(workload.participants)}), no CA key"
            )
        if problems:
            raise StepFailed("key isolation:\n  " + "\n  ".join(problems))
        self.say("key isolation holds in every container")

    def check_published_tls(self) -> None:
        address = self.env["NOOTS_PUBLISH_ADDRESS"]
        platform = next(w for w in self.workloads() if w.kind == "platform")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # only the handshake is looked at, not trusted
        with (
            socket.create_connection((address, platform.port), timeout=10) as raw,
            context.wrap_socket(raw) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
            version = tls.version()
        from cryptography import x509

        certificate = x509.load_der_x509_certificate(der or b"")
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        dns = names.value.get_values_for_type(x509.DNSName)
        if platform.name not in dns:
            raise StepFailed(f"the platform's certificate names {dns}, not {platform.name}")
        self.say(
            f"published port {address}:{platform.port} speaks {version}; the certificate of "
            f"{platform.participants[0]} names {', '.join(dns[:3])} …"
        )

    def tester(self, argv: Sequence[str]) -> int:
        """Run a step in a test container on the compose network."""
        assert self.engine is not None
        assert self.compose is not None

        # The test harness signs as whom a scenario says (the online service, crafted VS
        # tokens, …), like a run of `noots scenario` beside `noots up` with the whole data
        # directory: it mounts every workload's keys, read-only. The CA stays out.
        volumes = [f"{self.engine.volume_name('trust')}:{INSIDE_ROOT}/trust:ro"]
        for workload in self.workloads():
            volumes.append(
                f"{self.engine.volume_name('keys-' + workload.name)}:"
                f"{INSIDE_ROOT}/keys/{workload.name}:ro"
            )
        volumes.append(f"{self.root / 'scenarios' / 'pilots'}:{INSIDE_ROOT}/scenarios:ro")
        volumes.append(f"{self.root / 'landscape.yaml'}:{TOPOLOGY_PATH}:ro")
        environment = dict(self.compose.services["platform"]["environment"])
        environment["NOOTS_DATA_DIR"] = "/tmp/e2e"  # noqa: S108 - inside the test container
        return self.engine.run(
            IMAGE,
            ["python", "-m", "noots.testing.compose_e2e", "inside", *argv],
            volumes=volumes,
            environment=environment,
        )

    def play(self) -> None:
        self.say("the pilot, TLS and the scenario suite, from a test container on the network:")
        if self.tester(["pilot"]) != 0:
            raise StepFailed(
                "the pilot or the scenario suite failed (see above)",
                services=[w.name for w in self.workloads() if w.kind in ("platform", "ida")],
            )
        self.say("pilot completed, Datenschutzcockpit entries seen, scenario suite passed")

    def register_down(self) -> None:
        from noots.landscape.pilot import PILOT_EVIDENCE, PILOT_KIND
        from noots.topology import load_topology

        topology = load_topology(self.root / "landscape.yaml")
        consumer = next(c for c in topology.consumers if c.kind == PILOT_KIND)
        evidence = PILOT_EVIDENCE[0]
        register = topology.find_providers(evidence, consumer.region)[0].participant_id
        workload = next(w for w in self.workloads() if w.component.name == register)
        assert self.engine is not None
        self.engine.stop(workload.name)
        self.say(f"stopped {workload.name}")
        if self.tester(["register-down", "--register", register, "--evidence", evidence]):
            raise StepFailed(
                f"the error of a retrieval from the stopped {register} is not clear",
                services=["platform"],
            )
        self.say(f"the retrieval from the stopped register fails with an error naming {register}")

    def logs_of(self, names: Sequence[str]) -> None:
        if self.engine is None or self.compose is None:
            return
        for name in names:
            if name in self.compose.services:
                print(f"--- last log lines of {name} ---", file=sys.stderr)
                print(self.engine.logs(name, tail=20).rstrip(), file=sys.stderr)

    def teardown(self) -> None:
        if self.engine is None:
            return
        # A second Ctrl-C or SIGTERM must not leave half the project behind.
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            started = time.monotonic()
            self.engine.down()
            self.say(
                f"torn down (containers, volumes, network) in {time.monotonic() - started:.0f} s"
            )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _free_loopback(ports: Sequence[int], candidates: Sequence[str] | None = None) -> str:
    """A loopback address (127.0.0.x) where none of ``ports`` is taken, so that the run does
    not collide with a landscape ``noots up`` runs on 127.0.0.1."""
    if candidates is None:
        lasts = list(range(2, 250))
        random.shuffle(lasts)
        candidates = [f"127.0.0.{last}" for last in lasts]
    for address in candidates:
        try:
            for port in ports:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                    probe.bind((address, port))
        except OSError:
            continue
        return address
    raise ConfigurationError("no loopback address has the landscape's ports free")


def run(args: argparse.Namespace) -> int:
    from noots.paths import PROJECT_ROOT

    root = Path(args.project or PROJECT_ROOT)
    runner: Run | None = None
    failed: str | None = None
    try:
        with interrupts_as_exceptions():
            engine = detect_engine()
            runner = Run(root, engine, args.base)
            runner.say(f"engine: {engine}")
            path = runner.check_compose_current()
            runner.prepare_images()
            runner.start(path)
            runner.check_isolation()
            runner.check_published_tls()
            runner.play()
            runner.register_down()
    except KeyboardInterrupt:
        failed = "interrupted"
    except ContainerFailure as exc:
        failed = str(exc)
    except StepFailed as exc:
        failed = str(exc)
        if runner is not None:
            runner.logs_of(exc.services)
    except ConfigurationError as exc:
        failed = exc.message
    finally:
        if runner is not None:
            runner.teardown()
    elapsed = time.monotonic() - runner.started if runner is not None else 0.0
    containers = runner.containers if runner is not None else 0
    if failed is not None:
        print(f"\ncompose-e2e FAILED after {elapsed:.0f} s: {failed}", file=sys.stderr)
        return 1
    print(
        f"\ncompose-e2e passed in {elapsed:.0f} s with {containers} containers "
        f"(+ 2 test containers), engine {runner.engine_name if runner else '?'}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["inside"]:
        return inside(args_list[1:])
    parser = argparse.ArgumentParser(
        prog="python -m noots.testing.compose_e2e",
        description="Build, start and exercise the compose landscape in containers.",
    )
    parser.add_argument(
        "--base",
        choices=("auto", "local", "official"),
        default=os.environ.get("NOOTS_E2E_BASE", "auto"),
        help="Base images: official (python:3.11-slim, postgres:15), local (built from "
        "Debian packages with mmdebstrap), auto (local with podman when the official ones are "
        "not here).",
    )
    parser.add_argument("--project", help="The checkout (default: this one).")
    return run(parser.parse_args(args_list))


if __name__ == "__main__":
    sys.exit(main())
