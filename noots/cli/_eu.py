"""``noots eu``: act as an EU member state towards the Intermediäre Plattform.

``noots eu send-query FILE.xml --ip-url URL`` sends the EDM ``QueryRequest`` in FILE to the
IP as an EU evidence requester's access point would (a signed ebMS3 user message over the
simulated eDelivery) and prints the answer. Exit 0 when evidence came back, 2 for an
``rs:Exception`` (the preview-required case included: its location is printed), 1 when it
could not run (bad file, no credential, IP unreachable, an answer that does not verify).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from noots.cli._app import app

eu_app = typer.Typer(help="Act as an EU member state towards the Intermediäre Plattform.")
app.add_typer(eu_app, name="eu")


@eu_app.command("send-query")
def send_query(
    file: Annotated[Path, typer.Argument(help="An EDM QueryRequest (XML).", exists=False)],
    ip_url: Annotated[
        str, typer.Option("--ip-url", help="Base URL of the IP, e.g. http://127.0.0.1:8470.")
    ],
    pki_dir: Annotated[
        Path | None,
        typer.Option("--pki-dir", help="The landscape's PKI (default: <data dir>/pki)."),
    ] = None,
    participant: Annotated[
        str, typer.Option("--as", help="The sending access point's participant id.")
    ] = "eu-gw-fr",
    access_point: Annotated[
        str, typer.Option("--access-point", help="The IP's access point id.")
    ] = "eu-gw-de",
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory to write the evidence documents to.")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds.")] = 30.0,
) -> None:
    """Send FILE to the IP and print the answer (exit 0 evidence, 2 rs:Exception, 1 failure)."""
    import asyncio

    from noots.errors import NootsError

    try:
        code = asyncio.run(_send(file, ip_url, pki_dir, participant, access_point, out, timeout))
    except NootsError as exc:
        typer.echo(f"could not send: {exc.code.value} {exc.message}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"could not send: {exc}", err=True)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


async def _send(
    file: Path,
    ip_url: str,
    pki_dir: Path | None,
    participant_id: str,
    access_point: str,
    out: Path | None,
    timeout: float,
) -> int:
    import httpx

    from intermediary.eu.gateway import Gateway
    from noots import xml
    from noots.clock import SystemClock
    from noots.errors import MalformedMessage
    from noots.eu import edm
    from noots.participant import load_participant
    from noots.settings import NootsSettings

    request = edm.parse(xml.parse(file.read_bytes()))
    if not isinstance(request, edm.QueryRequest):
        raise MalformedMessage(f"{file} holds no QueryRequest")
    directory = pki_dir or NootsSettings().data_dir / "pki"
    try:
        sender = load_participant(directory, participant_id, clock=SystemClock())
    except (OSError, KeyError, ValueError) as exc:
        typer.echo(
            f"could not load the credential of {participant_id} from {directory}: {exc}", err=True
        )
        return 1
    async with httpx.AsyncClient() as client:
        gateway = Gateway(
            sender,
            {access_point: ip_url.rstrip("/") + "/ip/v1"},
            client=client,
            timeout=timeout,
        )
        answer = await gateway.ask(
            request, access_point=access_point, final_recipient=request.provider
        )
    if isinstance(answer, edm.QueryErrorResponse):
        error = answer.error
        kind = error.exception_type[1] if error.exception_type else "Exception"
        typer.echo(f"rs:Exception {answer.code.value} ({kind}): {error.message}")
        if error.detail:
            typer.echo(f"  detail: {error.detail}")
        if error.preview_location:
            typer.echo(f"  preview required at: {error.preview_location}")
        return 2
    if answer.available_at is not None:
        typer.echo(f"evidence announced for {answer.available_at.isoformat()}")
        return 2
    typer.echo(f"QueryResponse {answer.response_id}: {len(answer.evidences)} evidence(s)")
    for index, evidence in enumerate(answer.evidences, start=1):
        typer.echo(
            f"  {index}. {evidence.title} ({evidence.format}, {len(evidence.document)} bytes), "
            f"issued by {evidence.issuing_authority.name} on {evidence.issuing_date.isoformat()}"
        )
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            suffix = ".pdf" if evidence.format == "application/pdf" else ".xml"
            path = out / f"evidence-{index}{suffix}"
            path.write_bytes(evidence.document)
            typer.echo(f"     written to {path}")
    return 0
