"""``noots up``, ``noots serve``, ``noots bootstrap``, ``noots status``, ``noots down``.

``noots up`` runs the whole landscape in the foreground; Ctrl-C (or SIGTERM) stops it:
SIGTERM to every component, up to ``--grace-period`` seconds for them to end, SIGKILL to any
still running, so that it has exited at most grace + 5 s after the signal (a second Ctrl-C
kills at once). Exit codes of ``noots up``: 0 stopped cleanly; 1 could not start (the message
names the component and quotes its log); 3 stopped after a component had died while it ran (the
others kept running and the death was reported when it happened); 4 a component survived
SIGKILL (stuck in the kernel; named on the console).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from noots.cli._app import app
from noots.cli._exit import CHECK_FAILED, COMPONENT_DIED, NOT_STOPPED, TOOL_FAILED
from noots.cli._options import (
    DEFAULT_PEOPLE,
    DEFAULT_SEED,
    DataDirOption,
    PeopleOption,
    SeedOption,
    TlsOption,
    TopologyOption,
)

if TYPE_CHECKING:
    from rich.console import Console

    from noots.settings import NootsSettings
    from noots.supervisor import ComponentExit, RunInfo, Supervisor

EXIT_COMPONENT_DIED = COMPONENT_DIED
EXIT_NOT_STOPPED = NOT_STOPPED

GracePeriodOption = Annotated[
    float,
    typer.Option(
        "--grace-period",
        min=0.0,
        max=600.0,
        metavar="SECONDS",
        help="Seconds the components get to stop after SIGTERM before SIGKILL; stopping then "
        "takes at most this + 5 s.",
    ),
]


def cli_overrides(
    data_dir: Path | None, topology: Path | None, tls: bool | None = None
) -> dict[str, Any]:
    """The common options that were given, as overrides of the ``NOOTS_*`` environment."""
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if topology is not None:
        overrides["topology"] = topology
    if tls is not None:
        overrides["tls"] = tls
    return overrides


def load_cli_settings(
    data_dir: Path | None, topology: Path | None, tls: bool | None = None
) -> NootsSettings:
    """NootsSettings from the environment and the common options; exits 1 on a problem."""
    from noots.errors import NootsError
    from noots.settings import NootsSettings, load_settings

    try:
        settings = load_settings(NootsSettings, **cli_overrides(data_dir, topology, tls))
        settings.load_topology()
    except NootsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    return settings


def bootstrap_with_progress(
    console: Console, settings: NootsSettings, *, people: int, seed: int
) -> None:
    """PKI and population for the data dir (only what is missing), with progress bars."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from noots.bootstrap import BootstrapReport, bootstrap_landscape, ensure_pki
    from noots.paths import LandscapePaths

    topology = settings.load_topology()
    paths = LandscapePaths(settings.data_dir)
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    participants = list(topology.participants())
    report = BootstrapReport()
    started = time.monotonic()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("PKI: issuing certificates", total=len(participants))
        ensure_pki(
            paths.pki_dir,
            topology,
            clock=settings.clock(),
            report=report,
            on_issue=lambda _pid: progress.advance(task),
        )
    if report.issued:
        console.print(
            f"PKI: {len(report.issued)} certificates issued in {time.monotonic() - started:.1f} s "
            f"under {paths.pki_dir / 'ca' / 'root-cert.pem'}"
        )
    if not paths.population_db.exists():
        console.print(f"Population: seeding {people:,} people (seed {seed}) …")
        started = time.monotonic()
        bootstrap_landscape(
            settings.data_dir, topology, people=people, seed=seed, show_progress=True
        )
        console.print(
            f"Population: {paths.population_db} ready in {time.monotonic() - started:.1f} s"
        )
    else:
        bootstrap_landscape(settings.data_dir, topology, people=people, seed=seed)


