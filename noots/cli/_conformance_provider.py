"""``noots conformance provider``: a register behind its SAK, against DP-01 … DP-17.

The suite plays the register's own SAK, in push mode (it POSTs to the register) or passive
mode (it serves the provider API at ``--listen``, where the register fetches). Before it
sends anything it prints what the register needs installed and where the suite serves it;
it changes the PKI only with ``--prepare``, which says what it issued and stops.

Exit codes: 0 no condition failed; 1 the tool could not run (no PKI, unreachable register);
2 a condition failed; 64 called wrongly.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from noots.cli._conformance import (
    PkiOption,
    ReportOption,
    _pki_dir,
    _settings,
    conformance_app,
    default_report_dir,
    listening_socket,
    publish_report,
)
from noots.cli._exit import TOOL_FAILED, existing_file, usage_error
from noots.cli._options import (
    DataDirOption,
    ReportLanguageOption,
    TopologyOption,
    writes_report,
)
from noots.cli._person import PERSON_HELP, parse_person_option

if TYPE_CHECKING:
    from rich.console import Console

    from noots.conformance.provider import ProviderTarget
    from noots.settings import NootsSettings
    from noots.topology import Topology

#: Where the suite serves its SAK (passive) or the trust anchor and CRL when no landscape does.
DEFAULT_LISTEN = "127.0.0.1:8609"


def _listen(topology: Topology, target: ProviderTarget, listen: str | None) -> tuple[str, int]:
    if listen is None:
        if target.mode == "passive":
            try:
                sak = topology.participant(target.sak_id)
                return sak.host or topology.host, sak.port
            except Exception:  # a register outside the topology: the suite's own address
                listen = DEFAULT_LISTEN
        else:
            listen = DEFAULT_LISTEN
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise typer.BadParameter("--listen takes HOST:PORT, e.g. 127.0.0.1:8609")
    return host, int(port)


def _platform_serves_crl(topology: Topology, tls: bool) -> str | None:
    """The landscape platform's CRL URL when a platform answers there."""
    import httpx

    url = topology.base_url("platform", tls=tls) + "/pki/v1/crl"
    try:
        response = httpx.get(url, timeout=2.0, trust_env=False, verify=False)  # noqa: S501
    except httpx.HTTPError:
        return None
    return url if response.status_code == 200 else None


def _install_notes(
    target: ProviderTarget,
    pki: Path,
    *,
    served_at: str | None,
    platform_crl: str | None,
    tls: bool,
    clock: Any,
    iam_id: str,
) -> tuple[list[str], list[str]]:
    """What the register needs (lines to print, kept as the report's notes, in the report
    language), and what is missing (blocking lines)."""
    from noots.conformance.credentials import pki_files
    from noots.conformance.i18n import _
    from noots.topology import Topology

    files = pki_files(pki, target.participant, clock=clock)
    crl_url = platform_crl or (f"{served_at}/pki/v1/crl" if served_at else None)
    anchor_url = f"{served_at}/pki/v1/trust-anchor" if served_at and not platform_crl else None
    sak_id = Topology.sak_id(target.participant)
    notes = [
        _(
            f"Vertrauensanker (die Stamm-CA des Simulators): {files.trust_anchor}",
            f"Trust anchor (the simulator's root CA): {files.trust_anchor}",
        )
        + (
            _(f", bereitgestellt unter {anchor_url}", f", served at {anchor_url}")
            if anchor_url
            else ""
        ),
        _(
            "Zertifikatssperrliste (jedes Zertifikat der Zugriffstoken dagegen prüfen; vor dem "
            f"Lauf neu laden): {files.crl}",
            "CRL (check every access token's certificates against it; reload it before the "
            f"run): {files.crl}",
        )
        + (_(f", bereitgestellt unter {crl_url}", f", served at {crl_url}") if crl_url else ""),
        _(
            f"Aufrufer: nur Zugriffstoken des IAM {iam_id} annehmen, ausgestellt für {sak_id} "
            f"(Rolle sak) für {target.participant}",
            f"Callers: accept only access tokens of the IAM {iam_id} issued to {sak_id} "
            f"(role sak) for {target.participant}",
        ),
    ]
    missing: list[str] = []
    if target.mode == "passive" or tls:
        purposes = []
        if target.mode == "passive":
            purposes.append(
                _("für seine Client Assertions beim IAM", "for its IAM client assertions")
            )
        if tls:
            purposes.append(_("für sein TLS-Serverzertifikat", "for its TLS server certificate"))
        why = _(" und ", " and ").join(purposes)
        cert, key = files.certificate, files.key
        if files.has_credential and key is not None:
            notes.append(
                _(
                    f"Schlüsselmaterial Ihres Registers ({why}): {cert} und {key} (Teilnehmer "
                    f"{target.participant}, Rolle provider)",
                    f"Your register's credential ({why}): {cert} and {key} (participant "
                    f"{target.participant}, role provider)",
                )
            )
        elif files.has_credential:
            # Signed from the operator's own request (noots pki issue --csr): no key here.
            notes.append(
                _(
                    f"Zertifikat Ihres Registers ({why}): {cert}, mit Ihrem eigenen Schlüssel "
                    f"(aus Ihrem Zertifikatsantrag; Teilnehmer {target.participant}, Rolle "
                    "provider)",
                    f"Your register's certificate ({why}): {cert}, with your own key (from "
                    f"your certificate request; participant {target.participant}, role "
                    "provider)",
                )
            )
        else:
            missing.append(
                _(
                    f"die PKI hat kein Schlüsselmaterial von {target.participant}, nötig {why}: "
                    "diesen Befehl mit --prepare ausführen (es stellt eines aus und sagt, wo)",
                    f"the PKI has no credential of {target.participant}, needed {why}: run "
                    "this command with --prepare (it issues one and says where)",
                )
            )
    if target.mode == "passive" and served_at:
        notes.append(
            _(
                f"Passivmodus: die SAK-URL Ihres Registers auf {served_at} richten, seinen "
                f"IAM-Token-Endpunkt auf {served_at}/iam/v1/token (es holt dort GET "
                "/provider/v1/requests ab und sendet die Antworten dorthin, mit einem eigenen "
                f"Zugriffstoken des IAM für {sak_id})",
                f"Passive mode: point your register's SAK URL at {served_at} and its IAM token "
                f"endpoint at {served_at}/iam/v1/token (it fetches GET /provider/v1/requests "
                f"and posts answers there, with an IAM access token of its own for {sak_id})",
            )
        )
    notes.append(
        _(
            "Protokollexport für DP-12: GET /provider/v1/transfers?requestId=… an Ihrem "
            "Register (docs/SAK.md), oder --protocol-export URL",
            "Protocol export for DP-12: GET /provider/v1/transfers?requestId=… on your "
            "register (docs/SAK.md), or --protocol-export URL",
        )
    )
    return notes, missing


