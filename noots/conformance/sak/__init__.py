"""``noots conformance sak``: an operator's own SAK implementation against SAK-01 … SAK-10.

::

    target = default_sak_target(topology, "991-01234ZFZR-41.sak", "http://127.0.0.1:8516")
    report = await run_sak_suite(target, topology=topology, pki_dir=pki, clock=clock)

On the provider side the suite sends envelopes as an online service's SAK; on the consumer
side it plays the online service and the provider's SAK (:func:`provider_sak_double`, served
with :func:`provider_sak_app` where the target's RDN points) and answers wrongly on purpose.
"""

from __future__ import annotations

from noots.conformance.sak._double import Answering, ProviderSakDouble, provider_sak_app
from noots.conformance.sak._suite import (
    SakTarget,
    SakTls,
    default_sak_target,
    provider_sak_double,
    run_sak_suite,
)

__all__ = [
    "Answering",
    "ProviderSakDouble",
    "SakTarget",
    "SakTls",
    "default_sak_target",
    "provider_sak_app",
    "provider_sak_double",
    "run_sak_suite",
]
