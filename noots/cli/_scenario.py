"""``noots scenario run|check|schema``: declarative scenario suites against a landscape.

``run`` uses the landscape ``noots up`` runs for the data dir; else one whose platform answers
at the topology's address (attach, with ``--admin-token``); else it starts one itself with the
machinery of ``noots up`` and stops it afterwards. Exit codes: 0 every expectation held; 1 the
tool failed (bad scenario file, no landscape, a step that could not be carried out); 2 an
expectation failed; 64 called wrongly (a named file that does not exist).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from noots.cli._app import app
from noots.cli._exit import TOOL_FAILED, usage_error
from noots.cli._options import (
    DEFAULT_SEED,
    DataDirOption,
    ReportLanguageOption,
    SeedOption,
    TopologyOption,
    writes_report,
)

if TYPE_CHECKING:
    from rich.console import Console

    from noots.conformance.scenarios import LandscapeAccess, Scenario
    from noots.settings import NootsSettings
    from noots.supervisor import Supervisor
    from noots.topology import Topology

scenario_app = typer.Typer(
    name="scenario", help="Run and check declarative scenario suites.", no_args_is_help=True
)
app.add_typer(scenario_app)

PathsArgument = Annotated[
    list[Path], typer.Argument(help="Scenario files or directories (every *.yaml below).")
]


def _load(
    console: Console, paths: list[Path], tags: list[str], topology: Topology
) -> list[Scenario]:
    """Every scenario below ``paths``, checked against the schema and then against
    ``topology`` (each unknown name with its file:line); exit 1 on any problem."""
    from noots.conformance.scenarios import check_references, load_scenarios
    from noots.errors import ScenarioError

    missing = [p for p in paths if not p.exists()]
    if missing:
        raise usage_error(f"no such file or directory: {', '.join(map(str, missing))}")
    try:
        scenarios = load_scenarios(paths)
        check_references(scenarios, topology)
    except ScenarioError as exc:
        console.print(f"[red]invalid scenario[/red] {exc.file}")
        for line in exc.lines():
            console.print(f"  {line}", markup=False)
        raise typer.Exit(TOOL_FAILED) from None
    if tags:
        scenarios = [s for s in scenarios if set(tags) & set(s.tags)]
    if not scenarios:
        console.print("[red]error[/red] no scenarios found")
        raise typer.Exit(TOOL_FAILED)
    return scenarios


@scenario_app.command("check")
def check(
    paths: PathsArgument, data_dir: DataDirOption = None, topology: TopologyOption = None
) -> None:
    """Check scenario files against the schema and the topology: every participant, evidence
    type and component a step names must exist (exit 1 with file:line for each problem)."""
    from rich.console import Console

    from noots.cli._conformance import _settings

    console = Console(soft_wrap=True)
    scenarios = _load(console, paths, [], _settings(data_dir, topology).load_topology())
    for scenario in scenarios:
        console.print(f"ok {scenario.path}: {scenario.name} ({len(scenario.steps)} steps)")


@scenario_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of scenario files."""
    from noots.conformance.scenarios import scenario_json_schema

    typer.echo(json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False))


def _platform_answers(access: LandscapeAccess) -> bool:
    import httpx

    try:
        response = httpx.get(access.url("platform") + "/health", timeout=3.0, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code in (200, 503)


def _find_or_start(
    console: Console,
    settings: NootsSettings,
    *,
    admin_token: str | None,
    start: bool,
    people: int,
    seed: int,
) -> tuple[LandscapeAccess, Supervisor | None]:
    from noots.conformance.scenarios import LandscapeAccess
    from noots.errors import NootsError

    data_dir = settings.data_dir.resolve()
    running = LandscapeAccess.running(data_dir)
    if running is not None:
        if admin_token:
            running.admin_token = admin_token
        console.print(f"Using the landscape noots up runs for {data_dir}")
        return running, None
    if (data_dir / "pki" / "ca" / "root-cert.pem").is_file():
        try:
            attached = LandscapeAccess.attach(data_dir, settings.topology, admin_token=admin_token)
        except NootsError as exc:
            console.print(f"[red]error[/red] {exc.message}")
            raise typer.Exit(TOOL_FAILED) from None
        if _platform_answers(attached):
            console.print(f"Attached to the landscape at {attached.url('platform')}")
            return attached, None
    if not start:
        console.print(
            f"[red]error[/red] no landscape runs for {data_dir} (start one with `noots up`, or "
            "leave out --no-start)"
        )
        raise typer.Exit(TOOL_FAILED)
    from noots.cli._up import start_landscape

    console.print(f"No landscape runs for {data_dir}: starting one …")
    supervisor = start_landscape(console, settings, people=people, seed=seed, start_timeout=180)
    access = LandscapeAccess.running(data_dir)
    if access is None:
        supervisor.stop()
        console.print("[red]error[/red] the landscape started but left no run file")
        raise typer.Exit(TOOL_FAILED)
    return access, supervisor


@scenario_app.command("run")
@writes_report
def run(
    paths: PathsArgument,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML here.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write JSON here.")] = None,
    lang: ReportLanguageOption = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tag", help="Only scenarios with this tag.")
    ] = None,
    data_dir: DataDirOption = None,
    topology: TopologyOption = None,
    admin_token: Annotated[
        str | None,
        typer.Option("--admin-token", envvar="NOOTS_ADMIN_TOKEN", help="Admin bearer token."),
    ] = None,
    start: Annotated[
        bool, typer.Option("--start/--no-start", help="Start a landscape when none runs.")
    ] = True,
    people: Annotated[
        int,
        typer.Option("--people", min=0, metavar="N", help="Population of a landscape it starts."),
    ] = 1000,
    seed: SeedOption = DEFAULT_SEED,
) -> None:
    """Run scenario files against a landscape; progress on the console, reports as asked."""
    import asyncio

    from rich.console import Console

    from noots.cli._conformance import _settings, default_report_dir, publish_report
    from noots.conformance import run_scenarios
    from noots.supervisor import signals_ignored

    console = Console(soft_wrap=True)
    settings = _settings(data_dir, topology)
    scenarios = _load(console, paths, tags or [], settings.load_topology())
    access, supervisor = _find_or_start(
        console, settings, admin_token=admin_token, start=start, people=people, seed=seed
    )
    try:
        run = asyncio.run(run_scenarios(access, scenarios, on_progress=console.print))
    finally:
        if supervisor is not None:
            console.print("Stopping the landscape started for this run …")
            with signals_ignored():
                supervisor.stop()
    written_somewhere = any(p is not None for p in (html, junit, json_file))
    report = run.report
    publish_report(
        console,
        report,
        report_dir=None if written_somewhere else default_report_dir(settings, "scenarios"),
        html=html,
        junit=junit,
        json_file=json_file,
        pki_dir=access.pki_dir,
        simulator_id=access.topology.platform.simulator_id,
        clock=access.clock(),
    )
    for failure in run.tool_failures:
        console.print(f"[red]tool failure[/red] {failure}")
    raise typer.Exit(run.exit_code)
