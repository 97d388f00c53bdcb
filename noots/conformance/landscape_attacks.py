"""The attack kit against a running landscape: every component that takes input, attacked.

For each component of the topology the runner

1. reads what it accepts from its ``/openapi.json`` and sends every POST and PUT endpoint
   hostile bodies that need no key: the UTF-16 document whose parameter entity names the
   zero device (issue 13's denial of service), the same construct naming an existing file, a
   missing file and a directory (the answers must not tell them apart), entity expansion, a
   gzip bomb, a chunked body, a body over the size limit (XML endpoints), the wrong method;
2. sends what only this kind of component takes: signed envelopes broken every way the
   attack kit knows, and valid ones re-encoded, to a SAK's transport endpoint (with a valid
   access token, so the checks behind the token are reached); hostile bodies and foreign
   tokens to a SAK's consumer API and a register's provider endpoint; broken client
   assertions to the IAM's token endpoint; a hostile eID token to the Datenschutzcockpit;
   unauthenticated calls to admin endpoints and the dashboard's operator pages, its event
   sink and a foreign ``Host``;
3. asks an online service's SAK for an unknown, a blocked and an ambiguous person: the
   answers must be equal (status, code, detail) and take about the same time;
4. checks that the component's ``/health`` still answers within a second.

Each attack is one check: passed = refused cleanly (an answer in time, no server error, no
data; for XML endpoints no acceptance), failed = a problem. The report has one section per
component (kind ``attack``); ``noots conformance attack`` prints the counts per component.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import importlib
import json
import re
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from noots.clock import Clock
from noots.components import Component, landscape_components
from noots.conformance.answers import Exchange
from noots.conformance.attacks import ATTACKS, AttackKit, personal_data
from noots.conformance.consumer_api import ConsumerApi
from noots.conformance.credentials import ScratchIssuer, TokenMint
from noots.conformance.i18n import _
from noots.conformance.report import Check, Report, Section, Status, excerpt
from noots.conformance.requests import RequestFactory
from noots.errors import NootsError, UpstreamError
from noots.eu.registry import QUERY_DATA_SERVICES, QUERY_EVIDENCE_TYPES
from noots.messages import NaturalPerson, Subject
from noots.pki import Role
from noots.sak import (
    CONSUMER_REQUESTS_PATH,
    PROVIDER_REQUESTS_PATH,
    PROVIDER_TRANSFERS_PATH,
    ROUTES_PATH,
    TRANSPORT_PATH,
    XML_MEDIA_TYPE,
)
from noots.sak import Header as SakHeader
from noots.topology import ConsumerSpec, RegisterSpec, Topology
from noots.xml import DEFAULT_LIMITS
from noots.xml import parse as parse_xml

__all__ = [
    "PARAMETER_ENTITY_UTF16",
    "AttackTarget",
    "parameter_entity_document",
    "post_endpoints",
    "run_attacks",
]

Timer = Callable[[], float]

#: Issue 13's document: UTF-16, a parameter entity naming the zero device (an endless file).
PARAMETER_ENTITY_UTF16 = (
    '<?xml version="1.0" encoding="UTF-16"?>'
    '<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///dev/zero"> %p;]><r/>'
).encode("utf-16")

# Paths that take XML whatever their OpenAPI says (their bodies are read raw).
_XML_PATHS = (
    TRANSPORT_PATH,
    PROVIDER_REQUESTS_PATH,
    CONSUMER_REQUESTS_PATH,
    "/vs/v1/tokens",
    "/ida/v1/lookup",
)
_SERVER_ERRORS = range(500, 600)


def parameter_entity_document(uri: str) -> bytes:
    """The UTF-16 parameter-entity document naming ``uri``."""
    return (
        '<?xml version="1.0" encoding="UTF-16"?>'
        f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{uri}"> %p;]><r/>'
    ).encode("utf-16")


@dataclass(frozen=True)
class AttackTarget:
    """A running landscape: its topology, data directory (for the PKI) and the components
    to attack (all of the topology's by default)."""

    topology: Topology
    data_dir: Path
    components: tuple[str, ...] | None = None
    budget: float = 10.0
    health_budget: float = 1.0

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"


@dataclass
class _Run:
    target: AttackTarget
    http: httpx.AsyncClient
    mint: TokenMint
    factory: RequestFactory
    clock: Clock
    timer: Timer
    progress: Callable[[str], None]
    checks: list[Check] = field(default_factory=list)

    @property
    def topology(self) -> Topology:
        return self.target.topology

    async def send(
        self,
        name: str,
        method: str,
        url: str,
        *,
        content: bytes | AsyncIterator[bytes] | None = None,
        headers: dict[str, str] | None = None,
        expect: Callable[[httpx.Response], str | None],
        subjects: Sequence[Subject] = (),
    ) -> httpx.Response | None:
        """One attack; the check says whether it was refused cleanly (``expect`` returns
        None) or what the problem is."""
        started = self.timer()
        try:
            # The budget bounds the whole exchange, whatever the transport (httpx's own timeout
            # does not reach an in-process app).
            async with asyncio.timeout(self.target.budget):
                response = await self.http.request(
                    method,
                    url,
                    content=content,
                    headers=headers or {},
                    timeout=self.target.budget,
                )
        except (httpx.TimeoutException, TimeoutError):
            budget = self.target.budget
            self._record(
                name,
                _(f"keine Antwort innerhalb von {budget:g} s", f"no answer within {budget:g} s"),
                started,
                url,
            )
            return None
        except httpx.HTTPError as exc:
            self._record(
                name,
                _(
                    f"Verbindung fehlgeschlagen: {type(exc).__name__}",
                    f"connection failed: {type(exc).__name__}",
                ),
                started,
                url,
            )
            return None
        problem = None
        if response.status_code in _SERVER_ERRORS:
            problem = _(
                f"HTTP {response.status_code} (ein Serverfehler, keine Ablehnung)",
                f"HTTP {response.status_code} (a server error, not a refusal)",
            )
        problem = problem or expect(response)
        if problem is None and subjects:
            leaks = _leaks(response.content, subjects)
            if leaks:
                problem = _(
                    f"personenbezogene Daten in der Antwort: {', '.join(leaks)}",
                    f"personal data in the answer: {', '.join(leaks)}",
                )
        self._record(name, problem, started, url, response)
        return response

    def _record(
        self,
        name: str,
        problem: str | None,
        started: float,
        url: str,
        response: httpx.Response | None = None,
    ) -> None:
        actual = f"HTTP {response.status_code}" if response is not None else ""
        self.checks.append(
            Check(
                name,
                Status.FAILED if problem else Status.PASSED,
                expected=_(
                    "sauber abgelehnt: eine rechtzeitige Antwort, kein Serverfehler, keine Daten",
                    "refused cleanly: an answer in time, no server error, no data",
                ),
                actual=problem or actual,
                request=url,
                response=excerpt(response.content, 600) if response is not None else "",
                hint=_(
                    "Eine feindselige Anfrage muss eine klare Ablehnung erhalten und darf die "
                    "Komponente nie blockieren, abstürzen lassen oder ausforschen (Issue 13).",
                    "A hostile request must get a clear refusal and never stall, crash or "
                    "probe the component (issue 13).",
                )
                if problem
                else "",
                seconds=self.timer() - started,
            )
        )

    def take(self) -> list[Check]:
        checks, self.checks = self.checks, []
        return checks


def _leaks(body: bytes, subjects: Iterable[Subject]) -> list[str]:
    text = body.decode("utf-8", errors="replace")
    return [
        marker
        for marker in personal_data(subjects)
        if re.search(rf"(?<!\w){re.escape(marker)}(?!\w)", text)
    ]


def _refused(response: httpx.Response) -> str | None:
    """Any answer that is not a server error is a clean refusal (the default)."""
    return None


def _not_accepted(response: httpx.Response) -> str | None:
    """For XML endpoints: hostile XML must not be accepted (no 2xx, no evidence)."""
    status = response.status_code
    if 200 <= status < 300 and b"RepositoryItem" in response.content:
        return _(
            f"HTTP {status} mit Nachweis: das feindselige Dokument wurde angenommen",
            f"HTTP {status} with evidence: the hostile document was accepted",
        )
    if 200 <= status < 300 and not _is_refusal_body(response.content):
        return _(
            f"HTTP {status}: das feindselige Dokument wurde angenommen",
            f"HTTP {status}: the hostile document was accepted",
        )
    return None


def _is_refusal_body(body: bytes) -> bool:
    return any(marker in body for marker in (b"Error", b"EvidenceErrorResponse", b'"code"'))


def _status_in(*allowed: int) -> Callable[[httpx.Response], str | None]:
    def judge(response: httpx.Response) -> str | None:
        if response.status_code in allowed:
            return None
        wanted = _(" oder ", " or ").join(str(s) for s in allowed)
        return _(
            f"HTTP {response.status_code}, erwartet {wanted}",
            f"HTTP {response.status_code}, expected {wanted}",
        )

    return judge


# -- what a component accepts -----------------------------------------------------------------


async def post_endpoints(http: httpx.AsyncClient, base_url: str) -> list[tuple[str, str, bool]]:
    """Every (method, path, takes XML) of POST and PUT in ``base_url``'s ``/openapi.json``,
    path parameters filled in; [] when it serves none."""
    try:
        response = await http.get(base_url + "/openapi.json", timeout=10.0)
        document = response.json() if response.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return []
    found: list[tuple[str, str, bool]] = []
    for path, operations in sorted((document.get("paths") or {}).items()):
        if not isinstance(operations, dict):
            continue
        for method in ("post", "put"):
            operation = operations.get(method)
            if not isinstance(operation, dict):
                continue
            content = ((operation.get("requestBody") or {}).get("content")) or {}
            xml = "application/xml" in content or any(path.startswith(p) for p in _XML_PATHS)
            found.append((method.upper(), _fill(path), xml))
    return found


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _m: str(uuid.uuid4()), path)