@conformance_app.command("provider")
@writes_report
def provider(
    participant: Annotated[
        str, typer.Option("--participant", help="The register's participant id.")
    ],
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="The register's base URL (its /health, push endpoint, protocol export).",
        ),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="push (the suite POSTs to the register) or passive (the register fetches "
            "from the suite at --listen). Default: the register's SAK mode in the topology, "
            "else push.",
        ),
    ] = None,
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            help="HOST:PORT where the suite serves its SAK (passive mode; default: the SAK's "
            f"address in the topology) and the trust anchor and CRL (default {DEFAULT_LISTEN} "
            "when no landscape serves them).",
        ),
    ] = None,
    evidence: Annotated[
        str | None,
        typer.Option(
            "--evidence",
            help="Evidence type to request (default: the register's; required for a register "
            "outside the topology).",
        ),
    ] = None,
    consumer: Annotated[
        str | None, typer.Option("--consumer", help="Consumer to act for (default: authorised).")
    ] = None,
    idnr: Annotated[
        str | None, typer.Option("--idnr", help="IDNr of a person the register knows.")
    ] = None,
    person: Annotated[
        str | None,
        typer.Option("--person", help=PERSON_HELP + " With --idnr unless a test person."),
    ] = None,
    company: Annotated[
        str | None, typer.Option("--company", help="A company the register knows (legal).")
    ] = None,
    register_number: Annotated[
        str | None, typer.Option("--register-number", help="Its number, e.g. 'HRB 12345'.")
    ] = None,
    blocked: Annotated[
        str | None,
        typer.Option(
            "--blocked",
            help="A person with an information block: 'Family, Given, YYYY-MM-DD[, IDNr]' "
            "(without the IDNr: asked for by basic data).",
        ),
    ] = None,
    ambiguous: Annotated[
        str | None,
        typer.Option(
            "--ambiguous",
            help="Basic data matching several people: 'Family, Given, YYYY-MM-DD'.",
        ),
    ] = None,
    asynchronous: Annotated[
        str | None,
        typer.Option(
            "--asynchronous",
            help="A person answered with ResponseAvailableDateTime: "
            "'Family, Given, YYYY-MM-DD[, IDNr]' (without the IDNr: asked for by basic data).",
        ),
    ] = None,
    protocol_export: Annotated[
        str | None,
        typer.Option(
            "--protocol-export",
            help="URL of the register's protocol export for DP-12 (default: TARGET"
            "/provider/v1/transfers).",
        ),
    ] = None,
    time_budget: Annotated[
        float, typer.Option("--time-budget", help="Seconds an answer may take (DP-13).")
    ] = 10.0,
    max_wait: Annotated[
        float,
        typer.Option(
            "--max-wait",
            help="Longest wait for an announced asynchronous answer (DP-13); the simulator's "
            "asynchronous person is announced 2 minutes ahead.",
        ),
    ] = 150.0,
    tls: Annotated[
        bool | None,
        typer.Option(
            "--tls/--no-tls",
            help="Mutual TLS as the register's SAK (its certificate from the simulator PKI). "
            "Default: on for https targets.",
        ),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option(
            "--ca-file",
            help="CA of the register's server certificate (default: the simulator's root CA).",
        ),
    ] = None,
    prepare: Annotated[
        bool,
        typer.Option(
            "--prepare",
            help="Issue what the run needs in the PKI (the register's credential where needed, "
            "a revoked identity), say what was issued, print what to install, and stop.",
        ),
    ] = False,
    report_dir: ReportOption = None,
    lang: ReportLanguageOption = None,
    data_dir: DataDirOption = None,
    topology: TopologyOption = None,
    pki_dir: PkiOption = None,
) -> None:
    """Play the register's SAK and grade the register against DP-01…DP-17 (push or passive)."""
    import asyncio

    from rich.console import Console

    from noots.conformance.provider import default_target, parse_test_person
    from noots.errors import NootsError

    console = Console(soft_wrap=True)
    settings = _settings(data_dir, topology)
    landscape = settings.load_topology()
    pki = _pki_dir(settings, pki_dir)
    clock = settings.clock()
    if mode not in (None, "push", "passive"):
        raise usage_error("push or passive", option="--mode")
    if ca_file is not None:
        existing_file(ca_file, "--ca-file")
    if target is None and not prepare:
        raise usage_error("required (the register's base URL)", option="--target")
    subject = _subject(idnr, person, company, register_number)
    url = target or "http://unused.invalid"
    use_tls = tls if tls is not None else url.lower().startswith("https://")
    try:
        spec = default_target(
            landscape,
            participant,
            url,
            evidence_type=evidence,
            consumer=consumer,
            subject=subject,
            blocked=parse_test_person(blocked, what="blocked") if blocked else None,
            ambiguous=parse_test_person(ambiguous, what="ambiguous") if ambiguous else None,
            async_subject=parse_test_person(asynchronous, what="asynchronous")
            if asynchronous
            else None,
            mode=mode,  # type: ignore[arg-type]
            protocol_export=protocol_export,
            time_budget=time_budget,
            max_wait=max_wait,
            asks=not prepare,
        )
        host, port = _listen(landscape, spec, listen)
    except typer.BadParameter:
        raise
    except NootsError as exc:
        console.print(f"[red]error[/red] {exc.message}")
        raise typer.Exit(TOOL_FAILED) from None
    if prepare:
        _prepare(console, spec, pki, clock=clock, tls=use_tls)
        raise typer.Exit(0)
    platform_crl = None if spec.mode == "passive" else _platform_serves_crl(landscape, use_tls)
    serve = spec.mode == "passive" or platform_crl is None
    served_at = f"{'https' if use_tls else 'http'}://{host}:{port}" if serve else None
    notes, missing = _install_notes(
        spec,
        pki,
        served_at=served_at,
        platform_crl=platform_crl,
        tls=use_tls,
        clock=clock,
        iam_id=landscape.platform.iam_id,
    )
    from noots.conformance.i18n import _

    if spec.mode == "passive":
        mode_text = _("Passivmodus", "passive mode")
    else:
        mode_text = _("Push-Modus", "push mode")
    console.print(
        _(
            f"[bold]Konformität des Registers {spec.participant}[/bold] unter {spec.base_url} "
            f"({mode_text}; die Suite spielt {spec.sak_id})",
            f"[bold]Provider conformance of {spec.participant}[/bold] at {spec.base_url} "
            f"({mode_text}; the suite plays {spec.sak_id})",
        )
    )
    console.print(
        _(
            "[bold]Was Ihr Register installiert haben muss:[/bold]",
            "[bold]What your register needs installed:[/bold]",
        )
    )
    for note in notes:
        console.print(f"  • {note}")
    if missing:
        for line in missing:
            console.print(f"[red]{_('fehlt', 'missing')}[/red] {line}")
        raise typer.Exit(TOOL_FAILED)
    try:
        report = asyncio.run(
            _run(
                console,
                settings,
                spec,
                pki,
                host=host,
                port=port,
                serve=serve,
                tls=use_tls,
                ca_file=ca_file,
                notes=notes,
            )
        )
    except (NootsError, OSError) as exc:
        message = exc.message if isinstance(exc, NootsError) else str(exc)
        console.print(f"[red]error[/red] {message} (nothing in the PKI was changed)")
        raise typer.Exit(TOOL_FAILED) from None
    publish_report(
        console,
        report,
        report_dir=report_dir or default_report_dir(settings, f"provider-{participant}"),
        pki_dir=pki,
        simulator_id=landscape.platform.simulator_id,
        clock=clock,
    )
    raise typer.Exit(report.exit_code)


