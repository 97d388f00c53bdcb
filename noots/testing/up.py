"""``noots up`` as a real subprocess, for end-to-end tests::

    topology = write_landscape(tmp_path / "landscape.yaml", keep={"platform", "ida", KBA})
    with noots_up(data_dir, topology, tls=True) as up:
        up.info.component(KBA).url       # from <data_dir>/run/landscape.json
        up.output()                       # what noots up printed so far
    # left: every component stopped (SIGINT), the run file removed, up.returncode set;
    # if noots up does not exit in time, it and every component it started are killed

:func:`write_landscape` copies the project's topology with every port replaced by a free one
(and, with ``keep``, only some registers and online services), so a test never collides with a
landscape a person runs on the default ports.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from noots.supervisor import RunInfo, running_landscape, shutdown_bound, stop_leftovers
from noots.testing.landscape import on_free_ports
from noots.topology import DEFAULT_TOPOLOGY_PATH

__all__ = ["UpProcess", "noots_up", "write_landscape"]


def write_landscape(
    target: Path,
    *,
    source: Path = DEFAULT_TOPOLOGY_PATH,
    keep: Collection[str] | None = None,
) -> Path:
    """Write ``source`` to ``target`` on free loopback ports.

    ``keep`` (participant ids): only these registers and online services stay, and the
    authorisation rows that still make sense; the platform, the IDA and the dashboard always
    stay. The Intermediäre Plattform (and with it the simulated EU side) stays only when its
    participant id is kept too.
    """
    data: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    if keep is not None:
        wanted = set(keep)
        data["registers"] = [r for r in data["registers"] if r["participant_id"] in wanted]
        data["consumers"] = [
            c for c in data.get("consumers") or [] if c["participant_id"] in wanted
        ]
        ip = data.get("intermediary_platform")
        if ip is not None and ip["participant_id"] not in wanted:
            data.pop("intermediary_platform")
            data.pop("eu", None)
        # The IP is an evidence provider too (use case 4), so rows naming it stay with it.
        registers = {r["participant_id"]: r for r in data["registers"]}
        if "intermediary_platform" in data:
            registers[data["intermediary_platform"]["participant_id"]] = data[
                "intermediary_platform"
            ]
        consumers = {c["participant_id"] for c in data["consumers"]}
        rows = []
        for row in data.get("authorisations") or []:
            providers = row.get("providers", "*")
            if row["consumer"] not in consumers:
                continue
            if providers != "*":
                row["providers"] = [p for p in providers if p in registers]
                if not row["providers"]:
                    continue
            elif not any(row["evidence_type"] in r["evidence_types"] for r in registers.values()):
                continue
            rows.append(row)
        data["authorisations"] = rows
    on_free_ports(data)
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


@dataclass
class UpProcess:
    """A running ``noots up`` and what it wrote."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    log: IO[bytes]
    info: RunInfo

    def output(self) -> str:
        self.log.flush()
        with open(self.log.name, "rb") as out:
            return out.read().decode("utf-8", errors="replace")

    def output_with(self, text: str, *, timeout: float = 60.0) -> str:
        """The output once it contains ``text`` (``noots up`` goes on printing its links after
        the run file that :func:`noots_up` waits for); AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while text not in (output := self.output()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"{text!r} not in the output of noots up:\n{output}")
            time.sleep(0.2)
        return output

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def stop(self, *, timeout: float | None = None) -> int:
        """SIGINT (as Ctrl-C does) and wait; the exit code.

        ``noots up`` bounds its own stop (grace period + 5 s); ``timeout`` (default: that bound
        plus a margin for a loaded machine) is how long this waits for it. If it has not
        exited by then, it is killed, every component it started is stopped from here
        (SIGTERM, grace period, SIGKILL), and ``subprocess.TimeoutExpired`` is raised: a test
        never leaves a process behind, and never passes over a stop that hung.
        """
        if timeout is None:
            timeout = shutdown_bound(self.info.grace_period if self.info else 10.0) + 30.0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
            if self.info is not None:
                stop_leftovers(self.info)
            raise


@contextlib.contextmanager
def noots_up(
    data_dir: Path,
    topology: Path,
    *,
    tls: bool = False,
    people: int = 300,
    timeout: float = 240.0,
    extra: Collection[str] = (),
    python: str | Path = sys.executable,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[UpProcess]:
    """Start ``noots up`` and wait until its run file says the landscape is up.

    ``python`` runs ``-m noots`` (another interpreter: an installed wheel's virtual
    environment), in ``cwd`` with ``env`` (default: this process's environment).
    """
    command = [
        str(python),
        "-m",
        "noots",
        "up",
        "--data-dir",
        str(data_dir),
        "--topology",
        str(topology),
        "--people",
        str(people),
        "--tls" if tls else "--no-tls",
        *extra,
    ]
    environment = dict(os.environ if env is None else env, COLUMNS="160", NO_COLOR="1")
    with tempfile.NamedTemporaryFile(prefix="noots-up-", suffix=".log") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=cwd
        )
        up = UpProcess(process, data_dir, log, None)  # type: ignore[arg-type]
        try:
            deadline = time.monotonic() + timeout
            while True:
                info = running_landscape(data_dir.resolve())
                if info is not None and info.supervisor_pid == process.pid:
                    up.info = info
                    break
                if process.poll() is not None:
                    raise RuntimeError(f"noots up exited with {process.returncode}:\n{up.output()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"noots up not ready after {timeout:g} s:\n{up.output()}")
                time.sleep(0.2)
            yield up
        finally:
            up.stop()