# -- the essence of an answer (for comparisons) -----------------------------------------------


def _essence(response: httpx.Response) -> tuple[object, ...]:
    """Status and what an answer says, without ids, times and signatures."""
    body = response.content
    said: tuple[object, ...]
    if body.lstrip().startswith(b"<"):
        try:
            root = parse_xml(body)
        except NootsError:
            said = ("xml",)
        else:
            codes = [
                e.text
                for e in root.iter()
                if isinstance(e.tag, str) and e.tag.endswith(("}Code", "}code"))
            ]
            details = [
                e.text for e in root.iter() if isinstance(e.tag, str) and e.tag.endswith("}Detail")
            ]
            said = (tuple(codes), tuple(_scrub(d or "") for d in details))
    else:
        try:
            data = json.loads(body)
        except ValueError:
            said = (_scrub(body.decode("utf-8", errors="replace"))[:300],)
        else:
            if isinstance(data, dict):
                said = tuple(
                    (k, _scrub(str(data[k])))
                    for k in sorted(data)
                    if k in ("code", "detail", "error", "error_description", "title")
                )
            else:
                said = ("json",)
    return (response.status_code, said)


def _scrub(text: str) -> str:
    text = re.sub(r"[0-9a-fA-F]{8}-[0-9a-fA-F-]{27,}", "<uuid>", text)
    return re.sub(r"\d+", "<n>", text)


