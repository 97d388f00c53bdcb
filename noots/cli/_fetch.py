"""``noots fetch``: one evidence for one person, through a running landscape, as a consumer.

The online service connects through its own SAK (the consumer API), as every online service
does. Exit codes (noots.cli._exit): 0 the evidence was delivered and checked (with
``--no-wait``: or announced for later); 1 the tool could not do its job (landscape not running,
data dir or participant unusable); 2 the exchange was refused (by the VS, a SAK, the provider,
or the client's own checks of the answer); 64 a usage error (bad option or value, no subject,
a --person that is none of the accepted forms).

Evidence announced for later (``ResponseAvailableDateTime``) is awaited with progress on stderr
(a spinner on a terminal, one line per announcement otherwise); ``--no-wait`` prints the request
id and when the evidence will be available, and exits 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from noots.cli._app import app
from noots.cli._exit import CHECK_FAILED, OK, TOOL_FAILED, usage_error
from noots.cli._options import DataDirOption
from noots.cli._person import PERSON_HELP, PersonArgument, parse_person_option

if TYPE_CHECKING:
    from rich.console import Console

    from noots.consumers import EvidenceResult, Explanation, PendingEvidence
    from noots.errors import EvidencePending, NootsError
    from noots.topology import Topology

EXIT_OK = OK
EXIT_TOOL = TOOL_FAILED
EXIT_REFUSED = CHECK_FAILED
DEFAULT_KIND = "bewohnerparkausweis"


@app.command("fetch")
def fetch(
    evidence: Annotated[
        str,
        typer.Option(
            "--evidence", "-e", metavar="TYPE", help="Evidence type, e.g. Meldebescheinigung."
        ),
    ],
    idnr: Annotated[
        str | None,
        typer.Option("--idnr", metavar="IDNR", help="The person's IDNr (11 digits)."),
    ] = None,
    person: Annotated[
        str | None, typer.Option("--person", metavar="PERSON", help=PERSON_HELP)
    ] = None,
    born: Annotated[
        str | None,
        typer.Option(
            "--born",
            metavar="DATE",
            help="Date of birth with --idnr (the IDA supplies the rest).",
        ),
    ] = None,
    company: Annotated[
        str | None,
        typer.Option("--company", metavar="NAME", help="Company name (legal-person evidence)."),
    ] = None,
    register_number: Annotated[
        str | None,
        typer.Option(
            "--register-number", metavar="NUMBER", help="e.g. 'HRB 12345' (with --company)."
        ),
    ] = None,
    purpose: Annotated[
        str | None,
        typer.Option(
            "--purpose",
            metavar="TEXT",
            help="Declared purpose (default: the matrix row, if only one).",
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", metavar="AGS", help="AGS for regional evidence types."),
    ] = None,
    legal_basis: Annotated[
        str | None,
        typer.Option(
            "--legal-basis",
            metavar="TEXT",
            help="Legal basis to declare (default: the authorisation matrix row's).",
        ),
    ] = None,
    as_participant: Annotated[
        str | None,
        typer.Option(
            "--as",
            metavar="ID",
            help="Act as this online service (default: the Bewohnerparkausweis service).",
        ),
    ] = None,
    no_wait: Annotated[
        bool,
        typer.Option(
            "--no-wait",
            help="Do not wait for evidence announced for later: print the request id and when "
            "it will be available, exit 0.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    data_dir: DataDirOption = None,
    topology_file: Annotated[
        Path | None,
        typer.Option(
            "--topology",
            metavar="FILE",
            help="Topology file (default: the running landscape's, else NOOTS_TOPOLOGY).",
        ),
    ] = None,
) -> None:
    """Fetch one evidence for one person through the online service's SAK, checked end to end.

    Finds the landscape noots up runs for the data dir (its ports, HTTP or mutual TLS) from
    its run file; without one, the topology file and NOOTS_TLS say where to go. Evidence
    announced for later is awaited (up to 2 minutes) with progress on stderr, or with
    --no-wait left to be collected later: the request id says which.
    """
    from noots.cli._console import console
    from noots.consumers import ExchangeContext, explain, find_landscape
    from noots.errors import EvidencePending, NootsError

    subject = _subject(idnr, person, company)
    extra = _extra(born, company, register_number)
    if topology_file is not None and not topology_file.is_file():
        raise usage_error(f"{topology_file}: no such file", option="--topology")
    out = console()
    err = console(stderr=True)
    try:
        landscape = find_landscape(data_dir, topology_file)
        topology = landscape.topology
        consumer = _consumer(topology, as_participant)
        purpose, region = _defaults(topology, consumer, evidence, purpose, region)
    except NootsError as exc:
        err.print(f"[red]error[/red] {exc.message}")
        raise typer.Exit(EXIT_TOOL) from None
    context = ExchangeContext(consumer, evidence, purpose, by_idnr=subject.idnr is not None)
    progress = _Progress(err)
    try:
        result = _run(
            topology,
            consumer,
            evidence,
            purpose=purpose,
            subject=subject,
            extra=extra,
            region=region,
            legal_basis=legal_basis,
            data_dir=data_dir,
            topology_file=topology_file,
            no_wait=no_wait,
            on_pending=progress.pending,
        )
    except EvidencePending as exc:
        progress.stop()
        if not no_wait:
            raise _refusal(exc, explain(exc, context), as_json, out, err) from None
        _print_pending(out, exc, evidence, as_json)
        raise typer.Exit(EXIT_OK) from None
    except NootsError as exc:
        progress.stop()
        raise _refusal(exc, explain(exc, context), as_json, out, err) from None
    progress.stop()
    if as_json:
        out.print_json(json.dumps(result.to_json()))
    else:
        _print_table(out, result)


def _refusal(
    exc: NootsError, explanation: Explanation, as_json: bool, out: Console, err: Console
) -> typer.Exit:
    """Print a refusal (or a tool failure) with its explanation; the exit to raise."""
    if as_json:
        out.print_json(json.dumps(_failure_json(exc, explanation)))
    elif not _refused(exc):
        # The tool could not ask (no credential, no landscape): no component refused anything,
        # so no EDM code.
        err.print(f"[red]error[/red] {exc.message}")
        err.print(f"likely cause: {explanation.cause}")
        err.print(f"fix: {explanation.fix}")
    else:
        where = f" ({exc.component})" if exc.component else ""
        err.print(f"[red]{explanation.code}[/red] {_title(exc)}{where}: {exc.message}")
        err.print(f"likely cause: {explanation.cause}")
        err.print(f"fix: {explanation.fix}")
    return typer.Exit(EXIT_REFUSED if _refused(exc) else EXIT_TOOL)


class _Progress:
    """Shows the wait for evidence announced for later on stderr: a spinner on a terminal,
    one plain line per announcement in a file or pipe (nothing is printed before one)."""

    def __init__(self, err: Console) -> None:
        self._err = err
        self._status: Any = None

    def pending(self, pending: PendingEvidence) -> None:
        from noots.german import berlin_time

        text = (
            f"{pending.evidence_type} from {pending.provider} announced for "
            f"{berlin_time(pending.available_at, seconds=True)}: waiting "
            f"{pending.wait_seconds:.0f} s, then collecting request urn:uuid:{pending.request_id}"
        )
        if not self._err.is_terminal:
            self._err.print(text, markup=False, highlight=False, soft_wrap=True)
            return
        if self._status is None:
            self._status = self._err.status(text)
            self._status.start()
        else:
            self._status.update(text)

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def _print_pending(out: Console, pending: EvidencePending, evidence: str, as_json: bool) -> None:
    from noots.german import berlin_time

    if as_json:
        out.print_json(
            json.dumps(
                {
                    "ok": True,
                    "pending": True,
                    "evidence_type": evidence,
                    "provider": pending.component,
                    "request_id": f"urn:uuid:{pending.request_id}",
                    "available_at": pending.available_at.isoformat(),
                }
            )
        )
        return
    out.print(
        f"pending: {evidence} from {pending.component} is announced for "
        f"{berlin_time(pending.available_at, seconds=True)} "
        f"({pending.available_at.isoformat()}); request urn:uuid:{pending.request_id}",
        markup=False,
        highlight=False,
    )


def _subject(idnr: str | None, person: str | None, company: str | None) -> PersonArgument:
    """The natural person the options name (IDNr and/or basic data); usage errors say why."""
    if (idnr, person, company) == (None, None, None):
        raise usage_error("name the subject: --idnr, --person or --company")
    named = parse_person_option(person) if person is not None else PersonArgument(None, None)
    if idnr is not None and named.idnr is not None and idnr != named.idnr:
        raise usage_error(
            f"--person names the test person with IDNr {named.idnr}, --idnr says {idnr}",
            option="--idnr",
        )
    return PersonArgument(idnr or named.idnr, named.basic, named.identity)


def _extra(born: str | None, company: str | None, register_number: str | None) -> dict[str, Any]:
    """--born and --company as the client takes them; usage errors for values it cannot read."""
    from noots.consumers import company as company_subject
    from noots.consumers import parse_date
    from noots.errors import InvalidInput

    extra: dict[str, Any] = {}
    try:
        if born is not None:
            extra["born"] = parse_date(born)
    except InvalidInput as exc:
        raise usage_error(exc.message, option="--born") from None
    try:
        if company is not None:
            extra["company"] = company_subject(company, register_number or "")
    except InvalidInput as exc:
        raise usage_error(exc.message, option="--register-number") from None
    return extra


def _refused(exc: NootsError) -> bool:
    """Refused by another party (or by our checks of its answer), not a failure of the tool:
    those errors name the component; configuration, argument and transport failures do not."""
    from noots.consumers import TransportFailed
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
    from noots.consumers._matrix import matrix_rows
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
    subject: PersonArgument,
    extra: dict[str, Any],
    region: str | None,
    legal_basis: str | None,
    data_dir: Path | None,
    topology_file: Path | None,
    no_wait: bool,
    on_pending: Any,
) -> EvidenceResult:
    from noots.consumers import Client, RetryPolicy

    named: dict[str, Any] = dict(extra)
    if subject.idnr is not None:
        named["idnr"] = subject.idnr
    if subject.basic is not None:
        named["person"] = subject.basic
    options: dict[str, Any] = {"on_pending": on_pending}
    if no_wait:
        options["retry"] = RetryPolicy(max_collections=0)
    # The same options the defaults were found with: the client finds the same landscape.
    with Client.from_landscape(
        consumer, data_dir=data_dir, topology=topology_file, **options
    ) as client:
        return client.fetch_evidence(
            evidence, purpose=purpose, region=region, legal_basis=legal_basis, **named
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
    from noots.consumers import UnlistedCodeError

    if isinstance(exc, UnlistedCodeError):
        return "error code outside the EDM list"
    return exc.code.title
