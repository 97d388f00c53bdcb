"""What every router of the platform shares: settings, topology and the clock.

The app factory puts one :class:`PlatformContext` on ``app.state.platform``; routers reach it
through the :data:`Context` dependency alias, never through globals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from noots.clock import Clock
from noots.intermediary.settings import PlatformSettings
from noots.topology import Topology

__all__ = ["Context", "PlatformContext", "get_context"]


@dataclass(frozen=True)
class PlatformContext:
    settings: PlatformSettings
    topology: Topology
    clock: Clock


def get_context(request: Request) -> PlatformContext:
    context: PlatformContext = request.app.state.platform
    return context


Context = Annotated[PlatformContext, Depends(get_context)]
