"""``noots register list``: the registers of the landscape.

A register runs alone with ``noots serve`` (``noots serve kba``, ``noots serve melderegister
--region 08118079``, or its participant id). ``noots register run`` did the same and remains a
hidden alias of ``noots serve`` that says so on stderr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from noots.cli._app import app
from noots.cli._options import DataDirOption, TlsOption, TopologyOption
from noots.cli._up import cli_overrides

if TYPE_CHECKING:
    from noots.topology import RegisterSpec, Topology

register_app = typer.Typer(
    name="register",
    help="The registers (data providers) of the landscape; noots serve runs one alone.",
    no_args_is_help=True,
)
app.add_typer(register_app)

#: The register kinds ``noots serve`` accepts in place of a participant id.
REGISTER_KINDS = ("melderegister", "personenstandsregister", "kba", "handelsregister")


def resolve_register(topology: Topology, name: str, region: str | None) -> RegisterSpec:
    """The register ``name`` means: a participant id, or a kind (with ``region`` for one of
    several Melderegister). Raises ``ConfigurationError`` naming the choices."""
    from noots.errors import ConfigurationError

    for spec in topology.registers:
        if spec.participant_id == name:
            if region is not None and spec.region != region:
                raise ConfigurationError(f"{name} serves region {spec.region}, not {region}")
            return spec
    if name not in REGISTER_KINDS:
        known = ", ".join([*REGISTER_KINDS, *(r.participant_id for r in topology.registers)])
        raise ConfigurationError(f"no register {name!r}; choose one of: {known}")
    matches = [
        r for r in topology.registers if r.kind == name and (region is None or r.region == region)
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigurationError(f"no {name} for region {region} in the topology")
    regions = ", ".join(f"{r.region} ({r.name})" for r in matches)
    raise ConfigurationError(
        f"{len(matches)} registers of kind {name}: pass --region, one of {regions}"
    )


@register_app.command("run", hidden=True)
def run(
    name: Annotated[str, typer.Argument(help="A register kind or participant id.")],
    region: Annotated[str | None, typer.Option("--region", help="AGS (Melderegister).")] = None,
    port: Annotated[int | None, typer.Option("--port", min=1, max=65535, help="Port.")] = None,
    host: Annotated[str | None, typer.Option("--host", help="Listen address.")] = None,
    data_dir: DataDirOption = None,
    topology: TopologyOption = None,
    tls: TlsOption = None,
) -> None:
    """Old name of noots serve for a register."""
    from noots.cli._up import serve

    typer.echo("note: noots register run is deprecated, use noots serve", err=True)
    serve(
        name,
        data_dir=data_dir,
        topology=topology,
        tls=tls,
        region=region,
        host=host,
        port=port,
        supervisor_pid=None,
        grace_period=10.0,
    )


@register_app.command("list")
def list_registers(topology: TopologyOption = None) -> None:
    """The registers of the landscape: participant id, kind, region, address, evidence types."""
    from rich.table import Table

    from noots.cli._console import console
    from noots.errors import NootsError
    from noots.settings import load_settings

    try:
        landscape = load_settings(**cli_overrides(None, topology)).load_topology()
    except NootsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    table = Table("participant id", "kind", "region", "address", "evidence types", "name")
    for spec in landscape.registers:
        table.add_row(
            spec.participant_id,
            spec.kind,
            spec.region or "",
            landscape.base_url(spec.participant_id),
            ", ".join(spec.evidence_types),
            spec.name,
        )
    console().print(table)
