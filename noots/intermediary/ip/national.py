"""The IP's national side in the landscape: the RDN and the registers, through the IP's own SAK.

The Intermediäre Plattform is a NOOTS participant like any other: it never calls the RDN or a
register itself. For an EU evidence request (use case 3) it asks its SAK's consumer API

1. ``GET /consumer/v1/routes?evidenceType=<EU classification>``: the register responsible
   for the evidence type (the RDN routes by classification), its service id and whether a
   Vermittlungsstelle token is needed. A 0301 never carries an IDNr (EU requesters do not have
   it), so the rule of the topology (§ 7 Abs. 2 IDNrG: the VS for IDNr transfers across areas)
   requires none unless the landscape's rule says otherwise; where it does, the IP asks
   ``POST /consumer/v1/authorisations`` for exactly this 0301 like any online service;
2. ``POST /consumer/v1/requests`` with the ``DE.EvidenceRequest.0301``: the SAK signs it into
   the envelope to the register's SAK and returns the register's bare ``0302``/``0303``.

Every call presents the IP's IAM access token for its SAK. Failures are typed errors
(:mod:`noots.errors`); the IP turns them into EDM exceptions.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from typing import Any, Protocol

import httpx

from noots import messages, tokens, trace
from noots.errors import (
    EdmCode,
    NootsError,
    RouteNotFound,
    UpstreamError,
    UpstreamTimeout,
    error_for_code,
)
from noots.exchange import check_answer
from noots.messages import Agent, EuEvidenceErrorResponse, EuEvidenceRequest, EuEvidenceResponse
from noots.sak import (
    AUTHORISATIONS_PATH,
    CONSUMER_REQUESTS_PATH,
    ROUTES_PATH,
    XML_MEDIA_TYPE,
    Header,
    encode_value,
)
from noots.trace import Hop
from noots.xml import parse as parse_xml

__all__ = ["PURPOSE", "SakNationalSide"]

#: The purpose the IP declares for a 0301 (the EU requester's procedure is not a German
#: purpose; the legal basis is the Single Digital Gateway regulation).
PURPOSE = "Grenzüberschreitender Nachweisabruf (EU-OOTS)"
LEGAL_BASIS = "Art. 14 Verordnung (EU) 2018/1724 (Single Digital Gateway)"


class AccessTokens(Protocol):
    async def authorization(self, audience: str) -> dict[str, str]: ...


@dataclass(frozen=True)
class _Route:
    service_id: str
    vs_required: bool


class SakNationalSide:
    """:class:`~noots.intermediary.ip.platform.NationalSide` through the IP's SAK."""

    def __init__(
        self,
        *,
        platform: Agent,
        sak_id: str,
        sak_url: str,
        access_tokens: AccessTokens | None,
        http: httpx.AsyncClient,
        timeout: float = 30.0,
    ) -> None:
        self.platform = platform
        self.sak_id = sak_id
        self.sak_url = sak_url.rstrip("/")
        self.access_tokens = access_tokens
        self.http = http
        self.timeout = timeout
        self._routes: dict[tuple[str, str], _Route] = {}

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        trace_id = trace.current_trace_id()
        if trace_id is not None:
            sent.setdefault(Header.TRACE_ID, trace_id)
        if self.access_tokens is not None:
            sent.update(await self.access_tokens.authorization(self.sak_id))
        try:
            return await self.http.request(
                method,
                self.sak_url + path,
                params=params,
                json=json_body,
                content=content,
                headers=sent,
                timeout=self.timeout,
            )
        except httpx.TimeoutException:
            raise UpstreamTimeout(
                "the IP's SAK did not answer in time", component=self.sak_id
            ) from None
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"the IP's SAK is unreachable ({type(exc).__name__})", component=self.sak_id
            ) from None

    def _problem(self, response: httpx.Response) -> NootsError:
        try:
            data = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("code"), str):
            component = data.get("component")
            return error_for_code(
                str(data["code"]),
                str(data.get("detail") or "")[:2000],
                component=component if isinstance(component, str) else self.sak_id,
            )
        return UpstreamError(
            f"the IP's SAK answered HTTP {response.status_code}", component=self.sak_id
        )

    async def find_register(
        self, classification: str
    ) -> tuple[Agent, messages.EvidenceType] | None:
        """The register the RDN names for ``classification`` (through the SAK), or None when
        no German register provides it."""
        with trace.span(
            Hop.DC_SAK,
            self.platform.identifier,
            peer=self.sak_id,
            title="Zuständiges Register über den SAK finden (RDN)",
        ):
            trace.step("RDN über den eigenen SAK gefragt (nach EU-Klassifikation)")
            response = await self._call("GET", ROUTES_PATH, params={"evidenceType": classification})
            if response.status_code >= 400:
                error = self._problem(response)
                if error.code in (EdmCode.UNRESOLVED_REFERENCE, EdmCode.UNSUPPORTED_CAPABILITY):
                    # The RDN knows no German provider (its message lists the German types:
                    # not passed abroad).
                    trace.check("Ein deutsches Register stellt den Nachweis aus", False)
                    return None
                raise error
            try:
                data = json.loads(response.content)
                provider = data["provider"]
                kind = data["evidenceType"]
                agent = Agent(str(provider["participantId"]), str(provider["name"]))
                evidence_type = messages.EvidenceType(
                    str(kind["classification"]), str(kind["title"]), uuid.UUID(kind["identifier"])
                )
                vs_required = bool(data["vs"]["withoutIdnr"]["required"])
                service_id = str(data["serviceId"])
            except (ValueError, KeyError, TypeError):
                raise UpstreamError(
                    "the IP's SAK answered an unusable route", component=self.sak_id
                ) from None
            if agent.identifier == self.platform.identifier:
                # An EU evidence type the RDN routes to the IP itself (use case 4): no German
                # register provides it.
                trace.check("Ein deutsches Register stellt den Nachweis aus", False)
                return None
            trace.step(f"Zuständig: {agent.name}")
        self._routes[agent.identifier, evidence_type.classification] = _Route(
            service_id, vs_required
        )
        return agent, evidence_type

    async def ask_german_register(
        self, request: EuEvidenceRequest
    ) -> EuEvidenceResponse | EuEvidenceErrorResponse:
        """Send the 0301 through the IP's SAK; the register's 0302/0303."""
        key = (request.provider.identifier, request.evidence_type.classification)
        route = self._routes.get(key)
        if route is None:
            raise RouteNotFound("no route was found for this register and evidence type")
        if route.vs_required:
            request = await self._authorise(request, route)
        raw = messages.to_bytes(request)
        with trace.span(
            Hop.DC_SAK,
            self.platform.identifier,
            peer=self.sak_id,
            title="0301 an den eigenen SAK übergeben",
        ):
            trace.step("0301 ohne IDNr an den eigenen SAK (Zweck, Dienst-ID)")
            trace.attach("Nachweisanfrage (DE.EvidenceRequest.0301)", raw)
            response = await self._call(
                "POST",
                CONSUMER_REQUESTS_PATH,
                content=raw,
                headers={
                    "Content-Type": XML_MEDIA_TYPE,
                    Header.PURPOSE: encode_value(PURPOSE),
                    Header.SERVICE_ID: encode_value(route.service_id),
                },
            )
        with trace.span(
            Hop.SAK_DC, self.platform.identifier, peer=self.sak_id, title="Antwort prüfen"
        ):
            trace.attach("Antwort (0302/0303)", response.content)
            if "json" in response.headers.get("content-type", ""):
                raise self._problem(response)
            try:
                answer = check_answer(
                    request, messages.parse(parse_xml(response.content), messages.ANY)
                )
            except NootsError as exc:
                raise UpstreamError(
                    f"the IP's SAK answered no 0302/0303 to this 0301: {exc.message}",
                    component=self.sak_id,
                ) from None
            assert isinstance(answer, EuEvidenceResponse | EuEvidenceErrorResponse)
            trace.step("Antwort 0302/0303 zu genau dieser 0301")
            return answer

    async def _authorise(self, request: EuEvidenceRequest, route: _Route) -> EuEvidenceRequest:
        """Where the landscape requires the VS for the IP's transfer: the token for exactly
        this 0301 (bound to its hash), as any online service asks for one."""
        asked = {
            "serviceId": route.service_id,
            "purpose": PURPOSE,
            "legalBasis": LEGAL_BASIS,
            "usesIdnr": False,
            "requestHash": tokens.request_hash(messages.build(request)),
        }
        response = await self._call("POST", AUTHORISATIONS_PATH, json_body=asked)
        if response.status_code >= 400:
            raise self._problem(response)
        try:
            data = json.loads(response.content)
            token = str(data["token"]) if data.get("required") else ""
        except (ValueError, KeyError, TypeError):
            raise UpstreamError(
                "the IP's SAK answered an unusable authorisation", component=self.sak_id
            ) from None
        return replace(request, issued_token=token) if token else request
