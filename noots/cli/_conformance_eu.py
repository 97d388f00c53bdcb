"""``noots conformance eu``: the EU-facing side of an Intermediäre Plattform against
IP-01 … IP-10.

The suite plays a member state's eDelivery gateway and evidence requester (use case 3) and
sends signed EDM requests to the IP's access point: ``--target URL`` (messages go to
``URL/as4``), by default the running landscape's IP. Whether refused messages reached a German
register anyway is read from the registers' protocol logs when the target is the landscape's
own IP.

Exit codes: 0 no condition failed; 1 the tool could not run (no PKI, no EU side in the
topology, the access point unreachable); 2 a condition failed; 64 called wrongly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from noots.cli._conformance import (
    PkiOption,
    ReportOption,
    _pki_dir,
    _settings,
    conformance_app,
    default_report_dir,
    publish_report,
)
from noots.cli._exit import TOOL_FAILED, existing_file, usage_error
from noots.cli._options import (
    DataDirOption,
    ReportLanguageOption,
    TopologyOption,
    writes_report,
)


@conformance_app.command("eu")
@writes_report
def eu(
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="URL",
            help="The IP's access point as a member state's gateway reaches it (messages go "
            "to URL/as4; default: the running landscape's IP, http://…:8430/ip/v1).",
        ),
    ] = None,
    evidence: Annotated[
        str,
        typer.Option(
            "--evidence",
            metavar="TYPE",
            help="The German evidence type to ask for (an evidence type of the topology).",
        ),
    ] = "Geburtsurkunde",
    tls: Annotated[
        bool | None,
        typer.Option(
            "--tls/--no-tls",
            help="Mutual TLS with the member state's access point certificate (default: on for "
            "https targets, or when the landscape runs with TLS).",
        ),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option("--ca-file", help="CA of the IP's server certificate (default: the root)."),
    ] = None,
    report_dir: ReportOption = None,
    lang: ReportLanguageOption = None,
    data_dir: DataDirOption = None,
    topology: TopologyOption = None,
    pki_dir: PkiOption = None,
) -> None:
    """Play a member state's gateway and grade an Intermediäre Plattform against IP-01…IP-10."""
    import asyncio

    from rich.console import Console

    from noots.conformance.i18n import _
    from noots.conformance.ip import default_ip_target, landscape_witness, run_ip_suite
    from noots.errors import NootsError
    from noots.supervisor import running_landscape

    console = Console(soft_wrap=True)
    if ca_file is not None:
        existing_file(ca_file, "--ca-file")
    settings = _settings(data_dir, topology)
    running = running_landscape(settings.data_dir.resolve())
    if running is not None and topology is None:
        settings = _settings(Path(running.data_dir), Path(running.topology))
    landscape = settings.load_topology()
    pki = _pki_dir(settings, pki_dir)
    clock = settings.clock()
    landscape_tls = running.tls if running is not None else settings.tls
    if evidence not in {spec.name for spec in landscape.evidence_types}:
        raise usage_error(
            f"no evidence type {evidence!r} in the topology (known: "
            f"{', '.join(sorted(spec.name for spec in landscape.evidence_types))})",
            option="--evidence",
        )
    try:
        own = default_ip_target(landscape, evidence=evidence, tls=landscape_tls)
        spec = default_ip_target(landscape, target, evidence=evidence, tls=landscape_tls)
    except NootsError as exc:
        console.print(f"[red]error[/red] {exc.message}")
        raise typer.Exit(TOOL_FAILED) from None
    use_tls = tls if tls is not None else spec.url.lower().startswith("https://")
    ours = spec.url.rstrip("/") == own.url.rstrip("/")
    console.print(
        _(
            f"[bold]Konformität der Intermediären Plattform[/bold] unter {spec.url} "
            f"(Zugangspunkt {spec.parties.access_point})",
            f"[bold]Intermediary Platform conformance[/bold] at {spec.url} "
            f"(access point {spec.parties.access_point})",
        )
    )
    notes = [
        _(
            f"Die Suite spielt den Zugangspunkt {spec.parties.gateway} "
            f"({spec.parties.authority.name}); Vertrauensanker: {pki / 'ca' / 'root-cert.pem'}",
            f"The suite plays the access point {spec.parties.gateway} "
            f"({spec.parties.authority.name}); trust anchor: {pki / 'ca' / 'root-cert.pem'}",
        ),
        _(
            f"Angefragt: {evidence} für {spec.subject.given_name} {spec.subject.family_name}",
            f"Asked for: {evidence} about {spec.subject.given_name} {spec.subject.family_name}",
        ),
    ]
    for note in notes:
        console.print(f"  • {note}")
    witness = (
        landscape_witness(
            landscape,
            spec.evidence_type.classification,
            spec.parties.authority.identifier,
            lambda party: settings.protocol_log_target(party, landscape),
            clock=clock,
        )
        if ours
        else None
    )
    verify: Any = True
    if use_tls:
        from noots.tls import TlsFiles, client_context

        files = TlsFiles.for_participant(pki, spec.parties.gateway)
        if ca_file is not None:
            files = TlsFiles(files.certificate, files.key, ca_file)
        verify = client_context(files)
    try:
        report = asyncio.run(
            run_ip_suite(
                spec,
                pki_dir=pki,
                clock=clock,
                verify=verify,
                witness=witness,
                notes=notes,
                on_progress=lambda text: console.print(f"  … {text}"),
            )
        )
    except (NootsError, OSError) as exc:
        message = exc.message if isinstance(exc, NootsError) else str(exc)
        console.print(f"[red]error[/red] {message}")
        raise typer.Exit(TOOL_FAILED) from None
    publish_report(
        console,
        report,
        report_dir=report_dir or default_report_dir(settings, "ip"),
        pki_dir=pki,
        simulator_id=landscape.platform.simulator_id,
        clock=clock,
    )
    raise typer.Exit(report.exit_code)
