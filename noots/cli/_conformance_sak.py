"""``noots conformance sak``: an operator's own SAK implementation against SAK-01 … SAK-10.

``--target URL --participant <id>.sak``: a register's SAK is tested on its transport endpoint
(the suite sends envelopes as an online service's SAK); an online service's SAK on its
consumer API, while the suite plays the provider's SAK at ``--listen`` (the address the
target's RDN gives for that SAK; point it there in your topology).

Exit codes: 0 no condition failed; 1 the tool could not run; 2 a condition failed.
"""

from __future__ import annotations

import contextlib
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
from noots.cli._exit import TOOL_FAILED, existing_file
from noots.cli._options import (
    DataDirOption,
    ReportLanguageOption,
    TopologyOption,
    writes_report,
)


@conformance_app.command("sak")
@writes_report
def sak(
    target: Annotated[str, typer.Option("--target", help="The SAK's base URL.")],
    participant: Annotated[
        str,
        typer.Option(
            "--participant", help="The SAK's participant id (<register or online service>.sak)."
        ),
    ],
    consumer: Annotated[
        str | None,
        typer.Option("--consumer", help="Provider side: the online service whose SAK to play."),
    ] = None,
    register: Annotated[
        str | None,
        typer.Option("--register", help="Consumer side: the register whose SAK to play."),
    ] = None,
    evidence: Annotated[
        str | None, typer.Option("--evidence", help="Consumer side: the evidence type to fetch.")
    ] = None,
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            help="Consumer side: HOST:PORT where the suite plays the provider's SAK (default: "
            "that SAK's address in the topology).",
        ),
    ] = None,
    tls: Annotated[
        bool | None,
        typer.Option(
            "--tls/--no-tls",
            help="Mutual TLS with the certificate of the party the suite plays (default: on "
            "for https targets); also runs SAK-08.",
        ),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option("--ca-file", help="CA of the SAK's server certificate (default: the root)."),
    ] = None,
    prepare: Annotated[
        bool,
        typer.Option(
            "--prepare",
            help="Issue and revoke an identity for the revocation probes (republishes the CRL), "
            "say so, and stop.",
        ),
    ] = False,
    report_dir: ReportOption = None,
    lang: ReportLanguageOption = None,
    data_dir: DataDirOption = None,
    topology: TopologyOption = None,
    pki_dir: PkiOption = None,
) -> None:
    """Play the other SAK (and the online service) and grade a SAK against SAK-01…SAK-10."""
    import asyncio

    from rich.console import Console

    from noots.conformance.sak import default_sak_target
    from noots.errors import NootsError

    console = Console(soft_wrap=True)
    settings = _settings(data_dir, topology)
    landscape = settings.load_topology()
    pki = _pki_dir(settings, pki_dir)
    clock = settings.clock()
    use_tls = tls if tls is not None else target.lower().startswith("https://")
    if ca_file is not None:
        existing_file(ca_file, "--ca-file")
    try:
        spec = default_sak_target(
            landscape,
            participant,
            target,
            consumer=consumer,
            register=register,
            evidence_type=evidence,
        )
    except NootsError as exc:
        console.print(f"[red]error[/red] {exc.message}")
        raise typer.Exit(TOOL_FAILED) from None
    if prepare:
        from noots.conformance.credentials import prepare_pki
        from noots.pki import Role

        prepared = prepare_pki(
            pki, participant=spec.sak_id, role=Role.SAK, clock=clock, credential=False
        )
        for change in prepared.changes:
            console.print(f"[yellow]changed the PKI[/yellow] {change}")
        if not prepared.changes:
            console.print("The PKI already holds what the run needs: nothing was changed.")
        raise typer.Exit(0)
    from noots.conformance.i18n import _

    if spec.side == "provider":
        side = _("Seite des Datenhalters", "provider side")
    else:
        side = _("Seite des Online-Dienstes", "consumer side")
    console.print(
        _(
            f"[bold]Konformität des SAK {spec.sak_id}[/bold] unter {spec.base_url} ({side})",
            f"[bold]SAK conformance of {spec.sak_id}[/bold] at {spec.base_url} ({side})",
        )
    )
    anchor, crl = pki / "ca" / "root-cert.pem", pki / "ca" / "crl.pem"
    crl_url = f"{landscape.base_url('platform', tls=use_tls)}/pki/v1/crl"
    iam_id = landscape.platform.iam_id
    notes = [
        _(
            f"Vertrauensanker: {anchor}; Zertifikatssperrliste: {crl} (von der Landschaft "
            f"bereitgestellt unter {crl_url})",
            f"Trust anchor: {anchor}; CRL: {crl} (served by the landscape at {crl_url})",
        ),
        _(
            f"Zugriffstoken: ausgestellt von {iam_id} unter diesem Vertrauensanker",
            f"Access tokens: issued by {iam_id} under that trust anchor",
        ),
    ]
    if spec.side == "provider":
        sender = landscape.sak_id(spec.consumer)
        notes.append(
            _(
                f"Die Suite sendet als {sender} im Namen von {spec.consumer}; hinter Ihrem SAK "
                f"muss ein Register antworten ({spec.register})",
                f"The suite sends as {sender} on behalf of {spec.consumer}; a register must "
                f"answer behind your SAK ({spec.register})",
            )
        )
    else:
        provider_sak = landscape.sak_id(spec.register)
        where = listen or _("seine Adresse in der Topologie", "its address in the topology")
        notes.append(
            _(
                f"Die Suite spielt {spec.consumer} an Ihrer Consumer-API und {provider_sak} "
                f"dort, wohin Ihr SAK sendet ({where}); Registerdatennavigation, "
                "Vermittlungsstelle und IAM sind die der Landschaft",
                f"The suite plays {spec.consumer} on your consumer API and {provider_sak} "
                f"where your SAK sends ({where}); RDN, VS and IAM are the landscape's",
            )
        )
    for note in notes:
        console.print(f"  • {note}")
    try:
        report = asyncio.run(_run(console, settings, spec, pki, listen, use_tls, ca_file, notes))
    except (NootsError, OSError) as exc:
        message = exc.message if isinstance(exc, NootsError) else str(exc)
        console.print(f"[red]error[/red] {message}")
        raise typer.Exit(TOOL_FAILED) from None
    publish_report(
        console,
        report,
        report_dir=report_dir or default_report_dir(settings, f"sak-{participant}"),
        pki_dir=pki,
        simulator_id=landscape.platform.simulator_id,
        clock=clock,
    )
    raise typer.Exit(report.exit_code)


