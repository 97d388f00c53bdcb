"""The platform app factory: one FastAPI app with a router per NOOTS central component.

``create_app(settings)`` mounts every component; ``components=("vs",)`` (or any subset) runs
some of them alone, so the platform can be deployed as one process or as several::

    uvicorn --factory noots.intermediary.app:app_from_env     # everything, settings from NOOTS_*

Components: ``rdn`` (Registerdatennavigation), ``pki`` (IAM/PKI: participant registry, trust
anchor, CRL, revocation), ``iam`` (IAM für Behörden: registrations and access tokens), ``vs``
(Vermittlungsstelle), ``dsc`` (Datenschutzcockpit) and ``eid`` (the *simulated* eID service).
There is no central transport: every participant sends and receives through its own SAK
(:mod:`noots.intermediary.sak`). The data directory must have been bootstrapped
(``noots.bootstrap``): the platform reads its participants' credentials from
``<data_dir>/pki`` and operates the CA there.

``clock`` replaces the settings' clock and ``topology`` the file the settings name (already
loaded by the caller).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from noots import __version__
from noots.clock import Clock
from noots.envelope import ReplayGuard
from noots.health import CertificateProblem, certificate_problems
from noots.intermediary._context import PlatformContext
from noots.intermediary._edge import refuse_invalid_input
from noots.intermediary.settings import PlatformSettings
from noots.participant import load_credential, load_participant, load_validator
from noots.pki import CertificateAuthority, PublishedPki, load_certificate
from noots.settings import load_settings
from noots.signing import XmlVerifier
from noots.state import ReplayJournal, StateFile
from noots.topology import Topology

__all__ = ["COMPONENTS", "app_from_env", "create_app"]

COMPONENTS = ("rdn", "pki", "iam", "vs", "dsc", "eid")


def create_app(
    settings: PlatformSettings,
    *,
    components: Iterable[str] = COMPONENTS,
    clock: Clock | None = None,
    topology: Topology | None = None,
) -> FastAPI:
    """The platform app with the given components (see the module docstring)."""
    selected = tuple(dict.fromkeys(components))
    unknown = [c for c in selected if c not in COMPONENTS]
    if unknown or not selected:
        raise ValueError(f"unknown components {unknown}; choose from {', '.join(COMPONENTS)}")
    topology = topology or settings.load_topology()
    context = PlatformContext(settings, topology, clock or settings.clock())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            _start(app, context, selected, stack)
            yield

    app = FastAPI(
        title="NOOTS platform (noots simulator)",
        version=__version__,
        summary=("RDN, Vermittlungsstelle, IAM für Behörden, PKI, Datenschutzcockpit, eID."),
        lifespan=lifespan,
    )
    app.state.platform = context

    refuse_invalid_input(app, component=topology.platform.platform_id)

    app.state.components = selected

    if "rdn" in selected:
        from noots.intermediary import rdn

        app.include_router(rdn.router)
    if "pki" in selected:
        from noots.intermediary import pki

        app.include_router(pki.router)
        if not settings.strict and settings.admin_token is not None:
            app.include_router(pki.admin_router)
    if "iam" in selected:
        from noots.intermediary import iam

        app.include_router(iam.router)
    if "vs" in selected:
        from noots.intermediary import vs

        app.include_router(vs.router)
    if "dsc" in selected:
        from noots.intermediary import dsc
        from noots.web import mount_assets

        app.include_router(dsc.router)
        app.include_router(dsc.page_router)
        mount_assets(app)  # the page's stylesheet (the landscape's one style)
    if "eid" in selected:
        from noots.intermediary import eid

        app.include_router(eid.router)

    @app.get("/health", tags=["health"])
    def health() -> JSONResponse:
        """200 when every mounted component has what it needs and the certificate of each of
        its participants is valid now (not revoked, not expired); 503 otherwise, each problem
        named in German and English."""
        problems = _health_problems(app, context)
        certificates = _certificate_problems(app)
        body: dict[str, Any] = {
            "status": "degraded" if problems or certificates else "healthy",
            "components": list(selected),
            "problems": problems + [c.text for c in certificates],
            "certificates": [c.to_json() for c in certificates],
        }
        return JSONResponse(body, status_code=503 if body["problems"] else 200)

    return app


def _start(
    app: FastAPI,
    context: PlatformContext,
    selected: tuple[str, ...],
    stack: contextlib.AsyncExitStack,
) -> None:
    """Open what the components need; everything opened is closed by ``stack``."""
    settings, topology, clock = context.settings, context.topology, context.clock
    pki_dir = settings.pki_dir
    # The certificates this process works with, checked by /health (see _certificate_problems).
    app.state.own_certificates = _own_certificates(pki_dir, topology, selected)
    app.state.health_validator = load_validator(pki_dir, clock=clock)
    if "pki" in selected:
        from noots.intermediary.pki import IdentityRegistry

        # The CA's key is here under `noots up`; in containers the CA is operated apart and
        # the platform serves what it published (noots.provision), never opening a CA key.
        authority: CertificateAuthority | PublishedPki
        if (pki_dir / "ca" / "root-key.pem").exists():
            authority = CertificateAuthority.open(pki_dir, clock=clock)
        else:
            authority = PublishedPki.open(pki_dir)
        app.state.registry = IdentityRegistry(topology, authority)
    if "iam" in selected:
        from noots.intermediary.iam import REPLAY_WINDOW, IamService

        iam_id = topology.platform.iam_id
        state = StateFile(settings.state_path(iam_id))
        stack.callback(state.close)
        app.state.iam = IamService(
            load_credential(pki_dir, iam_id),
            load_validator(pki_dir, clock=clock),
            topology,
            ReplayGuard(clock, window=REPLAY_WINDOW, journal=ReplayJournal(state)),
            clock=clock,
            lifetime=timedelta(seconds=settings.iam_token_lifetime_seconds),
        )
    if "vs" in selected:
        from noots.intermediary.vs import DecisionLog, Vermittlungsstelle

        decisions = DecisionLog(
            settings.protocol_database(topology) or settings.vs_log_path,
            clock=clock,
        )
        stack.callback(decisions.close)
        vs_id = topology.platform.vs_id
        state = StateFile(settings.state_path(vs_id))
        stack.callback(state.close)
        app.state.vs = Vermittlungsstelle(
            load_participant(pki_dir, vs_id, clock=clock),
            topology,
            decisions,
            replay=settings.replay_guard(clock, state),
            lifetime=timedelta(seconds=settings.vs_token_lifetime_seconds),
        )
    if "dsc" in selected:
        from noots.intermediary.dsc import Datenschutzcockpit, ProtocolSources

        sources = ProtocolSources(
            database_url=settings.protocol_database(topology),
            log_dir=settings.log_dir,
            clock=clock,
        )
        stack.callback(sources.close)
        app.state.dsc = Datenschutzcockpit(
            XmlVerifier(load_validator(pki_dir, clock=clock)), sources, topology, clock=clock
        )
    if "eid" in selected:
        from noots.intermediary.eid import EidService

        app.state.eid = EidService.for_settings(
            settings,
            load_participant(pki_dir, topology.platform.eid_id, clock=clock),
        )


#: The platform process's own identity, which it serves TLS with whatever it runs.
_PLATFORM_PARTICIPANT = ("platform_id", "Plattform")
#: Which participant's certificate each component signs or authenticates with, and its title.
_COMPONENT_PARTICIPANTS = {
    "vs": ("vs_id", "Vermittlungsstelle"),
    "iam": ("iam_id", "IAM für Behörden"),
    "eid": ("eid_id", "eID-Dienst"),
    # The identity the landscape's own tools act under (reports, the dashboard, the health
    # probes of `noots up`), registered and issued by the platform's PKI.
    "pki": ("simulator_id", "Simulator"),
}


def _own_certificates(
    pki_dir: Path, topology: Topology, selected: tuple[str, ...]
) -> list[tuple[str, str, x509.Certificate]]:
    """(participant id, title, certificate) of each participant of the mounted components.

    A certificate that cannot be read is left out here: the component that needs the
    credential fails to start, which is louder than a health check."""
    found = []
    wanted = [_COMPONENT_PARTICIPANTS[c] for c in selected if c in _COMPONENT_PARTICIPANTS]
    for attribute, title in (_PLATFORM_PARTICIPANT, *wanted):
        participant_id = getattr(topology.platform, attribute)
        try:
            pem = (pki_dir / "participants" / participant_id / "cert.pem").read_bytes()
            found.append((participant_id, title, load_certificate(pem)))
        except (OSError, ValueError):
            continue
    return found


def _certificate_problems(app: FastAPI) -> list[CertificateProblem]:
    validator = getattr(app.state, "health_validator", None)
    if validator is None:  # not started: _health_problems says so
        return []
    return certificate_problems(validator, app.state.own_certificates)


def _health_problems(app: FastAPI, context: PlatformContext) -> list[str]:
    problems = []
    for component, attribute in (
        ("pki", "registry"),
        ("iam", "iam"),
        ("vs", "vs"),
        ("dsc", "dsc"),
        ("eid", "eid"),
    ):
        if component in app.state.components and not hasattr(app.state, attribute):
            problems.append(f"{component}: not started")
    crl = context.settings.pki_dir / "ca" / "crl.pem"
    if not crl.is_file():
        problems.append(f"no CRL at {crl}: certificates cannot be checked")
    return problems


def app_from_env() -> FastAPI:
    """The whole platform, configured from ``NOOTS_*`` variables (for ``uvicorn --factory``)."""
    return create_app(load_settings(PlatformSettings))
