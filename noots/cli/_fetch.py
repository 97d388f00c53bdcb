"""``noots fetch``: one evidence for one person, through a running landscape, as a consumer.

Exit codes: 0 the evidence was delivered and verified; 1 the tool could not do its job
(landscape not running, data dir or participant unusable, bad arguments); 2 the exchange was
refused (by the VS, the hub, the provider, or the client's own checks of the answer).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from noots.cli._app import app

if TYPE_CHECKING:
    from consumers import EvidenceResult, Explanation
    from noots.errors import NootsError
    from noots.settings import NootsSettings
    from noots.topology import Topology

EXIT_OK = 0
EXIT_TOOL = 1
EXIT_REFUSED = 2
DEFAULT_KIND = "bewohnerparkausweis"


@app.command("fetch")
def fetch(
    evidence: Annotated[
        str, typer.Option("--evidence", "-e", help="Evidence type, e.g. Meldebescheinigung.")
    ],
    idnr: Annotated[
        str | None, typer.Option("--idnr", help="The person's IDNr (11 digits).")
    ] = None,
    person: Annotated[
        str | None,
        typer.Option(
            "--person",
            help=(
                "Basic data: 'Given Family 1990-01-31 \\[place]' "
                "or 'Family, Given, date\\[, place]'."
            ),
        ),
    ] = None,
    born: Annotated[
        str | None,
        typer.Option("--born", help="Date of birth with --idnr (the IDA supplies the rest)."),
    ] = None,
    company: Annotated[
        str | None, typer.Option("--company", help="Company name (legal-person evidence).")
    ] = None,
    register_number: Annotated[
        str | None, typer.Option("--register-number", help="e.g. 'HRB 12345' (with --company).")
    ] = None,
    purpose: Annotated[
        str | None,
        typer.Option("--purpose", help="Declared purpose (default: the matrix row, if only one)."),
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="AGS for regional evidence types.")
    ] = None,
    legal_basis: Annotated[str | None, typer.Option("--legal-basis")] = None,
    as_participant: Annotated[
        str | None,
        typer.Option(
            "--as", help="Act as this consumer (default: the Bewohnerparkausweis service)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Landscape data dir (default: NOOTS_DATA_DIR)."),
    ] = None,
    topology_file: Annotated[
        Path | None,
        typer.Option(
            "--topology",
            help="Topology file (default: the running landscape's, else NOOTS_TOPOLOGY).",
        ),
    ] = None,
) -> None:
    """Fetch one evidence for one person through the platform, verified end to end.

    Finds the landscape `noots up` runs for the data dir (its ports, HTTP or mutual TLS) from
    its run file; without one, the topology file and NOOTS_TLS say where to go.
    """
    from rich.console import Console

    from consumers import ExchangeContext, explain
    from noots.cli._up import cli_overrides
    from noots.errors import NootsError
    from noots.settings import load_settings

    out = Console(soft_wrap=True)
    err = Console(stderr=True, soft_wrap=True)
    try:
        settings = load_settings(**cli_overrides(data_dir, topology_file))
        topology, tls = _landscape(settings, explicit_topology=topology_file is not None)
        consumer = _consumer(topology, as_participant)
        purpose, region = _defaults(topology, consumer, evidence, purpose, region)
    except NootsError as exc:
        err.print(f"[red]error[/red] {exc.message}")
        raise typer.Exit(EXIT_TOOL) from None
    context = ExchangeContext(consumer, evidence, purpose, by_idnr=idnr is not None)
    try:
        result = _run(
            topology,
            consumer,
            evidence,
            purpose=purpose,
            idnr=idnr,
            person=person,
            born=born,
            company=company,
            register_number=register_number,
            region=region,
            legal_basis=legal_basis,
            settings=settings,
            tls=tls,
        )
    except NootsError as exc:
        explanation = explain(exc, context)
        if as_json:
            out.print_json(json.dumps(_failure_json(exc, explanation)))
        else:
            where = f" ({exc.component})" if exc.component else ""
            err.print(f"[red]{exc.code.value}[/red] {exc.code.title}{where}: {exc.message}")
            err.print(f"likely cause: {explanation.cause}")
            err.print(f"fix: {explanation.fix}")
        raise typer.Exit(EXIT_REFUSED if _refused(exc) else EXIT_TOOL) from None
    if as_json:
        out.print_json(json.dumps(result.to_json()))
    else:
        _print_table(out, result)


def _landscape(settings: NootsSettings, *, explicit_topology: bool) -> tuple[Topology, bool]:
    """The topology and TLS of the landscape ``noots up`` runs for the data dir (its run file),
    else of the topology file and ``NOOTS_TLS``; an explicit ``--topology`` wins."""
    from noots.supervisor import running_landscape
    from noots.topology import load_topology

    info = running_landscape(settings.data_dir.resolve())
    if info is None:
        return settings.load_topology(), settings.tls
    if explicit_topology:
        return settings.load_topology(), info.tls
    return load_topology(Path(info.topology)), info.tls


def _refused(exc: NootsError) -> bool:
    """Refused by another party (or by our checks of its answer), not a failure of the tool:
    those errors name the component; configuration, argument and transport failures do not."""
    from consumers import TransportFailed
    from noots.errors import ConfigurationError

    if isinstance(exc, TransportFailed | ConfigurationError):
        return False
    return exc.component is not None


def _consumer(topology: Topology, wanted: str | None) -> str:
    from noots.errors import ConfigurationError

    ids = [c.participant_id for c in topology.consumers]
    if wanted is None:
        for spec in topology.consumers:
            if spec.kind == DEFAULT_KIND:
                return spec.participant_id
        if not ids:
            raise ConfigurationError("the topology has no data consumer to act as")
        return ids[0]
    if wanted not in ids:
        raise ConfigurationError(
            f"{wanted!r} is not a data consumer of this landscape (wrong --as?); "
            f"consumers: {', '.join(ids)}"
        )
    return wanted


def _defaults(
    topology: Topology, consumer: str, evidence: str, purpose: str | None, region: str | None
) -> tuple[str, str | None]:
    """The purpose of the consumer's only matrix row, and its own region for regional types."""
    from consumers._platform import matrix_rows
    from noots.errors import ConfigurationError

    spec = topology.evidence_type(evidence)
    if region is None and spec.regional:
        region = topology.consumer(consumer).region
    if purpose is None:
        purposes = sorted({row.purpose for row in matrix_rows(topology, consumer, evidence)})
        if len(purposes) != 1:
            raise ConfigurationError(
                f"give --purpose: {consumer} has {len(purposes)} authorised purposes for "
                f"{evidence}" + (f" ({', '.join(purposes)})" if purposes else "")
            )
        purpose = purposes[0]
    return purpose, region