# -- the run -----------------------------------------------------------------------------------


async def run_attacks(
    target: AttackTarget,
    *,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
    timer: Timer = time.perf_counter,
    on_progress: Callable[[str], None] | None = None,
) -> Report:
    """Attack every component of ``target`` (see the module docstring); one section each."""
    started = clock.now()
    progress = on_progress or (lambda _text: None)
    topology = target.topology
    components = [
        c
        for c in landscape_components(topology, dashboard=True)
        if target.components is None or c.name in target.components
    ]
    factory = RequestFactory.from_pki_dir(target.pki_dir, topology, clock=clock, via_saks=True)
    sections: list[Section] = []
    with ScratchIssuer(target.pki_dir, clock=clock) as scratch:
        mint = TokenMint(target.pki_dir, topology, scratch, clock=clock)
        async with _client(transport) as http:
            run = _Run(target, http, mint, factory, clock, timer, progress)
            for component in components:
                progress(_(f"{component.name}: wird angegriffen", f"{component.name}: attacking"))
                sections.append(await _component(run, component))
    return Report(
        "attack",
        _("Angriffe auf die laufende Landschaft", "Attacks on the running landscape"),
        topology.base_url("platform"),
        started,
        clock.now(),
        tuple(sections),
        notes=(
            _(
                "bestanden = sauber abgelehnt; nicht bestanden = ein Problem (Blockade, Absturz, "
                "Serverfehler, Daten, eine Antwort, die verrät, was sie nicht verraten darf)",
                "passed = refused cleanly; failed = a problem (stall, crash, server error, data, "
                "an answer that tells what it should not)",
            ),
        ),
    )


def _client(transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, trust_env=False, follow_redirects=False)


async def _component(run: _Run, component: Component) -> Section:
    url = component.url()
    try:
        await run.http.get(url + "/health", timeout=5.0)
    except httpx.HTTPError as exc:
        # Down before the first attack: nothing to learn about its input handling here.
        check = Check(
            _("vor den Angriffen erreichbar", "reachable before the attacks"),
            Status.SKIPPED,
            expected=_("GET /health antwortet", "GET /health answers"),
            actual=_(
                f"{type(exc).__name__}: die Komponente läuft nicht (nicht angegriffen)",
                f"{type(exc).__name__}: the component does not run (not attacked)",
            ),
        )
        return Section(component.name, component.title, "", "", (check,))
    for method, path, xml in await post_endpoints(run.http, url):
        await _generic(run, component, url, method, path, xml)
    kind = component.kind
    if kind == "sak":
        served = run.topology.served_by(component.participant_id)
        if isinstance(served, RegisterSpec):
            await _provider_sak(run, component, served)
        elif isinstance(served, ConsumerSpec):
            await _consumer_sak(run, component, served)
        # The IP's SAK: its generic endpoints above; its EU-facing side has a suite of its own.
    elif kind == "register":
        await _register(run, component)
    elif kind == "platform":
        await _platform(run, component)
        await _behind_token(run, component, "/vs/v1/tokens", run.topology.platform.vs_id, Role.SAK)
    elif kind == "ida":
        await _behind_token(
            run, component, "/ida/v1/lookup", component.participant_id, Role.CONSUMER
        )
    elif kind == "dashboard":
        await _dashboard(run, component)
    elif kind == "eu-common-services":
        await _eu_directory(run, component)
    await _health(run, url)
    return Section(
        component.name,
        component.title,
        _(
            "Jede Eingabe sauber abgelehnt; die Komponente antwortet weiter.",
            "Every input refused cleanly; the component keeps answering.",
        ),
        _("Siehe die einzelnen Prüfungen.", "See each check."),
        tuple(run.take()),
    )


