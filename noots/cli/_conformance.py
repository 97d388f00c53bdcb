"""``noots conformance``: the command group and what its commands share (settings, reports);
the consumer suite's command. The provider, SAK, IP and attack commands are in
:mod:`noots.cli._conformance_provider`, :mod:`noots.cli._conformance_sak`,
:mod:`noots.cli._conformance_eu` and :mod:`noots.cli._conformance_attack`.

Exit codes (:mod:`noots.cli._exit`): 0 every condition passed (or was skipped); 1 the tool
could not run (no PKI, unreachable target); 2 at least one condition failed; 64 called
wrongly (a bad option or value, a named file that does not exist).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from noots.cli._app import app
from noots.cli._exit import TOOL_FAILED
from noots.cli._options import (
    DataDirOption,
    PkiDirOption,
    ReportLanguageOption,
    TopologyOption,
    writes_report,
)

if TYPE_CHECKING:
    from rich.console import Console

    from noots.clock import Clock
    from noots.conformance import Report
    from noots.settings import NootsSettings

conformance_app = typer.Typer(
    name="conformance",
    help="Test a register (provider), a SAK implementation (sak), an online service "
    "(consumer) or an Intermediäre Plattform's EU side (eu) against the connection "
    "conditions; attack a running landscape (attack).",
    no_args_is_help=True,
)
app.add_typer(conformance_app)

# One name, one help text for one thing across the commands (noots.cli._options).
PkiOption = PkiDirOption
ReportOption = Annotated[
    Path | None,
    typer.Option(
        "--report",
        help="Directory for report.html, report.xml (JUnit), report.json and their signatures "
        "(default: DATA_DIR/reports/<suite>-<time>, where the dashboard shows them).",
    ),
]


def _settings(data_dir: Path | None, topology: Path | None) -> NootsSettings:
    from noots.errors import NootsError
    from noots.settings import NootsSettings, load_settings

    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if topology is not None:
        overrides["topology"] = topology
    try:
        settings = load_settings(NootsSettings, **overrides)
        settings.load_topology()
    except NootsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(TOOL_FAILED) from None
    return settings


def _pki_dir(settings: NootsSettings, pki_dir: Path | None) -> Path:
    directory = pki_dir or settings.data_dir / "pki"
    if not (directory / "ca" / "root-key.pem").is_file():
        typer.echo(
            f"error: no simulator CA at {directory}: run `noots bootstrap` (or `noots up`) "
            "first, or pass --pki-dir",
            err=True,
        )
        raise typer.Exit(TOOL_FAILED)
    return directory


def listening_socket(host: str, port: int) -> Any:
    """A socket bound to ``host:port`` for a uvicorn server the suite runs, or an ``OSError``
    naming the address. Bound here rather than by uvicorn, which on a busy address exits the
    whole process (SystemExit 3, past the event loop) instead of raising."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(f"could not listen on {host}:{port}: {error.strerror or error}") from None
    return sock


def default_report_dir(settings: NootsSettings, name: str) -> Path:
    """``<data_dir>/reports/<name>-<UTC time>``: where the dashboard finds reports."""
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return settings.data_dir / "reports" / f"{name}-{stamp}"


