"""``noots compose``: the docker compose file of a topology; ``noots provision``: the one-shot
that gives each container of a deployment its own keys (:mod:`noots.provision`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from noots.cli._app import app
from noots.cli._exit import usage_error
from noots.cli._options import DEFAULT_SEED, SeedOption, deprecated_option, renamed


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
    beside = base / "landscape.yaml"
    if topology is None and beside.is_file() and beside.samefile(path):
        # The checkout's landscape.yaml links to the packaged one: mount the file a reader
        # of the compose file sees beside it.
        path = beside
    # abspath, not resolve: a topology named through a link is mounted by that name.
    relative = Path(os.path.relpath(os.path.abspath(path), base)).as_posix()
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
            typer.echo(f"{output} is not current: run noots compose -o {output}", err=True)
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
    volumes: Annotated[
        Path,
        typer.Option(
            "--volumes",
            metavar="DIR",
            help="Root of the workloads' volumes: trust/, keys/<w>/, data/<w>/.",
        ),
    ],
    pki_dir: Annotated[
        Path | None,
        typer.Option(
            "--pki-dir",
            metavar="DIR",
            help="The certificate authority's PKI directory (created if new).",
        ),
    ] = None,
    old_ca: Annotated[Path | None, deprecated_option("--ca")] = None,
    topology: Annotated[
        Path | None,
        typer.Option(
            "--topology", help="Topology file (default: NOOTS_TOPOLOGY or landscape.yaml)."
        ),
    ] = None,
    people: Annotated[
        int, typer.Option("--people", min=0, help="Size of the synthetic population (first run).")
    ] = 10_000,
    seed: SeedOption = DEFAULT_SEED,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="UID:GID that gets the workloads' files (run as root)."),
    ] = None,
    population: Annotated[
        bool, typer.Option("--population/--no-population", help="Copy the population.")
    ] = True,
    revoke: Annotated[
        list[str] | None,
        typer.Option(
            "--revoke",
            metavar="PARTICIPANT",
            help="Revoke this participant's certificates first (repeatable); the CRL every "
            "container reads says so at once.",
        ),
    ] = None,
) -> None:
    """Give each container of a deployment its own keys, the trust anchor, the CRL and the
    population from the CA (what the one-shot bootstrap service of docker-compose.yml runs).
    The only command that opens the CA of a container deployment: it also revokes."""
    from noots.errors import NootsError
    from noots.provision import provision as run_provision
    from noots.settings import load_settings

    ca = renamed(pki_dir, old_ca, old_name="--ca", new_name="--pki-dir")
    if ca is None:
        raise usage_error("the CA's directory is required", option="--pki-dir")
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
            revoke=revoke or (),
        )
    except NootsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"provisioned {volumes}: "
        + (f"revoked {', '.join(revoke)}, " if revoke else "")
        + f"{len(report.issued)} certificates issued, "
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
    pki_dir: Annotated[
        Path | None,
        typer.Option(
            "--pki-dir",
            metavar="DIR",
            help="Keep the CA here, outside the cluster (created on first use), and fill the "
            "Secrets and the trust ConfigMap from it.",
        ),
    ] = None,
    old_pki: Annotated[Path | None, deprecated_option("--pki")] = None,
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

    pki = renamed(pki_dir, old_pki, old_name="--pki", new_name="--pki-dir")
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
            "no --pki-dir: the manifests name Secrets and a trust ConfigMap they do not contain "
            "(docs/DEPLOYMENT.md)",
            err=True,
        )