async def _run(
    console: Any,
    settings: Any,
    spec: Any,
    pki: Path,
    listen: str | None,
    tls: bool,
    ca_file: Path | None,
    notes: list[str],
) -> Any:
    from noots.cli._conformance_provider import _serving
    from noots.conformance import run_sak_suite
    from noots.conformance.sak import SakTls, provider_sak_app, provider_sak_double
    from noots.participant import load_validator
    from noots.tls import TlsFiles

    landscape = settings.load_topology()
    clock = settings.clock()
    double = None
    async with contextlib.AsyncExitStack() as stack:
        if spec.side == "consumer":
            double = provider_sak_double(spec, landscape, pki, clock=clock)
            if listen is None:
                address = landscape.participant(double.sak_id)
                host, port = address.host or landscape.host, address.port
            else:
                host, _, text = listen.rpartition(":")
                port = int(text)
            await stack.enter_async_context(
                _serving(
                    provider_sak_app(double),
                    host=host,
                    port=port,
                    tls_files=TlsFiles.for_participant(pki, double.sak_id) if tls else None,
                    validator=load_validator(pki, clock=clock) if tls else None,
                )
            )
        return await run_sak_suite(
            spec,
            topology=landscape,
            pki_dir=pki,
            clock=clock,
            tls=SakTls(ca_file) if tls else None,
            double=double,
            notes=notes,
            on_progress=lambda text: console.print(f"  … {text}"),
        )
