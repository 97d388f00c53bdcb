"""Online services that are wrong on purpose: one per consumer connection condition.

The consumer conformance suite is only worth something if it catches what it claims to catch.
Each variant breaks **exactly one** condition DC-01…DC-09 of the correct client library
(:mod:`consumers`), so a run of the suite against it must fail that condition and pass every
other one (the tests prove it). DC-07 breaks the demo service's web flow
(:func:`broken_demo_app`); the others break the client library behind a minimal online
service with a test hook (:func:`consumer_hook_app`).

::

    app = consumer_hook_app(BPA, settings, sak_url=url, client_class=broken_client_class("DC-03"))
    report = await run_consumer_suite(..., driver=HttpTriggerDriver(".../retrieve", ...))
    assert failed sections of report == {"DC-03"}
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from types import MappingProxyType
from typing import Any

from noots import messages, tokens
from noots.errors import AuthorisationRefused, NootsError, UpstreamError
from noots.testing.asgi import call_app, read_request_body

__all__ = [
    "BROKEN_CONSUMERS",
    "broken_client_class",
    "broken_demo_app",
    "consumer_hook_app",
]

#: Condition id → what the broken online service does wrong.
BROKEN_CONSUMERS: Mapping[str, str] = MappingProxyType(
    {
        "DC-01": "does not ask its SAK for the route: takes provider and service id from its "
        "own table",
        "DC-02": "names another online service as the requester of its 0101s",
        "DC-03": "sends the 0101 without a token when its SAK refuses the authorisation",
        "DC-04": "does not check the IDNr before sending it",
        "DC-05": "uses answers without checking them against its request",
        "DC-06": "gives up on an answer announced for later",
        "DC-07": "fetches the first evidence right after login, before consent",
        "DC-08": "retries with a new request id every time",
        "DC-09": "keeps no protocol log",
    }
)

_Receive = Callable[[], Awaitable[dict[str, Any]]]
_Send = Callable[[dict[str, Any]], Awaitable[None]]


def broken_client_class(condition_id: str) -> type[Any]:
    """A subclass of :class:`noots.consumers.AsyncClient` that violates ``condition_id`` (DC-01 …
    DC-06, DC-08; DC-09 is the unbroken client without a protocol log)."""
    from noots.consumers._client import AsyncClient, _Exchange
    from noots.consumers._person import PersonQuery
    from noots.consumers._results import EvidenceResult, Route
    from noots.consumers._sak import Answer, Authorisation

    class NoRoute(AsyncClient):
        async def find_route(self, evidence_type: str, region: str | None) -> Route:
            spec = self.topology.find_providers(evidence_type, region)[0]
            return Route(
                spec.participant_id,
                spec.name,
                self.topology.service_id(spec.participant_id, evidence_type),
            )

    class ForeignRequester(AsyncClient):
        def __init__(self, *args: Any, **options: Any) -> None:
            super().__init__(*args, **options)
            other = next(c for c in self.topology.consumers if c.participant_id != self.consumer_id)
            self._agent = messages.Agent(other.participant_id, other.name)

    class IgnoresRefusal(AsyncClient):
        async def _authorise(self, exchange: _Exchange) -> None:
            try:
                await super()._authorise(exchange)
            except AuthorisationRefused:
                exchange.authorisation = Authorisation(False, "refusal ignored")
                exchange.raw_request = messages.to_bytes(exchange.request)

    class NoIdnrCheck(AsyncClient):
        async def _subject(
            self,
            kind: str,
            idnr: str | None,
            person: PersonQuery | None,
            company: messages.LegalPerson | None,
            born: date | None,
            purpose: str,
        ) -> tuple[messages.NaturalPerson | messages.LegalPerson, str | None]:
            if kind == "natural" and idnr is not None and person is not None:
                subject = messages.NaturalPerson(
                    person.family_name, person.given_name, person.date_of_birth, idnr
                )
                return subject, idnr
            return await super()._subject(kind, idnr, person, company, born, purpose)

    class Credulous(AsyncClient):
        def _check(self, exchange: _Exchange, answer: Answer) -> messages.EvidenceResponse:
            message = answer.message
            if isinstance(message, messages.EvidenceErrorResponse):
                return super()._check(exchange, answer)
            return message

    class NoWaiting(AsyncClient):
        async def _run(self, exchange: _Exchange) -> EvidenceResult:
            answer = await self._submit_with_retries(exchange)
            if answer.response.available_at is not None:
                raise UpstreamError("the evidence is not there yet", component=self.consumer_id)
            self._record(exchange, "delivered")
            return self._result(exchange, answer)

    class NewIdPerRetry(AsyncClient):
        async def _submit_once(self, exchange: _Exchange) -> Any:
            try:
                return await super()._submit_once(exchange)
            except NootsError:
                exchange.__dict__["_retry"] = True
                raise

        async def _authorise(self, exchange: _Exchange) -> None:
            if exchange.__dict__.pop("_retry", False):
                exchange.request = dataclasses.replace(
                    exchange.request, request_id=uuid.uuid4(), message_uuid=uuid.uuid4()
                )
                exchange.request_hash = tokens.request_hash(messages.build(exchange.request))
                exchange.authorisation = None
            await super()._authorise(exchange)

    classes: dict[str, type[Any]] = {
        "DC-01": NoRoute,
        "DC-02": ForeignRequester,
        "DC-03": IgnoresRefusal,
        "DC-04": NoIdnrCheck,
        "DC-05": Credulous,
        "DC-06": NoWaiting,
        "DC-08": NewIdPerRetry,
        "DC-09": AsyncClient,
    }
    if condition_id not in classes:
        raise KeyError(f"no broken client for {condition_id}; known: {sorted(classes)}")
    return classes[condition_id]


def consumer_hook_app(
    consumer_id: str,
    settings: Any,
    *,
    sak_url: str,
    transport: Any = None,
    client_class: type[Any] | None = None,
    protocol_log: bool = True,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> Any:
    """A minimal online service with the test hook ``POST /retrieve`` that
    :class:`~noots.registers.consumer_conformance.HttpTriggerDriver` calls: it fetches one evidence
    through the client library (``client_class``) from its SAK at ``sak_url`` (which also
    serves the IDA's path) and answers ``{"received": [...], "shown": "..."}``. ``settings``
    is a :class:`~noots.settings.NootsSettings` (data dir and topology); ``sleep`` is how the
    client waits (tests move a simulated clock instead)."""
    from contextlib import asynccontextmanager

    import httpx
    from fastapi import Body, FastAPI
    from fastapi.responses import JSONResponse

    from noots.consumers._client import AsyncClient, Endpoints
    from noots.consumers._explain import ExchangeContext, explain
    from noots.consumers._person import PersonQuery
    from noots.participant import load_participant
    from noots.protocol import open_protocol_log

    topology = settings.load_topology()
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        clock = settings.clock()
        participant = load_participant(settings.data_dir / "pki", consumer_id, clock=clock)
        log = None
        if protocol_log:
            (settings.data_dir / "logs").mkdir(parents=True, exist_ok=True)
            log = open_protocol_log(
                settings.data_dir / "logs" / f"{consumer_id}.db", party=consumer_id, clock=clock
            )
        http = httpx.AsyncClient(transport=transport, timeout=60.0)
        options: dict[str, Any] = {"http": http, "protocol_log": log}
        if sleep is not None:
            options["sleep"] = sleep
        state["client"] = (client_class or AsyncClient)(
            participant, Endpoints(sak_url, sak_url, sak_url), topology, **options
        )
        try:
            yield
        finally:
            await http.aclose()
            if log is not None:
                log.close()

    app = FastAPI(title=f"test hook of {consumer_id}", lifespan=lifespan)

    @app.post("/retrieve")
    async def retrieve(case: dict[str, Any] = Body(...)) -> JSONResponse:  # noqa: B008
        evidence = str(case["evidenceType"])
        purpose = next(
            (
                a.purpose
                for a in topology.authorisations
                if a.consumer == consumer_id and a.evidence_type == evidence
            ),
            "Test",
        )
        person = PersonQuery(
            str(case["givenName"]),
            str(case["familyName"]),
            date.fromisoformat(str(case["dateOfBirth"])),
        )
        try:
            result = await state["client"].fetch_evidence(
                evidence, purpose=purpose, idnr=str(case["idnr"]), person=person
            )
        except NootsError as exc:
            reason = explain(exc, ExchangeContext(consumer_id, evidence, purpose))
            return JSONResponse({"received": [], "shown": reason.line()})
        rows = "; ".join(f"{row.label}: {row.value}" for row in result.rows())
        return JSONResponse({"received": [evidence], "shown": rows})

    return app


def broken_demo_app(
    settings: Any,
    *,
    transport: Any = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> Any:
    """The demo online service of ``settings`` (a ``DemoSettings``), wrapped so that it fetches
    its first evidence right after the citizen logged in — before consent (DC-07)."""
    from urllib.parse import parse_qsl

    from noots.consumers._person import PersonQuery
    from noots.consumers.demo import create_app
    from noots.synthetic.identities import identity

    inner = create_app(settings, transport=transport, sleep=sleep)

    class FetchAtLogin:
        state = inner.state
        router = inner.router

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http" or scope["path"] != "/anmelden" or scope["method"] != "POST":
                await inner(scope, receive, send)
                return
            body = await read_request_body(receive)
            status, headers, answer = await call_app(inner, scope, body)
            form = dict(parse_qsl(body.decode("utf-8", errors="replace")))
            person = identity(form.get("idnr", ""))
            st = inner.state.noots
            if status == 303 and person is not None:
                need = st.service.needs[0]
                purpose, legal_basis = st.purpose(need.evidence_type)
                options: dict[str, Any] = {"purpose": purpose, "legal_basis": legal_basis}
                if st.topology.evidence_type(need.evidence_type).regional:
                    options["region"] = st.spec.region or person.ags
                with contextlib.suppress(NootsError):
                    await st.client.fetch_evidence(
                        need.evidence_type,
                        idnr=person.idnr,
                        person=PersonQuery(
                            person.given_names.split()[0], person.family_name, person.date_of_birth
                        ),
                        **options,
                    )
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": answer})

    return FetchAtLogin()
