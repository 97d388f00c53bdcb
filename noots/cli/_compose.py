"""``noots compose``: the docker compose file of a topology; ``noots provision``: the one-shot
that gives each container of a deployment its own keys (:mod:`noots.provision`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from noots.cli._app import app


@app.command("compose")
def compose(
    topology: Annotated[
        Path | None,
        typer.Option("--topology", help="Topology file (default: the project's landscape.yaml)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write here (e.g. docker-compose.yml), not stdout."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Only compare with --output; exit 1 if it differs.")
    ] = False,
    people: Annotated[
        int, typer.Option("--people", min=0, help="Population the bootstrap service seeds.")
    ] = 10_000,
    tls: Annotated[
        bool, typer.Option("--tls/--no-tls", help="Mutual TLS on every hop (the default).")
    ] = True,
) -> None:
    """Generate docker-compose.yml from the topology: one service per component."""
    from noots.compose import render_compose
    from noots.errors import NootsError
    from noots.topology import DEFAULT_TOPOLOGY_PATH, load_topology

    path = topology or DEFAULT_TOPOLOGY_PATH
    base = (output.parent if output is not None else Path.cwd()).resolve()
    relative = Path(os.path.relpath(path.resolve(), base)).as_posix()
    mount = relative if relative.startswith("../") else f"./{relative}"
    try:
        text = render_compose(load_topology(path), topology_file=mount, people=people, tls=tls)
    except NootsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    if check:
        if output is None:
            typer.echo("error: --check needs --output", err=True)
            raise typer.Exit(1)
        current = output.read_text(encoding="utf-8") if output.is_file() else None
        if current != text:
            typer.echo(f"{output} is not current: run `noots compose -o {output}`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{output} is current")
        return
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


def _owner(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    uid, _, gid = value.partition(":")
    try:
        return int(uid), int(gid or uid)
    except ValueError:
        raise typer.BadParameter("expected UID:GID, e.g. 10001:10001") from None


@app.command("provision")
def provision(
    ca: Annotated[
        Path, typer.Option("--ca", help="The certificate authority's directory (created if new).")
    ],
    volumes: Annotated[
        Path,
        typer.Option(
            "--volumes", help="Root of the workloads' volumes: trust/, keys/<w>/, data/<w>/."
        ),
    ],
    topology: Annotated[
        Path | None,
        typer.Option(
            "--topology", help="Topology file (default: NOOTS_TOPOLOGY or landscape.yaml)."
        ),
    ] = None,
    people: Annotated[
        int, typer.Option("--people", min=0, help="Size of the synthetic population (first run).")
    ] = 10_000,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the synthetic population.")
    ] = 20261122,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="UID:GID that gets the workloads' files (run as root)."),
    ] = None,
    population: Annotated[
        bool, typer.Option("--population/--no-population", help="Copy the population.")
    ] = True,
) -> None:
    """Give each container of a deployment its own keys, the trust anchor, the CRL and the
    population from the CA (what docker-compose.yml's one-shot `bootstrap` runs)."""
    from noots.errors import NootsError
    from noots.provision import provision as run_provision
    from noots.settings import load_settings

    owner_ids = _owner(owner)
    try:
        overrides = {"topology": topology} if topology is not None else {}
        landscape = load_settings(**overrides).load_topology()
        report = run_provision(
            ca,
            volumes,
            landscape,
            people=people,
            seed=seed,
            owner=owner_ids,
            population=population,
        )
    except NootsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"provisioned {volumes}: {len(report.issued)} certificates issued, "
        f"{len(set(report.reused))} reused"
        + (", population seeded" if report.population_seeded else "")
        + (
            f", population copied to {len(report.population_copied)}"
            if report.population_copied
            else ""
        )
    )


@app.command("k8s")
def k8s(
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the manifests.")],
    topology: Annotated[
        Path | None,
        typer.Option(
            "--topology", help="Topology file (default: NOOTS_TOPOLOGY or landscape.yaml)."
        ),
    ] = None,
    pki: Annotated[
        Path | None,
        typer.Option(
            "--pki",
            help="Keep the CA here, outside the cluster (created on first use), and fill the "
            "Secrets and the trust ConfigMap from it.",
        ),
    ] = None,
    namespace: Annotated[str, typer.Option("--namespace", help="Kubernetes namespace.")] = "noots",
    image: Annotated[
        str | None, typer.Option("--image", help="The noots image (default: noots:<version>).")
    ] = None,
    postgres_image: Annotated[
        str, typer.Option("--postgres-image", help="The PostgreSQL image.")
    ] = "postgres:15",
    people: Annotated[
        int, typer.Option("--people", min=0, help="Population each workload seeds.")
    ] = 10_000,
) -> None:
    """Generate Kubernetes manifests from the topology: central components apart from each
    organisation's participants, one Deployment and Service per component, keys in Secrets."""
    from noots.errors import NootsError
    from noots.k8s import IMAGE, render_manifests, summary, write_manifests
    from noots.settings import load_settings

    try:
        overrides = {"topology": topology} if topology is not None else {}
        settings = load_settings(**overrides)
        landscape = settings.load_topology()
        files = render_manifests(
            landscape,
            settings.topology.read_text(encoding="utf-8"),
            pki_root=pki,
            namespace=namespace,
            image=image or IMAGE,
            postgres_image=postgres_image,
            people=people,
        )
    except NootsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    written = write_manifests(files, output)
    typer.echo(f"wrote {len(written)} files below {output}:\n{summary(files)}")
    if pki is None:
        typer.echo(
            "no --pki: the manifests name Secrets and a trust ConfigMap they do not contain "
            "(docs/DEPLOYMENT.md)",
            err=True,
        )