def publish_report(
    console: Console,
    report: Report,
    *,
    report_dir: Path | None,
    html: Path | None = None,
    junit: Path | None = None,
    json_file: Path | None = None,
    pki_dir: Path | None,
    simulator_id: str,
    clock: Clock,
) -> None:
    """Print the summary table (in the report's language); write the files asked for and
    sign them as the simulator."""
    from rich.markup import escape
    from rich.table import Table

    from noots.conformance import Status, sign_report_files, write_report
    from noots.conformance.i18n import format_number, frame
    from noots.conformance.render import status_label
    from noots.participant import load_credential
    from noots.pki import UnknownParticipant
    from noots.signing import XmlSigner

    language = report.language

    def t(key: str) -> str:
        return frame(key, language)

    table = Table(title=escape(report.title), caption=escape(report.target))
    for column in ("column.condition", "column.title", "column.status", "column.checks"):
        table.add_column(t(column))
    colours = {Status.PASSED: "green", Status.FAILED: "red", Status.SKIPPED: "yellow"}
    for section in report.sections:
        colour = colours[section.status]
        table.add_row(
            section.id,
            escape(section.title),
            f"[{colour}]{status_label(section.status, language)}[/{colour}]",
            f"{section.count(Status.PASSED)}/{len(section.checks)}",
        )
    console.print(table)
    summary = report.summary
    verdict = (
        f"[green]{t('verdict.pass')}[/green]"
        if report.passed
        else f"[red]{t('verdict.fail')}[/red]"
    )
    console.print(
        f"{verdict} · {t('summary.score')} {format_number(summary.score, language)} % · "
        f"{t('summary.coverage')} {format_number(summary.coverage, language)} % "
        f"({summary.passed} {t('count.pass')}, {summary.failed} {t('count.fail')}, "
        f"{summary.skipped} {t('count.skip')}, {summary.checks} {t('checks')}, "
        f"{format_number(report.seconds, language, 1)} s)"
    )
    for section in report.sections:
        if section.status is Status.FAILED:
            # Every failing check, not only the first: each may need its own fix.
            for check in section.checks:
                if check.status is Status.FAILED:
                    console.print(
                        f"[red]{section.id}[/red] {escape(check.name)}: {escape(check.actual)}"
                    )
                    console.print(f"  {t('summary.fix')}: {escape(check.hint or section.hint)}")
    for section in report.sections:
        for check in section.checks:
            if check.status is Status.SKIPPED and section.status is not Status.FAILED:
                line = (
                    f"[yellow]{section.id} {t('summary.not_tested')}[/yellow] "
                    f"{escape(check.name)}: {escape(check.actual)}"
                )
                console.print(line)
                if check.hint:
                    console.print(f"  {t('summary.to_test')}: {escape(check.hint)}")
    if report_dir is not None:
        html = html or report_dir / "report.html"
        junit = junit or report_dir / "report.xml"
        json_file = json_file or report_dir / "report.json"
    files = write_report(report, html=html, junit=junit, json=json_file)
    if not files.paths():
        return
    signed: list[Path] = []
    if pki_dir is not None:
        try:
            signer = XmlSigner(load_credential(pki_dir, simulator_id))
        except (UnknownParticipant, OSError, ValueError):
            console.print(
                f"[yellow]{t('summary.not_signed')}[/yellow] "
                f"{t('summary.no_credential')} {simulator_id}"
            )
        else:
            signed = sign_report_files(files, report, signer, clock=clock)
    for path in files.paths():
        console.print(f"{t('summary.report')}: {path}")
    if signed:
        console.print(
            f"{t('summary.signed_by')} {simulator_id}: {', '.join(p.name for p in signed)} "
            # The PKI named: with a data dir other than the default, a bare command fails.
            f"({t('summary.check_with')} `noots report verify FILE --pki-dir {pki_dir}`)"
        )


@conformance_app.command("consumer")
@writes_report
def consumer(
    listen: Annotated[
        str,
        typer.Option("--listen", help="HOST:PORT where the suite plays the online service's SAK."),
    ],
    participant: Annotated[
        str, typer.Option("--participant", help="The online service's participant id.")
    ],
    demo_url: Annotated[
        str | None,
        typer.Option("--demo-url", help="Drive a service with the noots demo web flow here."),
    ] = None,
    trigger_url: Annotated[
        str | None,
        typer.Option("--trigger-url", help="POST each retrieval to this test hook of yours."),
    ] = None,
    evidence: Annotated[
        str | None, typer.Option("--evidence", help="Evidence type the hook fetches.")
    ] = None,
    protocol_log: Annotated[
        str | None,
        typer.Option("--protocol-log", help="The service's protocol log for DC-09."),
    ] = None,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls",
            help="Serve HTTPS with mutual TLS as the online service's SAK (the SAK's "
            "certificate, valid for localhost and 127.0.0.1); the service presents its own.",
        ),
    ] = False,
    report_dir: ReportOption = None,
    lang: ReportLanguageOption = None,
    data_dir: DataDirOption = None,
    topology: TopologyOption = None,
) -> None:
    """Play the online service's own SAK (and the landscape behind it) and grade the service
    against DC-01…DC-09.

    Point the service's SAK URL (consumer API), IDA URL and platform URL (eID) at --listen.
    Without --demo-url or --trigger-url the suite asks you to start each retrieval by hand.
    """
    import asyncio

    from rich.console import Console

    from noots.bootstrap import bootstrap_landscape
    from noots.errors import NootsError
    from noots.pki import CertificateAuthority, Role

    console = Console(soft_wrap=True)
    settings = _settings(data_dir, topology)
    landscape = settings.load_topology()
    host, _colon, port_text = listen.rpartition(":")
    if not host or not port_text.isdigit():
        console.print("[red]error[/red] --listen takes HOST:PORT, e.g. 127.0.0.1:8600")
        raise typer.Exit(TOOL_FAILED)
    try:
        spec = landscape.consumer(participant)
    except NootsError:
        known = ", ".join(c.participant_id for c in landscape.consumers)
        console.print(
            f"[red]error[/red] {participant} is not an online service of the topology "
            f"({known}); add it to your topology file"
        )
        raise typer.Exit(TOOL_FAILED) from None
    if trigger_url is not None and evidence is None:
        rows = [a for a in landscape.authorisations if a.consumer == participant]
        evidence = rows[0].evidence_type if rows else None
    bootstrap_landscape(settings.data_dir, landscape, people=500, seed=20261122)
    pki = settings.data_dir / "pki"
    authority = CertificateAuthority.open(pki, clock=settings.clock())
    if participant not in authority.participants():
        authority.issue(participant, Role.CONSUMER)
    from noots.conformance.i18n import _

    url = f"{'https' if tls else 'http'}://{listen}"
    cert = authority.participant_dir(participant) / "cert.pem"
    key = authority.participant_dir(participant) / "key.pem"
    notes: tuple[str, ...] = (
        _(
            f"Die SAK-URL des Dienstes auf {url} richten: die Consumer-API (GET "
            "/consumer/v1/routes, POST /consumer/v1/authorisations, POST /consumer/v1/requests, "
            f"docs/consumers.md); seine IDA-URL (/ida/v1/lookup) und Plattform-URL (eID "
            f"/eid/v1/login) ebenfalls auf {url}",
            f"Point the service's SAK URL at {url}: the consumer API (GET /consumer/v1/routes, "
            "POST /consumer/v1/authorisations, POST /consumer/v1/requests, docs/consumers.md); "
            f"its IDA URL (/ida/v1/lookup) and platform URL (eID /eid/v1/login) at {url} too",
        ),
        _(
            f"Sein Schlüsselmaterial: {cert} und {key} (Teilnehmer {participant}, Rolle consumer)",
            f"Its credential: {cert} and {key} (participant {participant}, role consumer)",
        ),
        _(
            f"Vertrauensanker: {authority.root_cert_path}; Zertifikatssperrliste: {url}/pki/v1/crl",
            f"Trust anchor: {authority.root_cert_path}; CRL: {url}/pki/v1/crl",
        ),
    )
    if tls:
        notes += (
            _(
                "Gegenseitiges TLS: der Dienst legt dieses Zertifikat als TLS-Client-Zertifikat "
                "vor und vertraut demselben Vertrauensanker; sein SAK lehnt jedes andere ab "
                "(EDM:ERR:0001)",
                "Mutual TLS: the service presents that certificate as its TLS client "
                "certificate and trusts the same anchor; its SAK refuses any other "
                "(EDM:ERR:0001)",
            ),
        )
    console.print(
        _(
            f"[bold]Konformität des Online-Dienstes {participant}[/bold]",
            f"[bold]Consumer conformance of {participant}[/bold]",
        )
    )
    for note in notes:
        console.print(f"  • {note}")
    try:
        report = asyncio.run(
            _run_consumer(
                console,
                settings,
                participant=participant,
                kind=spec.kind,
                host=host,
                port=int(port_text),
                demo_url=demo_url,
                trigger_url=trigger_url,
                evidence=evidence,
                protocol_log=protocol_log,
                notes=notes,
                tls=tls,
            )
        )
    except (NootsError, OSError) as exc:
        console.print(f"[red]error[/red] {exc}")
        raise typer.Exit(TOOL_FAILED) from None
    publish_report(
        console,
        report,
        report_dir=report_dir or default_report_dir(settings, f"consumer-{participant}"),
        pki_dir=pki,
        simulator_id=landscape.platform.simulator_id,
        clock=settings.clock(),
    )
    raise typer.Exit(report.exit_code)


