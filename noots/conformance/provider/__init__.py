"""``noots conformance provider``: test someone else's register endpoint against DP-01…DP-15.

::

    target = default_target(topology, "991-01234ZFZR-41", "http://127.0.0.1:8416")
    report = await run_provider_suite(target, topology=topology, pki_dir=pki, clock=clock)
    report.statuses()   # {"DP-01": Status.PASSED, …}

The suite lives with the consumers because it acts as one: it signs requests with a consumer
credential of the simulator PKI and seals their tokens as the simulator's VS
(:mod:`noots.conformance.provider._suite` lists the probes).
"""

from __future__ import annotations

from noots.conformance.answers import Answer, Exchange, read_answer
from noots.conformance.credentials import (
    REVOKED_PARTICIPANT,
    SuiteCredentials,
    prepare_credentials,
)
from noots.conformance.provider._suite import ProviderTarget, run_provider_suite
from noots.conformance.provider._targets import default_target, person_of, platform_tls

__all__ = [
    "REVOKED_PARTICIPANT",
    "Answer",
    "Exchange",
    "ProviderTarget",
    "SuiteCredentials",
    "default_target",
    "person_of",
    "platform_tls",
    "prepare_credentials",
    "read_answer",
    "run_provider_suite",
]
