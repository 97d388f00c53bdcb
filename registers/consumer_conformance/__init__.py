"""``noots conformance consumer``: play platform and registers for someone else's online
service and grade it against DC-01…DC-09.

::

    async with conformance_platform(data_dir, topology, path, consumer=pid, clock=clock) as gw:
        # serve ``gw`` (an ASGI app) where the service expects the platform, then:
        report = await run_consumer_suite(ConsumerTarget(pid), gateway=gw,
                                          driver=DemoServiceDriver(url, kind="elterngeld"),
                                          topology=topology, clock=clock)

It lives with the registers because it plays them (and the platform in front of them): the
real mock registers answer behind a gateway that misbehaves on purpose round by round.
"""

from __future__ import annotations

from registers.consumer_conformance._drivers import (
    ConsumerDriver,
    DemoServiceDriver,
    DriverResult,
    HttpTriggerDriver,
    ManualDriver,
    RetrievalCase,
)
from registers.consumer_conformance._gateway import Event, Gateway, Mode
from registers.consumer_conformance._platform import conformance_platform
from registers.consumer_conformance._suite import ConsumerTarget, run_consumer_suite

__all__ = [
    "ConsumerDriver",
    "ConsumerTarget",
    "DemoServiceDriver",
    "DriverResult",
    "Event",
    "Gateway",
    "HttpTriggerDriver",
    "ManualDriver",
    "Mode",
    "RetrievalCase",
    "conformance_platform",
    "run_consumer_suite",
]