async def _generic(
    run: _Run, component: Component, url: str, method: str, path: str, xml: bool
) -> None:
    where = url + path
    judge = _not_accepted if xml else _refused
    xml_headers = {"Content-Type": XML_MEDIA_TYPE}
    await run.send(
        _(
            f"{method} {path}: UTF-16-Parameter-Entität, die /dev/zero nennt",
            f"{method} {path}: UTF-16 parameter entity naming /dev/zero",
        ),
        method,
        where,
        content=PARAMETER_ENTITY_UTF16,
        headers=xml_headers,
        expect=judge,
    )
    answers = []
    anchor = run.target.pki_dir / "ca" / "root-cert.pem"
    for label, uri in (
        (_("eine vorhandene Datei", "an existing file"), anchor.resolve().as_uri()),
        (
            _("eine fehlende Datei", "a missing file"),
            (anchor.parent / f"missing-{uuid.uuid4().hex}.pem").resolve().as_uri(),
        ),
        (_("ein Verzeichnis", "a directory"), anchor.parent.resolve().as_uri()),
    ):
        response = await run.send(
            _(
                f"{method} {path}: Parameter-Entität, die {label} nennt",
                f"{method} {path}: parameter entity naming {label}",
            ),
            method,
            where,
            content=parameter_entity_document(uri),
            headers=xml_headers,
            expect=judge,
        )
        if response is not None:
            answers.append(_essence(response))
    if len(answers) == 3:
        same = answers[0] == answers[1] == answers[2]
        run.checks.append(
            Check(
                _(
                    f"{method} {path}: dieselbe Antwort, ob eine genannte Datei existiert oder "
                    "nicht",
                    f"{method} {path}: the same answer whether a named file exists or not",
                ),
                Status.PASSED if same else Status.FAILED,
                expected=_(
                    "eine Antwort für eine vorhandene Datei, eine fehlende Datei und ein "
                    "Verzeichnis",
                    "one answer for an existing file, a missing file and a directory",
                ),
                actual=_("dieselbe Antwort", "the same answer")
                if same
                else _(
                    f"die Antworten unterscheiden sich: {answers}", f"answers differ: {answers}"
                ),
                request=where,
                hint=""
                if same
                else _(
                    "Jedes DOCTYPE ablehnen, bevor der Parser irgendetwas auflöst.",
                    "Refuse any DOCTYPE before the parser resolves anything.",
                ),
            )
        )
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        b"]><r>&c;&c;&c;&c;</r>"
    )
    await run.send(
        _(f"{method} {path}: Entitätenexpansion", f"{method} {path}: entity expansion"),
        method,
        where,
        content=laughs,
        headers=xml_headers,
        expect=judge,
    )
    bomb = gzip.compress(b"\0" * (16 * 1024 * 1024), compresslevel=9)
    await run.send(
        _(
            f"{method} {path}: gzip-Bombe (Content-Encoding: gzip)",
            f"{method} {path}: gzip bomb (Content-Encoding: gzip)",
        ),
        method,
        where,
        content=bomb,
        headers={**xml_headers, "Content-Encoding": "gzip"},
        expect=judge,
    )

    async def chunks() -> AsyncIterator[bytes]:
        half = len(PARAMETER_ENTITY_UTF16) // 2
        yield PARAMETER_ENTITY_UTF16[:half]
        yield PARAMETER_ENTITY_UTF16[half:]

    await run.send(
        _(f"{method} {path}: Inhalt in Chunks", f"{method} {path}: chunked body"),
        method,
        where,
        content=chunks(),
        headers=xml_headers,
        expect=judge,
    )
    await run.send(
        _(f"{method} {path}: JSON statt XML", f"{method} {path}: JSON where XML belongs")
        if xml
        else _(f"{method} {path}: XML-Inhalt", f"{method} {path}: XML body"),
        method,
        where,
        content=b'{"a": [1, 2, 3]}' if xml else b"<r/>",
        headers={"Content-Type": "application/json" if xml else XML_MEDIA_TYPE},
        expect=judge,
    )
    if xml:
        await run.send(
            _(
                f"{method} {path}: ein Inhalt über der Größengrenze",
                f"{method} {path}: a body over the size limit",
            ),
            method,
            where,
            content=b"<r>" + b" " * (DEFAULT_LIMITS.max_bytes + 1024) + b"</r>",
            headers=xml_headers,
            expect=judge,
        )
    await run.send(
        _(
            f"DELETE {path}: eine Methode, die der Endpunkt nicht annimmt",
            f"DELETE {path}: a method it does not take",
        ),
        "DELETE",
        where,
        expect=_refused,
    )


async def _health(run: _Run, url: str) -> None:
    started = run.timer()
    try:
        response = await run.http.get(url + "/health", timeout=run.target.health_budget)
        ok = response.status_code in (200, 503)
        actual = f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        budget = run.target.health_budget
        ok, actual = (
            False,
            _(
                f"keine Antwort innerhalb von {budget:g} s ({type(exc).__name__})",
                f"no answer within {budget:g} s ({type(exc).__name__})",
            ),
        )
    budget = run.target.health_budget
    run.checks.append(
        Check(
            _(
                "GET /health antwortet nach den Angriffen innerhalb einer Sekunde",
                "GET /health answers within a second after the attacks",
            ),
            Status.PASSED if ok else Status.FAILED,
            expected=_(
                f"200 oder 503 innerhalb von {budget:g} s", f"200 or 503 within {budget:g} s"
            ),
            actual=actual,
            request=url + "/health",
            hint=""
            if ok
            else _(
                "Eine feindselige Anfrage darf eine Komponente nie blockieren.",
                "One hostile request must never stall a component.",
            ),
            seconds=run.timer() - started,
        )
    )


# -- per kind ------------------------------------------------------------------------------------


