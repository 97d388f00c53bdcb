"""``noots protocol``: verify and show a protocol log (§ 9 IDNrG).

Both commands only read: the store is opened read-only (SQLite ``mode=ro``, PostgreSQL
read-only transactions) and nothing is created or changed. Exit codes (noots.cli._exit): 0 done
(``verify``: the chain is intact); 2 ``verify`` found the chain broken; 64 the store named by
``--db`` is missing, cannot be opened or is not a noots protocol log (a usage error: the wrong
file was named).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from noots.cli._app import app
from noots.cli._exit import CHECK_FAILED, USAGE

if TYPE_CHECKING:
    from noots.protocol import ProtocolEntry, ProtocolLog

protocol_app = typer.Typer(
    help="The protocol log of transfers (hash-chained, § 9 IDNrG).", no_args_is_help=True
)
app.add_typer(protocol_app, name="protocol")

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        metavar="FILE|URL",
        help="SQLite file of the log, or a postgresql:// URL (opened read-only).",
    ),
]

#: The store is missing, cannot be opened, or is not a protocol log (verify: 2 = chain broken).
EXIT_NOT_A_LOG = USAGE
EXIT_CHAIN_BROKEN = CHECK_FAILED


def _open(target: str) -> ProtocolLog:
    from noots.errors import NotAProtocolLog
    from noots.protocol import open_protocol_log_read_only

    try:
        return open_protocol_log_read_only(target, party="noots-cli")
    except NotAProtocolLog as error:
        # A typo or a wrong file must never look like a clean chain of 0 entries.
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(EXIT_NOT_A_LOG) from None


def _describe(entry: ProtocolEntry) -> str:
    return (
        f"entry {entry.sequence}: {entry.recorded_at.isoformat()} {entry.party}"
        f" {entry.consumer} -> {entry.provider} {entry.evidence_type} ({entry.purpose})"
        f" message {entry.message_id} {entry.outcome}"
    )


@protocol_app.command("verify")
def verify(db: DbOption) -> None:
    """Check the hash chain: exit 0 with the entry count, 2 naming the first bad entry, 64 when
    the store is missing or not a protocol log. Read-only: changes nothing."""
    from noots.errors import ChainBroken

    with _open(db) as log:
        try:
            count = log.verify()
        except ChainBroken as error:
            typer.echo(f"chain broken: {error.message}")
            bad = [e for e in _readable_entries(log) if e.sequence == error.sequence]
            if bad:
                typer.echo(_describe(bad[0]))
            raise typer.Exit(EXIT_CHAIN_BROKEN) from None
    typer.echo(f"valid: {count} entries")


def _readable_entries(log: ProtocolLog) -> list[ProtocolEntry]:
    try:
        return log.entries()
    except ValueError:  # a tampered time that no longer parses
        return []


@protocol_app.command("show")
def show(
    db: DbOption,
    idnr: Annotated[
        str | None,
        typer.Option("--idnr", metavar="IDNR", help="Only the entries about this IDNr."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the logged transfers, oldest first (read-only; exit 64 when the store is missing or
    not a protocol log)."""
    with _open(db) as log:
        entries = log.entries(idnr=idnr)
    if as_json:
        rows = [{**asdict(e), "recorded_at": e.recorded_at.isoformat()} for e in entries]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from rich.table import Table

    from noots.cli._console import console

    table = Table(title=f"{len(entries)} logged transfers")
    for column in (
        "#",
        "time (UTC)",
        "party",
        "consumer",
        "provider",
        "evidence type",
        "purpose",
        "IDNr",
        "message id",
        "outcome",
    ):
        table.add_column(column, overflow="fold")
    for e in entries:
        table.add_row(
            str(e.sequence),
            e.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
            e.party,
            e.consumer,
            e.provider,
            e.evidence_type,
            e.purpose,
            e.idnr or "",
            e.message_id,
            e.outcome,
        )
    # Piped output has no terminal width; do not squeeze ten columns into 80.
    console().print(table)
