"""``noots conformance consumer``: play the online service's own SAK (its consumer API) for
someone else's online service and grade it against DC-01…DC-09.

::

    async with conformance_sak(data_dir, topology, path, consumer=pid, clock=clock) as gw:
        # serve ``gw`` (an ASGI app) where the service expects its SAK (and the IDA), then:
        report = await run_consumer_suite(ConsumerTarget(pid), gateway=gw,
                                          driver=DemoServiceDriver(url, kind="elterngeld"),
                                          topology=topology, clock=clock)

It lives with the registers because it plays them (and the SAKs in front of them): the real
landscape answers behind a gateway that answers on purpose round by round as each condition
needs.
"""

from __future__ import annotations

from noots.registers.consumer_conformance._drivers import (
    ConsumerDriver,
    DemoServiceDriver,
    DriverResult,
    HttpTriggerDriver,
    ManualDriver,
    RetrievalCase,
)
from noots.registers.consumer_conformance._gateway import UNLISTED_CODE, Event, Gateway, Mode
from noots.registers.consumer_conformance._landscape import conformance_sak
from noots.registers.consumer_conformance._suite import ConsumerTarget, run_consumer_suite

__all__ = [
    "UNLISTED_CODE",
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
    "conformance_sak",
    "run_consumer_suite",
]
