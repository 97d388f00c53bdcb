"""`noots up` and the dashboard's door: fresh secrets at every start, a one-click login link."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from noots.cli._up import print_landscape, renew_dashboard_secrets
from noots.supervisor import RunInfo, Supervisor
from noots.testing.landscape import write_topology


def _info(data_dir: Path, topology: Path) -> RunInfo:
    return RunInfo(
        supervisor_pid=1,
        data_dir=str(data_dir),
        topology=str(topology),
        tls=False,
        started_at="2026-11-22T09:00:00+00:00",
        components=(),
        demo_urls={
            "Datenschutzcockpit": "http://127.0.0.1:8400/dsc/",
            "Dashboard": "http://127.0.0.1:8402/",
        },
    )


def test_noots_up_prints_the_dashboard_login_link(tmp_path: Path) -> None:
    """The dashboard line is the login link with this run's operator token, on one line."""
    topology = write_topology(tmp_path)
    data_dir = tmp_path / "data"
    renew_dashboard_secrets(Supervisor(data_dir, topology))
    token = (data_dir / "run" / "dashboard-operator.token").read_text().strip()
    console = Console(record=True, width=50)
    print_landscape(console, _info(data_dir, topology))
    lines = console.export_text().splitlines()
    assert f"  Dashboard: http://127.0.0.1:8402/login#token={token}" in lines
    assert "  Datenschutzcockpit: http://127.0.0.1:8400/dsc/" in lines


def test_every_start_renews_the_dashboards_secrets(tmp_path: Path) -> None:
    """A link of an earlier run stops working: token and events key are new, still private."""
    topology = write_topology(tmp_path)
    supervisor = Supervisor(tmp_path / "data", topology)
    run = supervisor.data_dir / "run"
    renew_dashboard_secrets(supervisor)
    first = {
        name: (run / name).read_text()
        for name in ("dashboard-operator.token", "dashboard-events.key")
    }
    renew_dashboard_secrets(supervisor)
    for name, value in first.items():
        assert (run / name).read_text() != value
        assert (run / name).stat().st_mode & 0o777 == 0o600