def _run(
    topology: Topology,
    consumer: str,
    evidence: str,
    *,
    purpose: str,
    idnr: str | None,
    person: str | None,
    born: str | None,
    company: str | None,
    register_number: str | None,
    region: str | None,
    legal_basis: str | None,
    settings: NootsSettings,
    tls: bool,
) -> EvidenceResult:
    from datetime import timedelta

    import httpx

    from consumers import Client, Endpoints, parse_date, parse_person
    from consumers import company as company_subject
    from noots.bootstrap import LandscapePaths
    from noots.clock import SystemClock
    from noots.errors import ConfigurationError, InvalidInput
    from noots.participant import load_participant
    from noots.pki import UnknownParticipant
    from noots.protocol import open_protocol_log
    from noots.tls import TlsFiles, client_context

    if (idnr, person, company) == (None, None, None):
        raise InvalidInput("name the subject: --idnr, --person or --company")
    paths = LandscapePaths(settings.data_dir)
    clock = SystemClock(timedelta(seconds=settings.clock_offset_seconds))
    try:
        participant = load_participant(paths.pki_dir, consumer, clock=clock)
    except (UnknownParticipant, FileNotFoundError):
        raise ConfigurationError(
            f"no credential for {consumer} under {paths.pki_dir} (start the landscape once with "
            "`noots up`, or pass the right --data-dir)"
        ) from None
    subject: dict[str, Any] = {}
    if idnr is not None:
        subject["idnr"] = idnr
    if person is not None:
        subject["person"] = parse_person(person)
    if born is not None:
        subject["born"] = parse_date(born)
    if company is not None:
        subject["company"] = company_subject(company, register_number or "")
    # With TLS the TLS client is the acting consumer: the hub compares it with the signer.
    transport = None
    if tls:
        files = TlsFiles.for_participant(paths.pki_dir, consumer)
        transport = httpx.AsyncHTTPTransport(verify=client_context(files), trust_env=False)
    log = open_protocol_log(
        settings.protocol_log_target(consumer, topology), party=consumer, clock=clock
    )
    try:
        with Client(
            participant,
            Endpoints.from_topology(topology, tls=tls),
            topology,
            transport=transport,
            protocol_log=log,
            test=not settings.strict,
        ) as client:
            return client.fetch_evidence(
                evidence, purpose=purpose, region=region, legal_basis=legal_basis, **subject
            )
    finally:
        log.close()


def _print_table(console: Any, result: EvidenceResult) -> None:
    from rich.table import Table

    table = Table(
        title=f"{result.evidence_type} — {result.route.provider_name}",
        caption=(
            f"request urn:uuid:{result.request_id} · {result.attempts} envelope(s) · "
            f"signed by {result.route.provider} · verified"
        ),
    )
    table.add_column("Feld", style="bold")
    table.add_column("Wert")
    for row in result.rows():
        table.add_row(row.label, row.value)
    console.print(table)


def _failure_json(exc: Exception, explanation: Explanation) -> dict[str, Any]:
    from noots.errors import NootsError

    assert isinstance(exc, NootsError)
    return {
        "ok": False,
        "code": exc.code.value,
        "title": exc.code.title,
        "error": type(exc).__name__,
        "component": exc.component,
        "message": exc.message,
        "cause": explanation.cause,
        "fix": explanation.fix,
    }
