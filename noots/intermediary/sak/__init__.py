"""The Sicherer Anschlussknoten (SAK): every participant's only connection to NOOTS.

One SAK runs beside each register and each online service, as its own process with its own
certificate (role ``sak``), operated by the participant. It hides the transport across the
administration networks and the central components: an online service asks its SAK for a
route and an authorisation and hands it the 0101; a register gets the 0101 from its SAK (push
or passive) and answers it there. Between two SAKs travels the signed transport envelope.

The contracts (paths, headers, metadata) are in :mod:`noots.sak`; docs/SAK.md describes the
APIs with their OpenAPI documents.
"""

from __future__ import annotations

from noots.intermediary.sak._app import create_app
from noots.intermediary.sak._settings import SakSettings

__all__ = ["SakSettings", "create_app"]