def _subject(
    idnr: str | None, person: str | None, company: str | None, register_number: str | None
) -> Any:
    """The person (or company) the register knows: ``--person`` in any form
    (:mod:`noots.cli._person`) with its IDNr, from ``--idnr`` or from the test identity."""
    from noots.consumers import company as company_subject
    from noots.messages import NaturalPerson

    if company is not None:
        return company_subject(company, register_number or "")
    if idnr is None and person is None:
        return None
    if person is None:
        raise usage_error("--idnr needs --person (that person's basic data)", option="--idnr")
    named = parse_person_option(person)
    number = idnr or named.idnr
    if named.basic is None or number is None:
        raise usage_error(
            "give basic data with the date of birth and --idnr, or a test person's name",
            option="--person",
        )
    basic = named.basic
    return NaturalPerson(basic.family_name, basic.given_name, basic.date_of_birth, number)


def _prepare(console: Console, spec: ProviderTarget, pki: Path, *, clock: Any, tls: bool) -> None:
    from noots.conformance.credentials import pki_files, prepare_pki
    from noots.pki import Role

    prepared = prepare_pki(
        pki,
        participant=spec.participant,
        role=Role.PROVIDER,
        clock=clock,
        credential=spec.mode == "passive" or tls,
    )
    if not prepared.changes:
        console.print("The PKI already holds what the run needs: nothing was changed.")
    for change in prepared.changes:
        console.print(f"[yellow]changed the PKI[/yellow] {change}")
    files = pki_files(pki, spec.participant, clock=clock)
    console.print(f"  • trust anchor: {files.trust_anchor}")
    console.print(f"  • CRL: {files.crl}")
    if spec.mode == "passive" or tls:
        # Named here too, not only at the start of a run: the operator installs it now.
        own_key = "" if files.key else " (with your own key, from your certificate request)"
        console.print(f"  • your register's certificate: {files.certificate}{own_key}")
        if files.key is not None:
            console.print(f"  • its key: {files.key}")
    console.print("Install these in your register, then run the same command without --prepare.")


