"""``noots eu``: act as an EU member state towards the Intermediäre Plattform.

``noots eu send-query FILE.xml`` sends the EDM ``QueryRequest`` in FILE to the IP of the
running landscape (``noots up`` for the data dir; else the topology's address; ``--ip-url``
for another) as an EU evidence requester's access point would (a signed ebMS3 user message
over the simulated eDelivery, as the landscape's French requester ``eu-gw-fr`` by default)
and prints the answer. Exit 0 when evidence came back, 2 for an
``rs:Exception`` (the preview-required case included: its location is printed), 1 when it
could not run (bad file, no credential, IP unreachable, an answer that does not verify).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from noots.cli._app import app
from noots.cli._exit import CHECK_FAILED, OK, TOOL_FAILED
from noots.cli._options import DataDirOption, TopologyOption

# The simulated member states' access points (noots.intermediary.eu.catalogue; not imported, so
# the CLI does not load the EU side before it is needed).
FRENCH_GATEWAY = "eu-gw-fr"
GERMAN_GATEWAY = "eu-gw-de"

eu_app = typer.Typer(help="Act as an EU member state towards the Intermediäre Plattform.")
app.add_typer(eu_app, name="eu")


@eu_app.command("send-query")
def send_query(
    file: Annotated[Path, typer.Argument(help="An EDM QueryRequest (XML).", exists=False)],
    ip_url: Annotated[
        str | None,
        typer.Option(
            "--ip-url",
            help="Base URL of the IP (default: the running landscape's IP, or the topology's).",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    topology: TopologyOption = None,
    pki_dir: Annotated[
        Path | None,
        typer.Option("--pki-dir", help="The landscape's PKI (default: <data dir>/pki)."),
    ] = None,
    participant: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="The sending access point's participant id (default: the landscape's EU "
            "requester, eu-gw-fr).",
        ),
    ] = None,
    access_point: Annotated[
        str | None,
        typer.Option("--access-point", help="The IP's access point id (default: eu-gw-de)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory to write the evidence documents to.")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds.")] = 30.0,
) -> None:
    """Send FILE to the IP and print the answer (exit 0 evidence, 2 rs:Exception, 1 failure)."""
    import asyncio

    from noots.errors import NootsError

    try:
        target = _target(ip_url, data_dir, topology, pki_dir, participant, access_point)
        code = asyncio.run(_send(file, target, out, timeout))
    except NootsError as exc:
        typer.echo(f"could not send: {exc.code.value} {exc.message}", err=True)
        raise typer.Exit(TOOL_FAILED) from None
    except OSError as exc:
        typer.echo(f"could not send: {exc}", err=True)
        raise typer.Exit(TOOL_FAILED) from None
    raise typer.Exit(code)


@dataclass(frozen=True)
class _Target:
    """Where the query goes and as whom."""

    ip_url: str
    pki_dir: Path
    participant: str
    access_point: str
    tls: bool = False


def _target(
    ip_url: str | None,
    data_dir: Path | None,
    topology: Path | None,
    pki_dir: Path | None,
    participant: str | None,
    access_point: str | None,
) -> _Target:
    """The IP of the running landscape (or the topology's) unless ``--ip-url`` names one."""
    from noots.consumers import find_landscape
    from noots.errors import ConfigurationError

    landscape = find_landscape(data_dir, topology) if ip_url is None or pki_dir is None else None
    if ip_url is None:
        assert landscape is not None
        ip, eu = landscape.topology.intermediary_platform, landscape.topology.eu
        if ip is None or eu is None:
            raise ConfigurationError(
                "the landscape has no Intermediäre Plattform (no `intermediary_platform` and "
                "`eu` sections in its topology): give --ip-url"
            )
        return _Target(
            landscape.topology.base_url(ip.participant_id, tls=landscape.tls),
            pki_dir or landscape.pki_dir,
            participant or eu.requester.participant_id,
            access_point or ip.access_point,
            landscape.tls,
        )
    return _Target(
        ip_url,
        pki_dir or (landscape.pki_dir if landscape is not None else Path("noots-data/pki")),
        participant or FRENCH_GATEWAY,
        access_point or GERMAN_GATEWAY,
        ip_url.startswith("https://"),
    )


async def _send(file: Path, target: _Target, out: Path | None, timeout: float) -> int:
    import httpx

    from noots import xml
    from noots.clock import SystemClock
    from noots.errors import MalformedMessage
    from noots.eu import edm
    from noots.intermediary.eu.gateway import Gateway
    from noots.participant import load_participant

    request = edm.parse(xml.parse(file.read_bytes()))
    if not isinstance(request, edm.QueryRequest):
        raise MalformedMessage(f"{file} holds no QueryRequest")
    directory = target.pki_dir
    try:
        sender = load_participant(directory, target.participant, clock=SystemClock())
    except (OSError, KeyError, ValueError) as exc:
        typer.echo(
            f"could not send: no credential of {target.participant} in {directory}: {exc}",
            err=True,
        )
        return TOOL_FAILED
    verify: Any = True
    if target.tls:
        from noots.tls import TlsFiles, client_context

        verify = client_context(TlsFiles.for_participant(directory, target.participant))
    async with httpx.AsyncClient(verify=verify, trust_env=False) as client:
        gateway = Gateway(
            sender,
            {target.access_point: target.ip_url.rstrip("/") + "/ip/v1"},
            client=client,
            timeout=timeout,
        )
        answer = await gateway.ask(
            request, access_point=target.access_point, final_recipient=request.provider
        )
    if isinstance(answer, edm.QueryErrorResponse):
        error = answer.error
        kind = error.exception_type[1] if error.exception_type else "Exception"
        typer.echo(f"rs:Exception {answer.code.value} ({kind}): {error.message}")
        if error.detail:
            typer.echo(f"  detail: {error.detail}")
        if error.preview_location:
            typer.echo(f"  preview required at: {error.preview_location}")
        return CHECK_FAILED
    if answer.available_at is not None:
        typer.echo(f"evidence announced for {answer.available_at.isoformat()}")
        return CHECK_FAILED
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
    return OK
