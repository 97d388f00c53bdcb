"""Load on a running landscape with Locust: the pilot mix of online services through their SAKs.

    pip install -e '.[load]'                      # Locust is an optional extra
    noots up --data-dir noots-data &              # or: docker compose up
    locust -f bench/locustfile.py --noots-data-dir noots-data --headless -u 50 -r 5 -t 2m

Each simulated user is a stream of citizens' cases at the online services of the landscape, in
the mix of ``bench/_load.py`` (Bewohnerparkausweis 5 : Gewerbeanmeldung 2 : Elterngeld 3); each
case fetches two evidences, each through the online service's SAK (route → where required the
VS token → the 0101, which the SAK signs to the register's SAK), with the online service's own
IAM access token and every answer checked as the client library checks it. Locust's table shows
every call ("IAM token", "SAK route", "SAK authorisation (VS)", "SAK <evidence type>") and each
whole case ("CASE <pilot>", its time from the first call to the last check).

A worker needs the landscape's data directory (``--noots-data-dir``; default
``NOOTS_DATA_DIR`` or ``./noots-data``): ``landscape.yaml`` for the addresses, ``pki/`` for the
online services' keys, the trust anchor and the CRL, and ``population.db`` to pick citizens.
Distributed: ``locust -f bench/locustfile.py --master`` on one machine, ``NOOTS_DATA_DIR=<copy>
locust -f bench/locustfile.py --worker --master-host <master>`` on each other (a
``--noots-data-dir`` given to the master is forwarded to every worker and wins);
docs/PERFORMANCE.md, "Load beyond one process".
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _load
from locust import HttpUser, between, events, task

_services: dict[str, _load.OnlineService] = {}


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    # No default here: a master forwards its options to the workers when the test starts, and
    # an unset value lets each worker fall back to its own NOOTS_DATA_DIR.
    parser.add_argument(
        "--noots-data-dir",
        default=None,
        help="The landscape's data directory (landscape.yaml, pki/, population.db); "
        "default NOOTS_DATA_DIR or ./noots-data.",
    )
    parser.add_argument(
        "--noots-subjects", type=int, default=500, help="Citizens per pilot to pick from."
    )


@events.test_start.add_listener
def _load_services(environment: Any, **_kwargs: Any) -> None:
    # Keys, verifiers and citizens once per process; a master only coordinates its workers.
    from locust.runners import MasterRunner

    if isinstance(environment.runner, MasterRunner):
        return
    options = environment.parsed_options
    if not _services:
        _services.update(
            _load.online_services(
                Path(options.noots_data_dir or os.environ.get("NOOTS_DATA_DIR") or "noots-data"),
                subjects=options.noots_subjects,
                seed=os.getpid(),
                platform=environment.host or None,
            )
        )


class OnlineServiceUser(HttpUser):
    """A stream of cases at the landscape's online services, in the pilot mix."""

    wait_time = between(0.0, 0.5)
    # Locust needs a host; the flows use absolute URLs from the topology (or --host).
    host = "http://127.0.0.1"

    def _case(self, pilot: str) -> None:
        started = time.perf_counter()
        error: Exception | None = None
        try:
            _services[pilot].run(self.client)
        except Exception as exc:  # every failure is reported as the case's failure
            error = exc
        self.environment.events.request.fire(
            request_type="CASE",
            name=pilot,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=error,
            context={},
        )

    @task(_load.PILOT_MIX["Bewohnerparkausweis"])
    def bewohnerparkausweis(self) -> None:
        self._case("Bewohnerparkausweis")

    @task(_load.PILOT_MIX["Gewerbeanmeldung"])
    def gewerbeanmeldung(self) -> None:
        self._case("Gewerbeanmeldung")

    @task(_load.PILOT_MIX["Elterngeld"])
    def elterngeld(self) -> None:
        self._case("Elterngeld")
