"""The EU steps of a scenario: ``eu_query`` (use case 3, a member state's access point asks
the IP) and ``eu_order`` (use case 4, an online service orders EU evidence through the IP).

``eu_query`` sends what :mod:`noots.conformance.eu_requests` crafts (the variants of the IP
suite) and reads the answer as a member state does; ``eu_order`` uses the client library as
the online service and walks the citizen's pages like the dashboard's pilot
(:func:`noots.consumers._eu_citizen.walk_citizen`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from noots.clock import Clock
from noots.conformance.attacks import find_personal_data
from noots.conformance.eu_requests import (
    EU_VARIANTS,
    EuRequestFactory,
    edm_evidence_type,
    ip_parties,
    person_of,
)
from noots.conformance.i18n import _
from noots.consumers import (
    AsyncClient,
    Endpoints,
    EuEvidence,
    PersonQuery,
    parse_person,
)
from noots.consumers._eu_citizen import Decision, decide_preview, walk_citizen
from noots.errors import NootsError
from noots.eu import ebms, edm
from noots.eu.edm import EdmNaturalPerson, QueryErrorResponse, QueryResponse
from noots.participant import load_participant
from noots.pki import Role
from noots.protocol import open_protocol_log
from noots.signing import XmlVerifier
from noots.synthetic.identities import BEHAVIOUR_IDENTITIES, Behaviour, BehaviourIdentity
from noots.topology import Topology
from noots.xml import parse

__all__ = ["EuResult", "EuStepFailed", "eu_subject", "order_eu_evidence", "query_the_ip"]

_GATEWAY_ROLES = frozenset({Role.SIMULATOR, Role.PLATFORM})


class EuStepFailed(Exception):
    """The step could not be carried out (the runner's StepFailed)."""


@dataclass
class EuResult:
    """What one EU step produced, for the runner's grading."""

    outcome: str  # delivered | pending | refused | unverified
    code: str | None = None
    exception_type: str | None = None
    status: int | None = None
    error: NootsError | None = None
    request: bytes = b""
    response: bytes = b""
    leaks: list[str] = field(default_factory=list)
    #: What is wrong beyond the expectations (a preview asked for and not offered).
    problems: list[str] = field(default_factory=list)
    summary: str = ""
    request_id: str | None = None
    #: eu_query: how many transfers to the authority the German registers logged for it.
    forwarded: int | None = None


def _identity(behaviour: str) -> BehaviourIdentity:
    wanted = Behaviour(behaviour)
    return next(i for i in BEHAVIOUR_IDENTITIES if i.behaviour is wanted)


def eu_subject(params: Mapping[str, Any]) -> EdmNaturalPerson:
    """Whom an ``eu_query`` asks about: ``person`` ("Family, Given, YYYY-MM-DD") or a test
    identity (default: the normal case)."""
    if "person" in params:
        person = parse_person(str(params["person"]))
        if person.date_of_birth is None:
            raise EuStepFailed("an eu_query person needs a date of birth")
        return EdmNaturalPerson(person.family_name, person.given_name, person.date_of_birth)
    found = _identity(str(params.get("identity", "normal")))
    return EdmNaturalPerson(found.family_name, found.given_names.split()[0], found.date_of_birth)


def _read(response: httpx.Response, verifier: XmlVerifier, subject: EdmNaturalPerson) -> EuResult:
    """The answer as the member state reads it."""
    body = response.content
    result = EuResult("refused", status=response.status_code, response=body)
    if response.status_code != 200:
        result.summary = _(
            f"abgelehnt auf eDelivery-Ebene (HTTP {response.status_code})",
            f"refused at the eDelivery level (HTTP {response.status_code})",
        )
    else:
        try:
            opened = ebms.open_user_message(body, verifier, required_role=_GATEWAY_ROLES).message
            document = edm.parse(parse(opened.edm_document), opened.attachments)
        except NootsError as exc:
            result.outcome = "unverified"
            result.summary = _(
                f"Antwort nicht verifizierbar: {exc.message}",
                f"answer does not verify: {exc.message}",
            )
            return result
        if isinstance(document, QueryErrorResponse):
            error = document.error
            result.code = error.code.value
            result.exception_type = error.exception_type[1] if error.exception_type else None
            preview = " PreviewRequired" if error.preview_required else ""
            result.summary = _(
                f"rs:Exception {result.code} ({result.exception_type}){preview}",
                f"rs:Exception {result.code} ({result.exception_type}){preview}",
            )
        elif isinstance(document, QueryResponse) and document.available_at is not None:
            result.outcome = "pending"
            result.summary = "QueryResponse Unavailable"
        elif isinstance(document, QueryResponse):
            result.outcome = "delivered"
            titles = ", ".join(evidence.title for evidence in document.evidences)
            result.summary = _(
                f"Nachweis geliefert: {titles}",
                f"evidence delivered: {titles}",
            )
    if result.outcome != "delivered":
        result.leaks = find_personal_data(body, [person_of(subject)])
    return result


def _preview_location(result: EuResult, verifier: XmlVerifier) -> str | None:
    if result.code != "EDM:ERR:0002" or result.status != 200:
        return None
    opened = ebms.open_user_message(result.response, verifier, required_role=_GATEWAY_ROLES)
    document = edm.parse(parse(opened.message.edm_document), opened.message.attachments)
    if isinstance(document, QueryErrorResponse) and document.error.preview_required:
        return document.error.preview_location
    return None


async def query_the_ip(
    http: httpx.AsyncClient,
    params: Mapping[str, Any],
    *,
    topology: Topology,
    pki_dir: Path,
    clock: Clock,
    verifier: XmlVerifier,
    inbox: str,
    protocol_target: Callable[[str], Any],
) -> EuResult:
    """``eu_query``: see the module docstring. ``protocol_target`` (party → its log) lets it
    count what the German registers logged for the step."""
    from noots.conformance.ip import landscape_witness

    parties = ip_parties(topology)
    sender = str(params["as"])
    if sender != parties.gateway:
        parties = dataclasses.replace(parties, gateway=sender, other_gateway=parties.gateway)
    variant = str(params.get("variant", "valid"))
    if variant not in EU_VARIANTS:
        raise EuStepFailed(f"unknown variant {variant!r}; one of {', '.join(EU_VARIANTS)}")
    subject = eu_subject(params)
    evidence_type = edm_evidence_type(topology, str(params["evidence"]))
    preview = bool(params.get("preview", False))
    factory = EuRequestFactory(parties, pki_dir=pki_dir, clock=clock)
    witness = landscape_witness(
        topology,
        evidence_type.classification,
        parties.authority.identifier,
        protocol_target,
        clock=clock,
    )

    async def post(raw: bytes) -> httpx.Response:
        return await http.post(inbox, content=raw, headers={"content-type": "application/soap+xml"})

    try:
        query = factory.query(evidence_type, subject, preview=preview)
        crafted = factory.craft(variant, query)
        if variant == "replay":
            await post(crafted.raw)
        before = await witness()
        result = _read(await post(crafted.raw), verifier, subject)
        result.request = crafted.raw
        result.request_id = str(query.request_id)
        result.forwarded = await witness() - before
        if not preview:
            return result
        location = _preview_location(result, verifier)
        if location is None:
            if result.outcome == "delivered":
                result.problems.append(
                    _(
                        "Nachweis ohne die erbetene Vorschau geliefert",
                        "evidence delivered without the preview asked for",
                    )
                )
            return result
        decision = str(params.get("decide", "approve"))
        decided = await decide_preview(
            http, location, "decline" if decision == "decline" else "approve"
        )
        if decided.status_code >= 400:
            raise EuStepFailed(f"the preview page refused the decision: HTTP {decided.status_code}")
        again = factory.craft(
            "valid", factory.query(evidence_type, subject, preview_location=location)
        )
        repeated = _read(await post(again.raw), verifier, subject)
        repeated.request = again.raw
        repeated.request_id = str(again.query.request_id)
        repeated.leaks = sorted({*result.leaks, *repeated.leaks})
        repeated.forwarded = await witness() - before
        repeated.summary = _(
            f"Vorschau an der IP ({decision}), dann {repeated.summary}",
            f"preview at the IP ({decision}), then {repeated.summary}",
        )
        return repeated
    finally:
        factory.close()


async def order_eu_evidence(
    params: Mapping[str, Any],
    *,
    topology: Topology,
    pki_dir: Path,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None,
    protocol_target: Any,
    back_url: str,
    purpose: str,
) -> EuResult:
    """``eu_order``: see the module docstring."""
    from noots.consumers.demo import SERVICES

    consumer = str(params["as"])
    evidence = str(params["evidence"])
    spec = topology.consumer(consumer)
    kind = SERVICES.get(spec.kind)
    default = next(
        (
            need.eu
            for need in (kind.needs if kind is not None else ())
            if need.evidence_type == evidence and need.eu is not None
        ),
        None,
    )
    country = params.get("country") or (default.country if default else None)
    requirement = params.get("requirement") or (default.requirement if default else None)
    requirement_name = params.get("requirement_name") or (
        default.requirement_name if default else requirement
    )
    procedure = params.get("procedure") or (default.procedure if default else "T3")
    if country is None or requirement is None:
        raise EuStepFailed(
            f"{consumer} has no demo order for {evidence}: give country and requirement"
        )
    person = _identity(str(params.get("identity", "normal")))
    query = PersonQuery(person.given_names.split()[0], person.family_name, person.date_of_birth)
    participant = load_participant(pki_dir, consumer, clock=clock)
    log = open_protocol_log(protocol_target, party=consumer, clock=clock)
    decision: Decision = "decline" if params.get("decide") == "decline" else "approve"
    result = EuResult("refused")
    try:
        async with httpx.AsyncClient(transport=transport, timeout=30.0, trust_env=False) as http:
            client = AsyncClient(
                participant,
                Endpoints.from_topology(topology),
                topology,
                http=http,
                protocol_log=log,
            )
            try:
                placed = await client.order_evidence(
                    evidence,
                    purpose=purpose,
                    person=query,
                    country=str(country),
                    requirement=str(requirement),
                    requirement_name=str(requirement_name),
                    back_url=back_url,
                    procedure=str(procedure),
                )
                result.request, result.request_id = placed.raw_request, str(placed.order_id)
                walk = await walk_citizen(http, placed.url_to_ip, decision=decision)
                if walk.returned_to != back_url:
                    result.problems.append(
                        _(
                            f"die Bürgerin kam nicht zum Online-Dienst zurück: {walk.returned_to}",
                            f"the citizen did not come back to the online service: "
                            f"{walk.returned_to}",
                        )
                    )
                found = await client.get_evidence(placed)
            except NootsError as exc:
                result.error, result.code = exc, exc.code.value
                result.summary = _(
                    f"abgelehnt {exc.code.value}: {exc.message}",
                    f"refused {exc.code.value}: {exc.message}",
                )
                return result
            if isinstance(found, EuEvidence):
                result.outcome = "delivered"
                result.response = found.raw_response
                result.summary = _(
                    f"Nachweis von {found.issuer} über die {found.platform}",
                    f"evidence from {found.issuer} through the {found.platform}",
                )
            else:
                result.outcome = "pending"
                result.summary = _("angekündigt (ResponseAvailableDateTime)", "announced")
            return result
    finally:
        log.close()
