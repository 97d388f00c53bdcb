"""``noots register``: run one data provider alone, or list the registers of the landscape.

``noots register run kba`` starts the KBA's register on the topology's address; a
Melderegister needs its municipality: ``noots register run melderegister --region 08118079``
(or its participant id). The data directory must hold a PKI and a population (``noots
bootstrap``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from noots.cli._app import app
from noots.cli._up import cli_overrides
from noots.sak import PROVIDER_REQUESTS_PATH

if TYPE_CHECKING:
    from noots.topology import RegisterSpec, Topology

register_app = typer.Typer(
    name="register",
    help="Run a data provider (register) on its own, or list them.",
    no_args_is_help=True,
)
app.add_typer(register_app)

_KINDS = ("melderegister", "personenstandsregister", "kba", "handelsregister")


def resolve_register(topology: Topology, name: str, region: str | None) -> RegisterSpec:
    """The register ``name`` means: a participant id, or a kind (with ``region`` for one of
    several Melderegister). Raises ``ConfigurationError`` naming the choices."""
    from noots.errors import ConfigurationError

    for spec in topology.registers:
        if spec.participant_id == name:
            if region is not None and spec.region != region:
                raise ConfigurationError(f"{name} serves region {spec.region}, not {region}")
            return spec
    if name not in _KINDS:
        known = ", ".join([*_KINDS, *(r.participant_id for r in topology.registers)])
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


@register_app.command("run")
def run(
    name: Annotated[
        str,
        typer.Argument(
            help="melderegister, personenstandsregister, kba, handelsregister, or a participant id."
        ),
    ],
    region: Annotated[
        str | None, typer.Option("--region", help="AGS of the municipality (Melderegister).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535, help="Listen port instead of the topology's."),
    ] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Listen address instead of the topology's.")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="State directory (default: NOOTS_DATA_DIR)."),
    ] = None,
    topology: Annotated[
        Path | None,
        typer.Option("--topology", help="Topology file (default: NOOTS_TOPOLOGY)."),
    ] = None,
    tls: Annotated[
        bool | None, typer.Option("--tls/--no-tls", help="HTTPS with mutual TLS.")
    ] = None,
) -> None:
    """Run one register in the foreground until Ctrl-C."""
    from noots.errors import NootsError
    from noots.server import plan_server, run_server
    from noots.settings import load_settings

    overrides = cli_overrides(data_dir, topology, tls)
    try:
        settings = load_settings(**overrides)
        spec = resolve_register(settings.load_topology(), name, region)
        if not (settings.data_dir / "pki" / "participants" / spec.participant_id).is_dir():
            typer.echo(
                f"error: {settings.data_dir} holds no credential for {spec.participant_id}: "
                "run `noots bootstrap` with this --data-dir first",
                err=True,
            )
            raise typer.Exit(1)
        overrides.update(data_dir=settings.data_dir, topology=settings.topology)
        plan = plan_server(spec.participant_id, overrides, listen_host=host)
        if port is not None:
            plan = dataclasses.replace(
                plan, component=dataclasses.replace(plan.component, port=port)
            )
        scheme = "https" if plan.tls else "http"
        base = f"{scheme}://{plan.listen_host}:{plan.component.port}"
        if spec.sak.mode == "passive":
            landscape = settings.load_topology()
            sak = landscape.base_url(landscape.sak_id(spec.participant_id), tls=plan.tls)
            where = f"{base} (passive: fetches its requests from {sak}{PROVIDER_REQUESTS_PATH})"
        else:
            where = f"{base}{PROVIDER_REQUESTS_PATH} (push: its SAK posts each request there)"
        typer.echo(f"{spec.name} ({spec.participant_id}) on {where}")
        run_server(plan)
    except NootsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


@register_app.command("list")
def list_registers(
    topology: Annotated[
        Path | None,
        typer.Option("--topology", help="Topology file (default: NOOTS_TOPOLOGY)."),
    ] = None,
) -> None:
    """The registers of the landscape: participant id, kind, region, address, evidence types."""
    from rich.console import Console
    from rich.table import Table

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
    Console().print(table)