def _kit(run: _Run, register: RegisterSpec, consumer: str, subject: Subject) -> AttackKit:
    others = [c.participant_id for c in run.topology.consumers if c.participant_id != consumer]
    return AttackKit(
        run.factory,
        consumer=consumer,
        provider=register.participant_id,
        evidence_type=register.evidence_types[0],
        subject=subject,
        other_subject=NaturalPerson("Musterfrau", "Lena", date(1992, 3, 14), "01234567812"),
        other_consumer=others[0] if others else None,
    )


async def _provider_sak(run: _Run, component: Component, register: RegisterSpec) -> None:
    from noots.conformance.provider import default_target

    topology = run.topology
    try:
        provider = default_target(topology, register.participant_id, component.url())
    except NootsError:
        return
    sak_id = component.participant_id
    kit = _kit(run, register, provider.consumer, provider.subject)
    token = run.mint.bearer(topology.sak_id(provider.consumer), Role.SAK, sak_id)
    url = component.url() + TRANSPORT_PATH
    headers = {"Content-Type": XML_MEDIA_TYPE, "Authorization": token}
    subjects = [provider.subject, kit.forged_subject]
    # Within one administrative area the law needs no VS token: sending none is no attack.
    needs_token = topology.vs_rule(
        provider.consumer, register.participant_id, uses_idnr=True
    ).required
    for attack in ATTACKS.values():
        if not attack.applies_to(kit) or (attack.name == "no_token" and not needs_token):
            continue
        hostile = attack.build(kit)
        for earlier in hostile.prelude:
            await run.http.post(url, content=earlier, headers=headers, timeout=run.target.budget)
        await run.send(
            _(f"Umschlag: {attack.description}", f"envelope: {attack.description}"),
            "POST",
            url,
            content=hostile.raw,
            headers=headers,
            expect=_envelope_refusal,
            subjects=subjects,
        )
    for encoding in ("utf-16", "utf-16-be", "utf-32", "iso-8859-1"):
        raw = kit.fresh().raw.decode("utf-8")
        for quote in ("'", '"'):
            raw = raw.replace(
                f"encoding={quote}UTF-8{quote}", f"encoding={quote}{encoding.upper()}{quote}", 1
            )
        await run.send(
            _(
                f"Umschlag: ein gültiger Umschlag, umkodiert in {encoding.upper()}",
                f"envelope: a valid envelope re-encoded as {encoding.upper()}",
            ),
            "POST",
            url,
            content=raw.encode(encoding),
            headers=headers,
            expect=_envelope_refusal,
            subjects=subjects,
        )
    for attack in _signature_kit(run, kit):
        await run.send(
            _(
                f"Umschlag ({attack.attack_class}): {attack.name}",
                f"envelope ({attack.attack_class}): {attack.name}",
            ),
            "POST",
            url,
            content=attack.raw,
            headers=headers,
            expect=_refused if attack.harmless else _envelope_refusal,
        )
    await run.send(
        _("Transport ohne Zugriffstoken", "transport without an access token"),
        "POST",
        url,
        content=kit.fresh().raw,
        headers={"Content-Type": XML_MEDIA_TYPE},
        expect=_status_in(401),
        subjects=subjects,
    )


def _envelope_refusal(response: httpx.Response) -> str | None:
    if response.status_code < 400:
        return _(
            f"HTTP {response.status_code}: angenommen", f"HTTP {response.status_code}: accepted"
        )
    if b"RepositoryItem" in response.content:
        return _("Nachweis in der Ablehnung", "evidence in the refusal")
    return None


def _signature_kit(run: _Run, kit: AttackKit) -> list[Any]:
    """The attacks of :mod:`noots.testing.signature_attacks` where it exists (a hook until it
    lands on main): KeyInfo and chain tricks, algorithm downgrades, harmless rewrites and
    re-encodings of a valid envelope."""
    try:
        module = importlib.import_module("noots.testing.signature_attacks")
    except ImportError:
        return []
    kit_class = getattr(module, "SignatureAttackKit", None)
    generate = getattr(module, "signature_attacks", None)
    if kit_class is None or generate is None:
        return []
    from noots.pki import load_certificate

    sender = run.topology.sak_id(kit.consumer)
    # Another valid participant than the signer: another online service's SAK, or (in a
    # landscape with one online service) the register itself.
    other, other_role = (
        (run.topology.sak_id(kit.other_consumer), Role.SAK)
        if kit.other_consumer
        else (kit.provider, Role.PROVIDER)
    )
    anchor = load_certificate((run.target.pki_dir / "ca" / "root-cert.pem").read_bytes())
    attack_kit = kit_class(
        document=kit.fresh().raw,
        signer=run.mint.party(sender, Role.SAK).credential,
        other=run.mint.party(other, other_role).credential,
        trust_anchor=anchor,
    )
    return list(generate(attack_kit))


