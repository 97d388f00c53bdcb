"""``noots fetch``: one evidence for one person, through a running landscape, as a consumer.

The online service connects through its own SAK (the consumer API), as every online service
does. Exit codes: 0 the evidence was delivered and checked; 1 the tool could not do its job
(landscape not running, data dir or participant unusable, bad arguments); 2 the exchange was
refused (by the VS, a SAK, the provider, or the client's own checks of the answer).
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
    """Fetch one evidence for one person through the online service's SAK, checked end to end.

    Finds the landscape `noots up` runs for the data dir (its ports, HTTP or mutual TLS) from
    its run file; without one, the topology file and NOOTS_TLS say where to go.
    """
    from rich.console import Console

    from consumers import ExchangeContext, explain, find_landscape
    from noots.errors import NootsError

    out = Console(soft_wrap=True)
    err = Console(stderr=True, soft_wrap=True)
    try:
        landscape = find_landscape(data_dir, topology_file)
        topology = landscape.topology
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
            data_dir=data_dir,
            topology_file=topology_file,
        )
    except NootsError as exc:
        explanation = explain(exc, context)
        if as_json:
            out.print_json(json.dumps(_failure_json(exc, explanation)))
        else:
            where = f" ({exc.component})" if exc.component else ""
            title = _title(exc)
            err.print(f"[red]{explanation.code}[/red] {title}{where}: {exc.message}")
            err.print(f"likely cause: {explanation.cause}")
            err.print(f"fix: {explanation.fix}")
        raise typer.Exit(EXIT_REFUSED if _refused(exc) else EXIT_TOOL) from None
    if as_json:
        out.print_json(json.dumps(result.to_json()))
    else:
        _print_table(out, result)


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
    from consumers._matrix import matrix_rows
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
    data_dir: Path | None,
    topology_file: Path | None,
) -> EvidenceResult:
    from consumers import Client, parse_date, parse_person
    from consumers import company as company_subject
    from noots.errors import InvalidInput

    if (idnr, person, company) == (None, None, None):
        raise InvalidInput("name the subject: --idnr, --person or --company")
    subject: dict[str, Any] = {}
    if idnr is not None:
        subject["idnr"] = idnr
    if person is not None:
        subject["person"] = parse_person(person)
    if born is not None:
        subject["born"] = parse_date(born)
    if company is not None:
        subject["company"] = company_subject(company, register_number or "")
    # The same options the defaults were found with: the client finds the same landscape.
    with Client.from_landscape(consumer, data_dir=data_dir, topology=topology_file) as client:
        return client.fetch_evidence(
            evidence, purpose=purpose, region=region, legal_basis=legal_basis, **subject
        )


def _print_table(console: Any, result: EvidenceResult) -> None:
    from rich.table import Table

    table = Table(
        title=f"{result.evidence_type} — {result.route.provider_name}",
        caption=(
            f"request urn:uuid:{result.request_id} · {result.attempts} submission(s) · "
            f"from {result.route.provider} via the SAK · checked"
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
        "code": explanation.code,
        "title": _title(exc),
        "error": type(exc).__name__,
        "component": exc.component,
        "message": exc.message,
        "cause": explanation.cause,
        "fix": explanation.fix,
    }


def _title(exc: NootsError) -> str:
    """The title of the error's code (a code outside the EDM list has none of its own)."""
    from consumers import UnlistedCodeError

    if isinstance(exc, UnlistedCodeError):
        return "error code outside the EDM list"
    return exc.code.title
