"""``noots conformance provider``: a register behind its SAK, against DP-01 … DP-17.

::

    target = default_target(topology, "991-01234ZFZR-41", "http://127.0.0.1:8416")
    report = await run_provider_suite(target, topology=topology, pki_dir=pki, clock=clock)
    report.statuses()   # {"DP-01": Status.PASSED, …}

The suite plays the register's own SAK (push: it POSTs to the register; passive: it serves
the provider API the register fetches from, :func:`sak_double_for` and
:func:`sak_double_app`), presents the landscape IAM's access tokens and seals tokens as its VS.
"""

from __future__ import annotations

from noots.conformance.provider._channel import SakDouble, sak_double_app
from noots.conformance.provider._suite import ProviderTls, run_provider_suite, sak_double_for
from noots.conformance.provider._targets import (
    DEFAULT_MAX_WAIT,
    Mode,
    ProviderTarget,
    default_target,
    parse_test_person,
    person_of,
)

__all__ = [
    "DEFAULT_MAX_WAIT",
    "Mode",
    "ProviderTarget",
    "ProviderTls",
    "SakDouble",
    "default_target",
    "parse_test_person",
    "person_of",
    "run_provider_suite",
    "sak_double_app",
    "sak_double_for",
]