async def _run_consumer(
    console: Console,
    settings: NootsSettings,
    *,
    participant: str,
    kind: str,
    host: str,
    port: int,
    demo_url: str | None,
    trigger_url: str | None,
    evidence: str | None,
    protocol_log: str | None,
    notes: tuple[str, ...],
    tls: bool = False,
) -> Report:
    import asyncio

    import uvicorn

    from noots.registers.consumer_conformance import (
        ConsumerDriver,
        ConsumerTarget,
        DemoServiceDriver,
        HttpTriggerDriver,
        ManualDriver,
        conformance_sak,
        run_consumer_suite,
    )

    landscape = settings.load_topology()
    clock = settings.clock()
    driver: ConsumerDriver
    if demo_url is not None:
        driver = DemoServiceDriver(demo_url, kind=kind)
    elif trigger_url is not None:
        driver = HttpTriggerDriver(trigger_url, evidence_type=evidence or "")
    else:
        driver = ManualDriver(console.print)
    async with conformance_sak(
        settings.data_dir, landscape, settings.topology, consumer=participant, clock=clock
    ) as gateway:
        app: Any = gateway
        options: dict[str, Any] = {}
        if tls:
            from noots.participant import load_validator
            from noots.tls import (
                ClientCertificates,
                TlsFiles,
                TlsPeerMiddleware,
                uvicorn_tls_options,
            )

            pki = settings.data_dir / "pki"
            files = TlsFiles.for_participant(pki, landscape.sak_id(participant))
            # Optional at the handshake (the eID pages passed through serve browsers); the
            # gateway refuses consumer-API calls from anyone but the service, as its SAK does.
            options = uvicorn_tls_options(files, client_certificates=ClientCertificates.OPTIONAL)
            app = TlsPeerMiddleware(gateway, load_validator(pki, clock=clock))
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="off", **options
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[listening_socket(host, port)]))
        while not server.started:
            if serving.done():
                serving.result()
                raise OSError(f"could not listen on {host}:{port}")
            await asyncio.sleep(0.05)
        try:
            return await run_consumer_suite(
                ConsumerTarget(participant, kind=kind, protocol_log=protocol_log),
                gateway=gateway,
                driver=driver,
                topology=landscape,
                clock=clock,
                on_progress=lambda text: console.print(f"  … {text}"),
                notes=notes,
                tls=tls,
            )
        finally:
            server.should_exit = True
            await serving