def start_landscape(
    console: Console,
    settings: NootsSettings,
    *,
    people: int,
    seed: int,
    start_timeout: float,
    grace_period: float | None = None,
    without: Collection[str] = (),
) -> Supervisor:
    """Bootstrap and start every component; the supervisor of the running landscape.

    On failure every process is stopped again and the CLI exits 1.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from noots.errors import NootsError
    from noots.supervisor import GRACE_PERIOD, Supervisor, signals_ignored

    supervisor = Supervisor(
        settings.data_dir,
        settings.topology,
        tls=settings.tls,
        start_timeout=start_timeout,
        grace_period=GRACE_PERIOD if grace_period is None else grace_period,
        log_level=settings.log_level,
        without=without,
    )
    try:
        supervisor.check_free()
        bootstrap_with_progress(console, settings, people=people, seed=seed)
        renew_dashboard_secrets(supervisor)
        started = time.monotonic()
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[last]}"),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(
                "Starting components", total=len(supervisor.components), last=""
            )

            def healthy(name: str, done: int, _total: int) -> None:
                progress.update(task, completed=done, last=name)

            supervisor.start(on_progress=healthy)
        console.print(
            f"[green]All {len(supervisor.components)} components healthy[/green] "
            f"after {time.monotonic() - started:.1f} s"
        )
    except NootsError as exc:
        with signals_ignored():
            supervisor.stop()
        console.print(f"[red]error[/red] {exc.message}")
        raise typer.Exit(1) from None
    except BaseException:
        with signals_ignored():
            supervisor.stop()
        raise
    return supervisor


def print_landscape(console: Console, info: RunInfo) -> None:
    from rich.table import Table

    table = Table(title=f"noots landscape ({'HTTPS, mutual TLS' if info.tls else 'HTTP'})")
    # Names and URLs are never cut (they are copied); "what" gives way on a narrow terminal.
    table.add_column("component", style="bold", no_wrap=True, min_width=len("component"))
    table.add_column("what", overflow="ellipsis", max_width=48)
    table.add_column("URL", no_wrap=True, overflow="fold", min_width=len("http://"))
    table.add_column("pid", justify="right", no_wrap=True)
    for component in info.components:
        table.add_row(component.name, component.title, component.url, str(component.pid))
    console.print(table)
    console.print("[bold]In the browser:[/bold]")
    for title, url in info.demo_urls.items():
        if title == "Dashboard":
            url = dashboard_login_link(info, url)
        # soft_wrap: a long link stays one line that the terminal wraps (copied whole)
        console.print(f"  {title}: [link={url}]{url}[/link]", soft_wrap=True)
    console.print(f"Logs: {Path(info.data_dir) / 'run'}  ·  state: {info.data_dir}")


def renew_dashboard_secrets(supervisor: Supervisor) -> None:
    """A new operator token and events key for the dashboard of this run (the login link of
    an earlier run stops working); the processes read them from the data dir."""
    if any(c.kind == "dashboard" for c in supervisor.components):
        from noots.consumers.dashboard import renew_secrets

        renew_secrets(supervisor.data_dir)


def dashboard_login_link(info: RunInfo, url: str) -> str:
    """The dashboard's one-click operator login (its token in the link's fragment)."""
    from noots.consumers.dashboard import DashboardSettings, operator_login_link
    from noots.settings import load_settings

    settings = load_settings(
        DashboardSettings, data_dir=Path(info.data_dir), topology=Path(info.topology)
    )
    return operator_login_link(settings, url)


def report_exit(console: Console, exit_: ComponentExit) -> None:
    from rich.panel import Panel

    from noots.supervisor import log_tail

    console.print(
        Panel(
            log_tail(exit_.log),
            title=f"[red bold]{exit_.component.name} ({exit_.component.title}) "
            f"{exit_.reason}[/red bold]",
            subtitle=f"{exit_.log} · the other components keep running",
            border_style="red",
        )
    )


def supervise(console: Console, supervisor: Supervisor) -> int:
    """Watch until Ctrl-C/SIGTERM; stop everything (bounded); the exit code of ``noots up``."""
    from noots.supervisor import shutdown_bound, signals_hurry

    died = False
    # The signal only sets a flag that the loop looks at: an exception raised at an arbitrary
    # point (as KeyboardInterrupt is) could leave a Popen's wait lock taken and the stop waiting.
    with signals_hurry() as stop_requested:
        while not stop_requested.is_set():
            for exit_ in supervisor.poll():
                died = True
                report_exit(console, exit_)
            # Not stop_requested.wait(): the handler sets the event on this very thread, and
            # Event.wait holds the lock that Event.set needs.
            time.sleep(0.25)
    for exit_ in supervisor.poll():  # died before the signal, not yet seen by the loop
        died = True
        report_exit(console, exit_)
    console.print(
        f"Stopping the landscape (at most {shutdown_bound(supervisor.grace_period):g} s; "
        "Ctrl-C again kills at once) …"
    )
    survivors = supervisor.stop()
    if survivors:
        console.print(f"[red]could not end[/red] {', '.join(survivors)} (they survived SIGKILL)")
        return EXIT_NOT_STOPPED
    console.print("[green]stopped[/green]" + (" (a component had died)" if died else ""))
    return EXIT_COMPONENT_DIED if died else 0


@app.command("up")
def up(
    data_dir: DataDirOption = None,
    topology: TopologyOption = None,
    tls: TlsOption = None,
    people: PeopleOption = DEFAULT_PEOPLE,
    seed: SeedOption = DEFAULT_SEED,
    start_timeout: Annotated[
        float,
        typer.Option(
            "--start-timeout", metavar="SECONDS", help="Seconds until every /health must be 200."
        ),
    ] = 120.0,
    grace_period: GracePeriodOption = 10.0,
    without: Annotated[
        list[str] | None,
        typer.Option(
            "--without",
            metavar="COMPONENT",
            help=(
                "A component not to start (repeatable), e.g. a register id: run your own in "
                "its place, on the port the topology gives it."
            ),
        ),
    ] = None,
) -> None:
    """Start the whole landscape on this machine, one process per component; Ctrl-C stops it.

    The first start generates the PKI and the synthetic population in the data dir; later
    starts reuse them (and the protocol logs). With --without, the named components are left
    to you: connect your own register (or online service) to its SAK as docs/SAK.md says.

    Ctrl-C or SIGTERM stops every component: SIGTERM to each, up to --grace-period seconds for
    them to end, then SIGKILL to any still running. noots up has exited at most grace + 5 s
    after the signal; a second Ctrl-C kills at once.
    """
    from noots.cli._console import console as make_console
    from noots.supervisor import signals_raise_interrupt

    console = make_console()
    settings = load_cli_settings(data_dir, topology, tls)
    with signals_raise_interrupt():
        supervisor = start_landscape(
            console,
            settings,
            people=people,
            seed=seed,
            start_timeout=start_timeout,
            grace_period=grace_period,
            without=without or (),
        )
    assert supervisor.info is not None
    print_landscape(console, supervisor.info)
    for name in supervisor.without:
        url = supervisor.topology.base_url(name, tls=settings.tls)
        console.print(
            f"[yellow]Not started, yours to run:[/yellow] {name} at {url}", soft_wrap=True
        )
    console.print("[bold]Ctrl-C stops the landscape.[/bold]")
    raise typer.Exit(supervise(console, supervisor))


@app.command("serve")
def serve(
    component: Annotated[
        str,
        typer.Argument(
            help="platform, ida, dashboard, a participant id (a register, an online service, "
            "a SAK: <id>.sak), or a register kind: melderegister (with --region), "
            "personenstandsregister, kba, handelsregister.",
        ),
    ],
    data_dir: DataDirOption = None,
    topology: TopologyOption = None,
    tls: TlsOption = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region", metavar="AGS", help="The municipality of a Melderegister given by kind."
        ),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(
            "--host", metavar="ADDRESS", help="Listen on this address instead of the topology's."
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=1,
            max=65535,
            metavar="PORT",
            help="Listen port instead of the topology's.",
        ),
    ] = None,
    supervisor_pid: Annotated[
        int | None, typer.Option("--supervisor-pid", hidden=True, help="Exit when it exits.")
    ] = None,
    grace_period: Annotated[
        float,
        typer.Option(
            "--grace-period", hidden=True, min=0.0, help="After the supervisor is gone: SIGKILL."
        ),
    ] = 10.0,
) -> None:
    """Run one component of the landscape in the foreground (what noots up starts).

    A register can be named by its kind: noots serve kba, noots serve melderegister --region
    08118079. The data dir must hold the landscape's PKI (noots bootstrap, once).
    """
    import dataclasses

    from noots.cli._register import REGISTER_KINDS, resolve_register
    from noots.errors import NootsError
    from noots.landscape.server import plan_server, run_server

    settings = load_cli_settings(data_dir, topology, tls)
    if not (settings.data_dir / "pki" / "ca" / "root-cert.pem").is_file():
        typer.echo(
            f"error: {settings.data_dir} has no PKI yet: run noots bootstrap (or noots up) "
            "with this --data-dir first",
            err=True,
        )
        raise typer.Exit(TOOL_FAILED)
    overrides: dict[str, Any] = {
        "data_dir": settings.data_dir,
        "topology": settings.topology,
        "tls": settings.tls,
    }
    try:
        if component in REGISTER_KINDS or region is not None:
            component = resolve_register(settings.load_topology(), component, region).participant_id
        plan = plan_server(component, overrides, listen_host=host)
    except NootsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(TOOL_FAILED) from None
    if port is not None:
        plan = dataclasses.replace(plan, component=dataclasses.replace(plan.component, port=port))
    if supervisor_pid is not None:
        _exit_with(supervisor_pid, grace_period=grace_period)
    else:  # started by hand: say where it listens
        scheme = "https" if plan.tls else "http"
        typer.echo(f"{component} on {scheme}://{plan.listen_host}:{plan.component.port}")
    try:
        run_server(plan)
    except NootsError as exc:
        typer.echo(f"error: {component}: {exc.message}", err=True)
        raise typer.Exit(TOOL_FAILED) from None


def _exit_with(supervisor_pid: int, *, grace_period: float) -> None:
    """Stop this process when the supervisor is gone: SIGTERM (graceful), and SIGKILL if it
    still runs ``grace_period`` seconds later, so that an orphan never holds its port."""
    import signal

    def watch() -> None:
        while os.getppid() == supervisor_pid:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace_period)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="noots-supervisor-watch", daemon=True).start()


@app.command("bootstrap")
def bootstrap(
    data_dir: DataDirOption = None,
    topology: TopologyOption = None,
    people: PeopleOption = DEFAULT_PEOPLE,
    seed: SeedOption = DEFAULT_SEED,
) -> None:
    """Create what a landscape needs in the data dir (PKI, population); keeps what exists."""
    from noots.cli._console import console as make_console
    from noots.errors import NootsError

    console = make_console()
    settings = load_cli_settings(data_dir, topology)
    try:
        bootstrap_with_progress(console, settings, people=people, seed=seed)
    except NootsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    console.print(f"[green]ready[/green] {settings.data_dir}")


@app.command("status")
def status(
    data_dir: DataDirOption = None,
    topology: TopologyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the landscape running for the data dir and the health of each component.

    Exit 0 all healthy, 1 none running, 2 some component unhealthy.
    """
    import json

    from rich.table import Table

    from noots.cli._console import console as make_console
    from noots.supervisor import pid_alive, running_landscape

    settings = load_cli_settings(data_dir, topology)
    info = running_landscape(settings.data_dir.resolve())
    console = make_console()
    if info is None:
        if as_json:
            console.print_json(json.dumps({"running": False}))
        else:
            console.print(f"no landscape runs for {settings.data_dir.resolve()}")
        raise typer.Exit(TOOL_FAILED)
    rows = []
    with _client_for(info) as client:
        for component in info.components:
            health = "exited" if not pid_alive(component.pid) else _health(client, component.url)
            rows.append((component, health))
    healthy = all(health == "healthy" for _c, health in rows)
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "running": True,
                    "supervisor_pid": info.supervisor_pid,
                    "tls": info.tls,
                    "components": [
                        {"name": c.name, "url": c.url, "pid": c.pid, "health": h} for c, h in rows
                    ],
                }
            )
        )
    else:
        table = Table(
            title=f"noots landscape of {info.data_dir} (noots up pid {info.supervisor_pid})"
        )
        for column in ("component", "URL", "pid", "health"):
            table.add_column(column)
        for component, health in rows:
            style = "green" if health == "healthy" else "red"
            table.add_row(
                component.name, component.url, str(component.pid), f"[{style}]{health}[/{style}]"
            )
        console.print(table)
    raise typer.Exit(0 if healthy else CHECK_FAILED)