@contextlib.asynccontextmanager
async def _serving(
    app: Any, *, host: str, port: int, tls_files: Any = None, validator: Any = None
) -> AsyncIterator[None]:
    """``app`` on a real socket while the run lasts."""
    import asyncio

    import uvicorn

    options: dict[str, Any] = {}
    if tls_files is not None:
        from noots.tls import ClientCertificates, TlsPeerMiddleware, uvicorn_tls_options

        options = uvicorn_tls_options(tls_files, client_certificates=ClientCertificates.OPTIONAL)
        app = TlsPeerMiddleware(app, validator)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="off", **options
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listening_socket(host, port)]))
    while not server.started:
        if task.done():
            task.result()
            raise OSError(f"could not listen on {host}:{port}")
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def _run(
    console: Console,
    settings: NootsSettings,
    spec: ProviderTarget,
    pki: Path,
    *,
    host: str,
    port: int,
    serve: bool,
    tls: bool,
    ca_file: Path | None,
    notes: list[str],
) -> Any:
    from noots.conformance import run_provider_suite
    from noots.conformance.provider import ProviderTls, sak_double_app, sak_double_for
    from noots.participant import load_validator
    from noots.tls import TlsFiles

    landscape = settings.load_topology()
    clock = settings.clock()
    double = sak_double_for(spec, landscape, pki, clock=clock)
    async with contextlib.AsyncExitStack() as stack:
        if serve:
            tls_files = TlsFiles.for_participant(pki, spec.sak_id) if tls else None
            if tls_files is not None and not tls_files.certificate.is_file():
                raise OSError(
                    f"serving TLS as {spec.sak_id} needs its certificate in the PKI "
                    "(run with --prepare)"
                )
            await stack.enter_async_context(
                _serving(
                    sak_double_app(double),
                    host=host,
                    port=port,
                    tls_files=tls_files,
                    validator=load_validator(pki, clock=clock) if tls else None,
                )
            )
        return await run_provider_suite(
            spec,
            topology=landscape,
            pki_dir=pki,
            clock=clock,
            on_progress=lambda text: console.print(f"  … {text}"),
            notes=notes,
            tls=ProviderTls(ca_file) if tls else None,
            passive=double if spec.mode == "passive" else None,
        )