async def _consumer_sak(run: _Run, component: Component, consumer: ConsumerSpec) -> None:
    topology = run.topology
    sak_id = component.participant_id
    url = component.url()
    own = run.mint.bearer(consumer.participant_id, Role.CONSUMER, sak_id)
    others = [
        c.participant_id for c in topology.consumers if c.participant_id != consumer.participant_id
    ]
    await run.send(
        _("Consumer-API ohne Zugriffstoken", "consumer API without an access token"),
        "GET",
        url + ROUTES_PATH + "?evidenceType=Meldebescheinigung",
        expect=_status_in(401),
    )
    if others:
        await run.send(
            _(
                f"Consumer-API mit einem Token eines anderen Online-Dienstes ({others[0]})",
                f"consumer API with a token of another online service ({others[0]})",
            ),
            "GET",
            url + ROUTES_PATH + "?evidenceType=Meldebescheinigung",
            headers={"Authorization": run.mint.bearer(others[0], Role.CONSUMER, sak_id)},
            expect=_status_in(403),
        )
    headers = {
        "Authorization": own,
        "Content-Type": XML_MEDIA_TYPE,
        SakHeader.PURPOSE: "Test",
        SakHeader.SERVICE_ID: "urn:noots:service:x:y",
    }
    for name in ("xxe_utf16", "billion_laughs_utf16", "parameter_entity", "deep_nesting"):
        attack = ATTACKS[name]
        register = topology.registers[0]
        kit = _kit(
            run, register, consumer.participant_id, NaturalPerson("A", "B", date(1990, 1, 1))
        )
        await run.send(
            _(f"Consumer-API: {attack.description}", f"consumer API: {attack.description}"),
            "POST",
            url + CONSUMER_REQUESTS_PATH,
            content=attack.build(kit).raw,
            headers=headers,
            expect=_status_in(400, 401, 403, 413, 415, 422),
        )
    await _alike(run, component, consumer, own)


async def _alike(run: _Run, component: Component, consumer: ConsumerSpec, bearer: str) -> None:
    """Unknown, blocked and ambiguous people answered alike through this online service."""
    from noots.synthetic.identities import BEHAVIOUR_IDENTITIES, Behaviour

    topology = run.topology
    rows = [
        a
        for a in topology.authorisations
        if a.consumer == consumer.participant_id
        and topology.evidence_type(a.evidence_type).subject == "natural"
    ]
    rows.sort(key=lambda a: topology.evidence_type(a.evidence_type).regional)
    if not rows:
        return
    row = rows[0]
    spec = topology.evidence_type(row.evidence_type)
    region: str | None = None
    if spec.regional:
        providers = [r for r in topology.registers if row.evidence_type in r.evidence_types]
        if not providers:
            return
        region = providers[0].region

    def person(behaviour: Behaviour, *, with_idnr: bool = True) -> NaturalPerson:
        found = next(i for i in BEHAVIOUR_IDENTITIES if i.behaviour is behaviour)
        return NaturalPerson(
            found.family_name,
            found.given_names.split()[0],
            found.date_of_birth,
            found.idnr if with_idnr else None,
        )

    people = {
        "unknown": person(Behaviour.NOT_FOUND),
        "blocked": person(Behaviour.INFORMATION_BLOCK),
        "ambiguous": person(Behaviour.AMBIGUOUS, with_idnr=False),
    }
    api = ConsumerApi(
        run.http,
        component.url(),
        consumer.participant_id,
        bearer,
        topology,
        run.clock,
        run.timer,
        run.target.budget,
    )
    answers: dict[str, list[Exchange]] = {name: [] for name in people}
    try:
        for _round in range(3):
            for name, subject in people.items():
                answers[name].append(
                    await api.retrieve(name, row.evidence_type, subject, region=region)
                )
    except (UpstreamError, httpx.HTTPError) as exc:
        run.checks.append(
            Check(
                _(
                    "unbekannte, gesperrte und mehrdeutige Personen gleich beantwortet",
                    "unknown, blocked and ambiguous people answered alike",
                ),
                Status.SKIPPED,
                actual=_(f"kein Abruf möglich: {exc}", f"no retrieval possible: {exc}"),
            )
        )
        return
    said = {
        name: {(e.status, e.answer.kind, e.answer.code, e.answer.detail) for e in exchanges}
        for name, exchanges in answers.items()
    }
    alike = said["unknown"] == said["blocked"] == said["ambiguous"] and len(said["unknown"]) == 1
    run.checks.append(
        Check(
            _(
                f"{row.evidence_type}: unbekannte, gesperrte und mehrdeutige Personen gleich "
                "beantwortet",
                f"{row.evidence_type}: unknown, blocked and ambiguous people answered alike",
            ),
            Status.PASSED if alike else Status.FAILED,
            expected=_(
                "derselbe Status, Code und Detailtext für alle drei",
                "the same status, code and detail for all three",
            ),
            actual=_("dieselbe Antwort", "the same answer")
            if alike
            else _(f"die Antworten unterscheiden sich: {said}", f"answers differ: {said}"),
            hint=""
            if alike
            else _(
                "Eine Auskunftssperre und mehrere Treffer müssen genau wie eine unbekannte "
                "Person aussehen (§ 6 Abs. 3 IDNrG, § 51 BMG).",
                "An information block and several matches must look exactly "
                "like an unknown person (§ 6 Abs. 3 IDNrG, § 51 BMG).",
            ),
        )
    )
    medians = {
        name: statistics.median(e.seconds for e in exchanges) for name, exchanges in answers.items()
    }
    slowest, fastest = max(medians.values()), min(medians.values())
    telling = slowest - fastest > 0.5 and slowest - fastest > 0.5 * slowest
    run.checks.append(
        Check(
            _(
                f"{row.evidence_type}: und in etwa derselben Zeit",
                f"{row.evidence_type}: and in about the same time",
            ),
            Status.FAILED if telling else Status.PASSED,
            expected=_(
                "Mediane aus je drei höchstens 0,5 s oder die Hälfte der langsamsten auseinander",
                "medians of three within 0.5 s or half the slowest",
            ),
            actual=", ".join(f"{name} {value:.3f} s" for name, value in medians.items()),
            hint=_("Für alle drei dieselbe Arbeit tun.", "Do the same work for all three.")
            if telling
            else "",
        )
    )


