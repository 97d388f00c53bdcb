"""``noots conformance eu``: an Intermediäre Plattform's EU-facing side against IP-01 … IP-10.

::

    target = default_ip_target(topology)                  # the landscape's IP, or url=…
    witness = protocol_witness([(register, log_target)], authority_id, clock=clock)
    report = await run_ip_suite(target, pki_dir=pki, clock=clock, witness=witness)

The suite plays a member state's eDelivery gateway and evidence requester (use case 3);
:mod:`noots.conformance.eu_requests` builds what it sends.
"""

from __future__ import annotations

from noots.conformance.ip._suite import (
    AS4_PATH,
    IpTarget,
    Witness,
    default_ip_target,
    landscape_witness,
    protocol_witness,
    run_ip_suite,
)

__all__ = [
    "AS4_PATH",
    "IpTarget",
    "Witness",
    "default_ip_target",
    "landscape_witness",
    "protocol_witness",
    "run_ip_suite",
]
