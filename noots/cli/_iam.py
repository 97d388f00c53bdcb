"""``noots iam token``: an access token from the running landscape's IAM für Behörden.

For a register operator who wants to try their register (or an online-service developer their
SAK call) with curl::

    curl -H "Authorization: Bearer $(noots iam token --as 08118079-MELD-12.sak \\
        --audience 08118079-MELD-12)" http://127.0.0.1:8410/…

The command acts as the participant: it signs a client assertion with that participant's key
from the landscape's data directory and asks the IAM at the platform's address (the running
landscape's, from its run file; else the topology file and ``NOOTS_TLS``).

Exit codes: 0 the token is printed; 1 the tool could not do its job (landscape not running,
data dir or participant unusable); 2 the IAM refused (not registered for that audience,
certificate revoked, …).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from noots.cli._app import app

if TYPE_CHECKING:
    from noots.settings import NootsSettings
    from noots.topology import Topology

EXIT_OK = 0
EXIT_TOOL = 1
EXIT_REFUSED = 2

iam_app = typer.Typer(help="IAM für Behörden: access tokens from the running landscape.")
app.add_typer(iam_app, name="iam", no_args_is_help=True)


@iam_app.command("token")
def token(
    as_participant: Annotated[
        str,
        typer.Option("--as", help="Act as this participant (e.g. a SAK: <register id>.sak)."),
    ],
    audience: Annotated[
        str, typer.Option("--audience", "-a", help="The resource the token is for (its id).")
    ],
    as_header: Annotated[
        bool, typer.Option("--header", help="Print 'Authorization: Bearer …' instead.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the token with its claims as JSON.")
    ] = False,
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
    """Print an access token of the landscape's IAM for one participant and one audience."""
    import asyncio

    from noots.consumers import find_landscape
    from noots.errors import ConfigurationError, NootsError, UpstreamError

    try:
        landscape = find_landscape(data_dir, topology_file)
        settings, topology, tls = landscape.settings, landscape.topology, landscape.tls
        topology.participant(as_participant)
    except NootsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(EXIT_TOOL) from None
    try:
        value = asyncio.run(_token(settings, topology, tls, as_participant, audience))
    except (ConfigurationError, UpstreamError) as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(EXIT_TOOL) from None
    except NootsError as exc:
        typer.echo(f"{exc.code.value} refused: {exc.message}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    if as_json:
        import jwt

        claims = jwt.decode(value, options={"verify_signature": False})
        typer.echo(json.dumps({"access_token": value, "claims": claims}, indent=2))
    elif as_header:
        typer.echo(f"Authorization: Bearer {value}")
    else:
        typer.echo(value)


async def _token(
    settings: NootsSettings, topology: Topology, tls: bool, participant_id: str, audience: str
) -> str:
    import httpx

    from noots.access import AccessTokenSource
    from noots.errors import ConfigurationError
    from noots.participant import load_credential
    from noots.paths import LandscapePaths
    from noots.pki import UnknownParticipant
    from noots.tls import TlsFiles, client_context

    paths = LandscapePaths(settings.data_dir)
    try:
        credential = load_credential(paths.pki_dir, participant_id)
    except (UnknownParticipant, FileNotFoundError):
        raise ConfigurationError(
            f"no credential for {participant_id} under {paths.pki_dir} (start the landscape "
            "once with `noots up`, or pass the right --data-dir)"
        ) from None
    transport = None
    if tls:
        files = TlsFiles.for_participant(paths.pki_dir, participant_id)
        transport = httpx.AsyncHTTPTransport(verify=client_context(files), trust_env=False)
    async with AccessTokenSource(
        credential,
        iam_url=topology.base_url("platform", tls=tls),
        iam_id=topology.platform.iam_id,
        # The landscape's clock: a scenario that moved time moved it for the IAM too.
        clock=settings.clock(),
        transport=transport,
    ) as source:
        return await source.token(audience)