async def _register(run: _Run, component: Component) -> None:
    topology = run.topology
    url = component.url()
    sak_id = topology.sak_id(component.participant_id)
    own = run.mint.bearer(sak_id, Role.SAK, component.participant_id)
    await run.send(
        _("Provider-Endpunkt ohne Zugriffstoken", "provider endpoint without an access token"),
        "POST",
        url + PROVIDER_REQUESTS_PATH,
        content=b"<r/>",
        headers={"Content-Type": XML_MEDIA_TYPE},
        expect=_status_in(401),
    )
    consumer = topology.consumers[0].participant_id if topology.consumers else "x"
    await run.send(
        _(
            "Provider-Endpunkt mit dem Token eines Online-Dienstes",
            "provider endpoint with an online service's token",
        ),
        "POST",
        url + PROVIDER_REQUESTS_PATH,
        content=b"<r/>",
        headers={
            "Content-Type": XML_MEDIA_TYPE,
            "Authorization": run.mint.bearer(consumer, Role.CONSUMER, component.participant_id),
        },
        expect=_status_in(403),
    )
    metadata = {
        SakHeader.CONSUMER: consumer,
        SakHeader.PURPOSE: "Test",
        SakHeader.SERVICE_ID: topology.service_id(component.participant_id, "x"),
        SakHeader.MESSAGE_ID: str(uuid.uuid4()),
        SakHeader.VS_TOKEN_REQUIRED: "true",
    }
    for label, body in (
        (_("UTF-16-Parameter-Entität", "UTF-16 parameter entity"), PARAMETER_ENTITY_UTF16),
        (
            _("ein DOCTYPE mit externer Entität", "a DOCTYPE with an external entity"),
            b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        ),
        (_("kein XML", "not XML"), b"\xff\xfe\x00garbage"),
    ):
        await run.send(
            _(
                f"Provider-Endpunkt, als sein eigener SAK: {label}",
                f"provider endpoint, as its own SAK: {label}",
            ),
            "POST",
            url + PROVIDER_REQUESTS_PATH,
            content=body,
            headers={"Content-Type": XML_MEDIA_TYPE, "Authorization": own, **metadata},
            expect=_not_accepted,
        )
    await run.send(
        _("Protokollexport ohne Zugriffstoken", "protocol export without an access token"),
        "GET",
        url + PROVIDER_TRANSFERS_PATH + f"?requestId=urn:uuid:{uuid.uuid4()}",
        expect=_status_in(401),
    )
    await run.send(
        _("Admin: Störungsplan ohne Admin-Token", "admin: fault plan without the admin token"),
        "PUT",
        url + "/admin/v1/faults",
        content=b'{"rates": {"error": 1.0}}',
        headers={"Content-Type": "application/json"},
        expect=_status_in(401, 404, 405),
    )


async def _behind_token(
    run: _Run, component: Component, path: str, audience: str, role: Role
) -> None:
    """Hostile XML that reaches the parser: sent with a valid access token of a caller the
    endpoint accepts (an online service's SAK for the VS, an online service for the IDA)."""
    topology = run.topology
    if not topology.consumers:
        return
    consumer = topology.consumers[0].participant_id
    caller = topology.sak_id(consumer) if role is Role.SAK else consumer
    headers = {
        "Content-Type": XML_MEDIA_TYPE,
        "Authorization": run.mint.bearer(caller, role, audience, acts_for=consumer),
    }
    for label, body in (
        (
            _(
                "UTF-16-Parameter-Entität, die /dev/zero nennt",
                "UTF-16 parameter entity naming /dev/zero",
            ),
            PARAMETER_ENTITY_UTF16,
        ),
        (
            _(
                "Parameter-Entität, die den Schlüssel der CA nennt",
                "parameter entity naming the CA's key",
            ),
            parameter_entity_document(
                (run.target.pki_dir / "ca" / "root-key.pem").resolve().as_uri()
            ),
        ),
        (
            _("ein DOCTYPE in ISO-8859-1", "a DOCTYPE in ISO-8859-1"),
            b'<?xml version="1.0" encoding="ISO-8859-1"?>'
            b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        ),
    ):
        await run.send(
            _(
                f"POST {path} mit einem gültigen Token: {label}",
                f"POST {path} with a valid token: {label}",
            ),
            "POST",
            component.url() + path,
            content=body,
            headers=headers,
            expect=_not_accepted,
        )