def _client_for(info: RunInfo) -> Any:
    import httpx

    verify: Any = True
    if info.tls:
        from noots.tls import TlsFiles, client_context
        from noots.topology import load_topology

        simulator = load_topology(Path(info.topology)).platform.simulator_id
        verify = client_context(TlsFiles.for_participant(Path(info.data_dir) / "pki", simulator))
    return httpx.Client(timeout=3.0, verify=verify, trust_env=False)


def _health(client: Any, url: str) -> str:
    import httpx

    try:
        response = client.get(url + "/health")
    except httpx.HTTPError as exc:
        return f"no answer ({type(exc).__name__})"
    return "healthy" if response.status_code == 200 else f"HTTP {response.status_code}"


@app.command("down")
def down(
    data_dir: DataDirOption = None,
    topology: TopologyOption = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0.0,
            metavar="SECONDS",
            help="Seconds noots up gets to stop before it and its components are killed "
            "(default: its own bound, grace period + 5 s, plus 5 s).",
        ),
    ] = None,
) -> None:
    """Stop the landscape that noots up (or noots demo --keep-running) runs for the data dir.

    SIGTERM to noots up, which stops its components. If it has not exited in time, it is
    killed and its components are stopped from here (SIGTERM, grace period, SIGKILL), as are
    components a killed noots up left behind. Exit 0 when nothing of the landscape runs any
    more, 1 when a process survived SIGKILL.
    """
    import signal

    from noots.supervisor import (
        KILL_TIMEOUT,
        component_process_alive,
        pid_alive,
        read_run_file,
        shutdown_bound,
        stop_leftovers,
    )

    settings = load_cli_settings(data_dir, topology)
    info = read_run_file(settings.data_dir.resolve())
    supervisor_alive = info is not None and pid_alive(info.supervisor_pid)
    if info is None or (
        not supervisor_alive and not any(component_process_alive(info, c) for c in info.components)
    ):
        typer.echo(f"no landscape runs for {settings.data_dir.resolve()}")
        raise typer.Exit(0)
    if supervisor_alive:
        os.kill(info.supervisor_pid, signal.SIGTERM)
        wait = shutdown_bound(info.grace_period) + 5.0 if timeout is None else timeout
        if not _wait_gone(info.supervisor_pid, wait):
            typer.echo(
                f"noots up (pid {info.supervisor_pid}) did not stop in {wait:g} s: killing it "
                "and stopping its components",
                err=True,
            )
            os.kill(info.supervisor_pid, signal.SIGKILL)
            _wait_gone(info.supervisor_pid, KILL_TIMEOUT)
    left = [c.name for c in info.components if component_process_alive(info, c)]
    if left:
        typer.echo(f"stopping what noots up left running: {', '.join(left)}", err=True)
    survivors = stop_leftovers(info)
    if survivors or pid_alive(info.supervisor_pid):
        names = ", ".join(survivors + ([] if not pid_alive(info.supervisor_pid) else ["noots up"]))
        typer.echo(f"could not end: {names}", err=True)
        raise typer.Exit(1)
    typer.echo("stopped")


def _wait_gone(pid: int, seconds: float) -> bool:
    """Whether process ``pid`` is gone within ``seconds``."""
    from noots.supervisor import pid_alive

    deadline = time.monotonic() + seconds
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