async def _platform(run: _Run, component: Component) -> None:
    url = component.url()
    iam_id = run.topology.platform.iam_id
    from noots.access import CLIENT_ASSERTION_TYPE, GRANT_TYPE

    for label, assertion in (
        ("alg none", _jwt({"alg": "none", "typ": "JWT"}, {"iss": "x", "sub": "x", "aud": iam_id})),
        (_("kein JWT", "not a JWT"), "a.b"),
        (
            _("eine UTF-16-Parameter-Entität", "a UTF-16 parameter entity"),
            PARAMETER_ENTITY_UTF16.hex(),
        ),
    ):
        form = f"grant_type={GRANT_TYPE}&client_assertion_type={CLIENT_ASSERTION_TYPE}"
        form += f"&client_assertion={assertion}&audience={iam_id}"
        await run.send(
            _(
                f"Token-Endpunkt des IAM: Client Assertion {label}",
                f"IAM token endpoint: client assertion {label}",
            ),
            "POST",
            url + "/iam/v1/token",
            content=form.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            expect=_status_in(400, 401, 403),
        )
    await run.send(
        _(
            "Token-Endpunkt des IAM: ein Formular über der Größengrenze",
            "IAM token endpoint: a form over the size limit",
        ),
        "POST",
        url + "/iam/v1/token",
        content=b"a=" + b"b" * (2 * 1024 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        expect=_status_in(400, 413),
    )
    token = base64.b64encode(PARAMETER_ENTITY_UTF16).decode("ascii")
    await run.send(
        _(
            "Datenschutzcockpit: ein eID-Token, das ein UTF-16-Dokument mit Parameter-Entität ist",
            "Datenschutzcockpit: an eID token that is a UTF-16 parameter-entity document",
        ),
        "GET",
        url + "/dsc/v1/transfers",
        headers={"Authorization": f"Bearer {token}"},
        expect=_status_in(400, 401, 403),
    )
    await run.send(
        _("Admin: Sperren ohne Admin-Token", "admin: revoke without the admin token"),
        "POST",
        url + "/admin/v1/revoke",
        content=b'{"participantId": "noots-vs"}',
        headers={"Content-Type": "application/json"},
        expect=_status_in(401, 403, 404, 405),
    )


def _jwt(header: dict[str, Any], claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    return f"{part(header)}.{part(claims)}."


async def _eu_directory(run: _Run, component: Component) -> None:
    """The Evidence Broker and the Data Service Directory take only query strings: hostile
    ones are refused (400, or 404 for a well-formed query nothing matches), never a 500."""
    url = component.url()
    searches = (
        ("/eb/rest/search", QUERY_EVIDENCE_TYPES, "requirement-id"),
        ("/dsd/rest/search", QUERY_DATA_SERVICES, "evidence-type-classification"),
    )
    judge = _status_in(400, 404, 414, 431)
    for path, query_id, key in searches:
        good = f"queryId={query_id}&country-code=AT"
        variants = (
            (_("ohne Parameter", "no parameters"), ""),
            (_("unbekannte queryId", "unknown queryId"), "queryId=urn:x&country-code=AT"),
            (_("Wert von 32 KB", "a 32 KB value"), f"{good}&{key}=https://x/{'a' * 32768}"),
            (
                _("ungültiges UTF-8 (prozentkodiert)", "invalid UTF-8 (percent-encoded)"),
                f"{good}&{key}=%ff%fe%00",
            ),
            (
                _("DOCTYPE im Wert", "a DOCTYPE in the value"),
                f"{good}&{key}=%3C!DOCTYPE%20x%20SYSTEM%20%22file:///etc/passwd%22%3E",
            ),
            (
                _("Parameter doppelt", "a parameter twice"),
                f"{good}&country-code=FR&{key}=https://a&{key}=https://b",
            ),
            (
                _("Ländercode mit Steuerzeichen", "a country code with control characters"),
                f"queryId={query_id}&country-code=A%0aT&{key}=https://a",
            ),
        )
        for label, query in variants:
            await run.send(
                f"GET {path}: {label}",
                "GET",
                f"{url}{path}?{query}",
                expect=judge,
            )


async def _dashboard(run: _Run, component: Component) -> None:
    url = component.url()
    for path in ("/ablauf", "/datenschutzcockpit", "/berichte", "/api/v1/faults", "/events/v1"):
        await run.send(
            _(
                f"GET {path} ohne Betreiber-Anmeldung",
                f"GET {path} without the operator login",
            ),
            "GET",
            url + path,
            expect=_no_operator_page,
        )
    await run.send(
        _(
            "POST /events/v1: ein gefälschtes Ereignis ohne Authentifizierung",
            "POST /events/v1: a forged event without authentication",
        ),
        "POST",
        url + "/events/v1",
        content=b'{"kind": "delivered"}',
        headers={"Content-Type": "application/json"},
        expect=_status_in(401, 403),
    )
    await run.send(
        _(
            "GET / mit einem fremden Host (DNS-Rebinding)",
            "GET / with a foreign Host (DNS rebinding)",
        ),
        "GET",
        url + "/",
        headers={"Host": "attacker.example"},
        expect=_status_in(400, 403, 421),
    )


def _no_operator_page(response: httpx.Response) -> str | None:
    if response.status_code in (301, 302, 303, 307, 401, 403):
        return None
    return _(
        f"HTTP {response.status_code}: ohne Betreiber-Anmeldung ausgeliefert",
        f"HTTP {response.status_code}: served without the operator login",
    )
