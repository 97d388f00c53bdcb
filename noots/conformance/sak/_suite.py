"""The SAK conformance suite: someone's own SAK implementation against SAK-01 … SAK-10.

Two sides, as a SAK has two:

- **provider side** (the SAK in front of a register): the suite sends envelopes to its
  ``POST /transport/v1/messages`` as an online service's SAK would, with the access token of
  that SAK: valid ones, and every kind of broken, hostile, replayed, wrongly addressed and
  wrongly authenticated one; it grades the signed answers (SAK-01 … 06, 08, 09, 10). A
  register must stand behind the SAK (a mock of the simulator will do) for the valid ones.
- **consumer side** (the SAK of an online service): the suite plays the online service on its
  consumer API and the provider's SAK behind it (:mod:`noots.conformance.sak._double`, served
  where the RDN says that SAK is) and answers wrongly on purpose; the SAK must refuse those
  answers and hand the online service no data (SAK-07), accept only its own online service
  on the consumer API (SAK-09), refuse hostile bodies cleanly (SAK-04), and answer
  ``/health`` (SAK-10).

The suite signs with the landscape's PKI and scratch certificates of its root; it never
changes the PKI (the revoked-sender probes need ``--prepare`` once).
"""

from __future__ import annotations

import importlib
import json
import re
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx

from noots import messages
from noots.clock import Clock
from noots.conformance.answers import Answer, Exchange, read_answer
from noots.conformance.attacks import ATTACKS, AttackKit, personal_data
from noots.conformance.catalogue import SAK_CONDITIONS, condition
from noots.conformance.consumer_api import ConsumerApi, submit
from noots.conformance.credentials import ScratchIssuer, TokenMint, revoked_credential
from noots.conformance.i18n import _
from noots.conformance.report import Check, Report, Section, Status, excerpt
from noots.conformance.requests import RequestFactory, SignedRequest
from noots.conformance.sak._double import EVIDENCE_MARKER, Answering, ProviderSakDouble
from noots.envelope import open_envelope
from noots.errors import EdmCode, NootsError, UpstreamError
from noots.messages import NaturalPerson, Subject
from noots.participant import load_validator
from noots.pki import Role
from noots.sak import (
    ROUTES_PATH,
    TRANSPORT_PATH,
    XML_MEDIA_TYPE,
)
from noots.signing import XmlSigner, XmlVerifier
from noots.tls import TlsFiles, client_context
from noots.topology import Topology

__all__ = ["SakTarget", "SakTls", "default_sak_target", "provider_sak_double", "run_sak_suite"]

Side = Literal["provider", "consumer"]
Timer = Callable[[], float]

# Hostile XML whose code the documentation leaves open: any clean refusal will do.
_HOSTILE = (
    "xxe_external_entity",
    "billion_laughs",
    "xxe_utf16",
    "billion_laughs_utf16",
    "external_dtd",
    "parameter_entity",
    "stylesheet_instruction",
    "oversize",
    "deep_nesting",
    "very_deep_nesting",
    "too_many_elements",
)
_SIGNATURE = (
    "unsigned",
    "tampered_after_signing",
    "moved_signed_body",
    "duplicated_body",
    "wrapped_in_unknown_element",
    "signature_in_object",
    "duplicate_id_reference",
    "header_only_signature",
    "two_signatures",
    "uncanonicalisable_namespace",
)
# Refusals of a body that was never read in full cannot be bound to its bytes.
_UNREAD = ("oversize",)


@dataclass(frozen=True)
class SakTarget:
    """The SAK under test: ``url`` and ``sak_id`` (its participant id), the ``side`` it
    serves, the online service and register of the exchanges, and whom they are about."""

    url: str
    sak_id: str
    side: Side
    consumer: str
    register: str
    evidence_type: str
    subject: Subject
    region: str | None = None
    time_budget: float = 20.0

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")


@dataclass(frozen=True)
class SakTls:
    """Mutual TLS towards the SAK under test: the suite presents the certificate of the party
    it plays; ``ca_file`` trusts another CA for the SAK's server certificate."""

    ca_file: Path | None = None


def default_sak_target(
    topology: Topology,
    sak_id: str,
    url: str,
    *,
    consumer: str | None = None,
    register: str | None = None,
    evidence_type: str | None = None,
) -> SakTarget:
    """The target with the topology's parties filled in: for a register's SAK an online
    service authorised to ask that register; for an online service's SAK a register it may
    ask (the Fahrzeughalterauskunft or the first it is authorised for)."""
    from noots.conformance.provider import default_target

    served = topology.served_by(sak_id)
    if served.participant_id in {r.participant_id for r in topology.registers}:
        provider = default_target(topology, served.participant_id, url, consumer=consumer)
        return SakTarget(
            url,
            sak_id,
            "provider",
            provider.consumer,
            served.participant_id,
            provider.evidence_type,
            provider.subject,
        )
    rows = [a for a in topology.authorisations if a.consumer == served.participant_id]
    if evidence_type is not None:
        rows = [a for a in rows if a.evidence_type == evidence_type]
    if not rows:
        raise UpstreamError(f"{served.participant_id} is not authorised for any evidence type")
    chosen = rows[0]
    region: str | None = None
    if register is None:
        spec = topology.evidence_type(chosen.evidence_type)
        providers = [r for r in topology.registers if chosen.evidence_type in r.evidence_types]
        if spec.regional:
            region = providers[0].region
        register = providers[0].participant_id
    else:
        region = next((r.region for r in topology.registers if r.participant_id == register), None)
    provider = default_target(topology, register, url, consumer=served.participant_id)
    return SakTarget(
        url,
        sak_id,
        "consumer",
        served.participant_id,
        register,
        chosen.evidence_type,
        provider.subject,
        region=region,
    )


def provider_sak_double(
    target: SakTarget, topology: Topology, pki_dir: Path, *, clock: Clock
) -> ProviderSakDouble:
    """The provider's SAK the suite plays for a consumer-side target (serve
    :func:`~noots.conformance.sak.provider_sak_app` of it where the RDN points)."""
    from noots.participant import load_credential

    own = topology.sak_id(target.register)
    other = next(
        topology.sak_id(r.participant_id)
        for r in topology.registers
        if r.participant_id != target.register
    )
    return ProviderSakDouble(
        sak_id=own,
        register=target.register,
        signer=XmlSigner(load_credential(pki_dir, own)),
        other_sak=other,
        other_signer=XmlSigner(load_credential(pki_dir, other)),
        clock=clock,
    )


# -- grading ---------------------------------------------------------------------------------


def _leaks(body: bytes, subjects: Iterable[Subject], extra: Sequence[str] = ()) -> list[str]:
    text = body.decode("utf-8", errors="replace")
    markers = [*personal_data(subjects), *extra]
    return [m for m in markers if re.search(rf"(?<!\w){re.escape(m)}(?!\w)", text)]


def _refused(
    name: str,
    exchange: Exchange,
    codes: Iterable[EdmCode] | None,
    subjects: Sequence[Subject],
    hint: str,
) -> Check:
    """A clean refusal: answered in time, an error (0103, env:Error or a JSON problem with a
    4xx/5xx status), with one of ``codes`` (any code when None), no evidence, no personal
    data."""
    answer = exchange.answer
    wanted = [c.value for c in codes] if codes is not None else None
    problems: list[str] = []
    if exchange.transport_error:
        problems.append(
            _(
                f"keine Antwort: {exchange.transport_error}",
                f"no answer: {exchange.transport_error}",
            )
        )
    elif (
        exchange.status is not None
        and exchange.status >= 500
        and not (answer.is_error or _problem_code(exchange))
    ):
        problems.append(
            _(
                f"HTTP {exchange.status} ohne Ablehnung: ein Absturz, keine saubere Ablehnung",
                f"HTTP {exchange.status} without a refusal: a crash, not a clean refusal",
            )
        )
    else:
        code = answer.code if answer.is_error else _problem_code(exchange)
        if code is None and exchange.status is not None and exchange.status >= 400:
            code = _("(HTTP-Fehler)", "(HTTP error)")
        if code is None:
            problems.append(
                _(f"nicht abgelehnt: {answer.describe()}", f"not refused: {answer.describe()}")
            )
        elif wanted is not None and code not in wanted:
            either = _(" oder ", " or ").join(wanted)
            problems.append(_(f"Code {code}, erwartet {either}", f"code {code}, expected {either}"))
        if answer.has_evidence or b"RepositoryItem" in exchange.body:
            problems.append(_("die Antwort enthält einen Nachweis", "the answer carries evidence"))
        leaks = _leaks(exchange.body, subjects)
        if leaks:
            problems.append(
                _(
                    f"personenbezogene Daten in der Antwort: {', '.join(leaks)}",
                    f"personal data in the answer: {', '.join(leaks)}",
                )
            )
    if wanted:
        either = _(" oder ", " or ").join(wanted)
        expected = _(
            f"eine Ablehnung {either}, kein Nachweis, keine personenbezogenen Daten",
            f"a refusal {either}, no evidence, no personal data",
        )
    else:
        expected = _(
            "eine saubere Ablehnung (beliebiger Code), kein Nachweis, keine personenbezogenen "
            "Daten",
            "a clean refusal (any code), no evidence, no personal data",
        )
    return Check(
        name,
        Status.FAILED if problems else Status.PASSED,
        expected=expected,
        actual="; ".join(problems) or exchange.describe(),
        request=excerpt(exchange.raw, 1000),
        response=excerpt(exchange.body, 1200),
        hint=hint if problems else "",
        seconds=exchange.seconds,
    )


def _problem_code(exchange: Exchange) -> str | None:
    """The ``code`` of a JSON problem answer (consumer API, access-token refusals)."""
    if not exchange.body.startswith(b"{"):
        return None
    try:
        data = json.loads(exchange.body)
    except ValueError:
        return None
    code = data.get("code") if isinstance(data, dict) else None
    return str(code) if code else None


# -- the run ---------------------------------------------------------------------------------


@dataclass
class _Run:
    target: SakTarget
    topology: Topology
    factory: RequestFactory
    mint: TokenMint
    http: httpx.AsyncClient
    verifier: XmlVerifier
    clock: Clock
    timer: Timer
    scratch: ScratchIssuer
    exchanges: list[Exchange] = field(default_factory=list)
    #: Exchanges whose signed answer SAK-06 grades (those of bodies the SAK read in full).
    bound: list[Exchange] = field(default_factory=list)

    @property
    def own_sak(self) -> str:
        """The online service's SAK the suite plays (provider side)."""
        return self.topology.sak_id(self.target.consumer)

    def token(self, **options: Any) -> str:
        return self.mint.bearer(self.own_sak, Role.SAK, self.target.sak_id, **options)

    def fresh(self, **options: Any) -> SignedRequest:
        target = self.target
        return self.factory.signed(
            consumer=target.consumer,
            provider=target.register,
            evidence_type=target.evidence_type,
            subject=target.subject,
            **options,
        )

    async def post(
        self,
        name: str,
        raw: bytes,
        *,
        authorization: str | None = "own",
        http: httpx.AsyncClient | None = None,
        bind: bool = True,
    ) -> Exchange:
        headers = {"Content-Type": XML_MEDIA_TYPE}
        if authorization == "own":
            authorization = self.token()
        if authorization is not None:
            headers["Authorization"] = authorization
        started = self.timer()
        try:
            response = await (http or self.http).post(
                self.target.base_url + TRANSPORT_PATH,
                content=raw,
                headers=headers,
                timeout=self.target.time_budget,
            )
        except httpx.HTTPError as exc:
            exchange = Exchange(
                name,
                raw,
                None,
                b"",
                self.timer() - started,
                Answer("empty"),
                transport_error=f"{type(exc).__name__}",
            )
        else:
            answer = read_answer(
                response.content,
                raw,
                verifier=self.verifier,
                participant=self.target.sak_id,
                role=Role.SAK,
            )
            exchange = Exchange(
                name, raw, response.status_code, response.content, self.timer() - started, answer
            )
        self.exchanges.append(exchange)
        if bind and exchange.transport_error is None and exchange.body.startswith(b"<"):
            self.bound.append(exchange)
        return exchange


async def run_sak_suite(
    target: SakTarget,
    *,
    topology: Topology,
    pki_dir: Path,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
    timer: Timer = time.perf_counter,
    tls: SakTls | None = None,
    double: ProviderSakDouble | None = None,
    notes: Sequence[str] = (),
    on_progress: Callable[[str], None] | None = None,
) -> Report:
    """Grade the SAK ``target`` (see the module docstring). ``double`` is the provider's SAK
    the suite plays for a consumer-side target (:func:`provider_sak_double`), served by the
    caller where the target's RDN points. Raises :class:`UpstreamError` when the SAK does
    not answer at all."""
    started = clock.now()
    progress = on_progress or (lambda _text: None)
    factory = RequestFactory.from_pki_dir(pki_dir, topology, clock=clock, via_saks=True)
    verifier = XmlVerifier(load_validator(pki_dir, clock=clock))
    with ScratchIssuer(pki_dir, clock=clock) as scratch:
        mint = TokenMint(pki_dir, topology, scratch, clock=clock)
        verify: ssl.SSLContext | bool = True
        if tls is not None:
            playing = (
                topology.sak_id(target.consumer) if target.side == "provider" else target.consumer
            )
            role = Role.SAK if target.side == "provider" else Role.CONSUMER
            verify = _context(mint, pki_dir, playing, role, tls)
        async with httpx.AsyncClient(transport=transport, trust_env=False, verify=verify) as http:
            run = _Run(target, topology, factory, mint, http, verifier, clock, timer, scratch)
            health = await _health(run)
            if target.side == "provider":
                sections = [health, *(await _provider_side(run, pki_dir, transport, tls, progress))]
            else:
                if double is None:
                    raise ValueError("a consumer-side SAK needs the provider's SAK the suite plays")
                sections = [health, *(await _consumer_side(run, double, progress))]
    order = {c.id: i for i, c in enumerate(SAK_CONDITIONS)}
    sections.sort(key=lambda s: order[s.id])
    if target.side == "provider":
        side = _("Seite des Datenhalters", "provider side")
    else:
        side = _("Seite des Online-Dienstes", "consumer side")
    return Report(
        "sak",
        _(
            f"Konformität des SAK {target.sak_id} ({side})",
            f"SAK conformance of {target.sak_id} ({side})",
        ),
        target.base_url,
        started,
        clock.now(),
        tuple(sections),
        participant=target.sak_id,
        notes=tuple(notes),
    )


def _context(
    mint: TokenMint, pki_dir: Path, participant: str, role: Role, tls: SakTls
) -> ssl.SSLContext:
    credential = mint.party(participant, role).credential
    anchor = tls.ca_file or (pki_dir / "ca" / "root-cert.pem")
    return client_context(TlsFiles(credential.cert_path, credential.key_path, anchor))


async def _health(run: _Run) -> Section:
    url = run.target.base_url + "/health"
    started = run.timer()
    try:
        response = await run.http.get(url, timeout=run.target.time_budget)
    except httpx.HTTPError as exc:
        raise UpstreamError(
            f"{url} does not answer ({type(exc).__name__}): is the SAK running and the URL right?"
        ) from None
    is_json = response.headers.get("content-type", "").startswith("application/json")
    ok = response.status_code in (200, 503) and is_json
    check = Check(
        "GET /health",
        Status.PASSED if ok else Status.FAILED,
        _(
            "200 (betriebsbereit) oder 503 (eingeschränkt) mit JSON-Inhalt",
            "200 (healthy) or 503 (degraded) with a JSON body",
        ),
        f"HTTP {response.status_code}"
        + ("" if is_json else _(", Inhalt ist kein JSON", ", body is not JSON")),
        request=f"GET {url}",
        response=excerpt(response.content, 500),
        hint="" if ok else condition("SAK-10").hint,
        seconds=run.timer() - started,
    )
    return Section.for_condition(condition("SAK-10"), [check])


# -- provider side ---------------------------------------------------------------------------


def _kit(run: _Run, revoked: XmlSigner | None) -> AttackKit:
    target = run.target
    others = [
        c.participant_id for c in run.topology.consumers if c.participant_id != target.consumer
    ]
    other = NaturalPerson("Musterfrau", "Lena", date(1992, 3, 14), "01234567812")
    return AttackKit(
        run.factory,
        consumer=target.consumer,
        provider=target.register,
        evidence_type=target.evidence_type,
        subject=target.subject,
        other_subject=other,
        other_consumer=others[0] if others else None,
        revoked_signer=revoked,
        untrusted_signer=XmlSigner(run.scratch.foreign(run.own_sak, Role.SAK)),
    )


async def _provider_side(
    run: _Run,
    pki_dir: Path,
    transport: httpx.AsyncBaseTransport | None,
    tls: SakTls | None,
    progress: Callable[[str], None],
) -> list[Section]:
    target = run.target
    subjects: list[Subject] = [target.subject]
    progress(_("ein gültiger Umschlag", "a valid envelope"))
    valid = await run.post(_("gültiger Umschlag", "valid envelope"), run.fresh().raw)
    if valid.transport_error is not None:
        raise UpstreamError(
            f"{target.base_url}{TRANSPORT_PATH} does not answer ({valid.transport_error})"
        )
    control = Check(
        _(
            "ein gültiger Umschlag wird mit der 0102 des Registers beantwortet",
            "a valid envelope is answered with the register's 0102",
        ),
        Status.PASSED if valid.answer.kind == "0102" else Status.FAILED,
        expected=_(
            "HTTP 200 mit einer signierten 0102 (das Register hinter dem SAK liefert)",
            "HTTP 200 with a signed 0102 (the register behind the SAK delivers)",
        ),
        actual=valid.describe(),
        request=excerpt(valid.raw, 1000),
        response=excerpt(valid.body, 1200),
        hint=""
        if valid.answer.kind == "0102"
        else _(
            "Eine geprüfte 0101 an Ihr Register übergeben und seine 0102 signiert zurückgeben.",
            "Deliver a verified 0101 to your register and sign its 0102 back.",
        ),
    )
    credential = revoked_credential(pki_dir, clock=run.clock)
    kit = _kit(run, XmlSigner(credential) if credential is not None else None)
    sections: list[Section] = []

    progress(_("SAK-01 Signatur", "SAK-01 signature"))
    sak01 = [control]
    for name in _SIGNATURE:
        attack = ATTACKS[name]
        hostile = attack.build(kit)
        exchange = await run.post(attack.description, hostile.raw)
        sak01.append(
            _refused(
                attack.description, exchange, [hostile.code], subjects, condition("SAK-01").hint
            )
        )
    kit_checks = await _signature_kit(run, subjects)
    # The kit's re-encodings are hostile XML (UTF-8 only): graded with SAK-04.
    reencoded = [c for c in kit_checks if c.name.startswith("re-encoding")]
    sak01.extend(c for c in kit_checks if not c.name.startswith("re-encoding"))
    sections.append(Section.for_condition(condition("SAK-01"), sak01))

    progress(_("SAK-02 Zertifikate und Zertifikatssperrliste", "SAK-02 certificates and CRL"))
    hint = condition("SAK-02").hint
    sak02: list[Check] = []
    for name, credential_of in (
        (
            _("mit einem abgelaufenen Zertifikat signiert", "signed with an expired certificate"),
            run.scratch.expired,
        ),
        (
            _(
                "mit einem noch nicht gültigen Zertifikat signiert",
                "signed with a certificate that is not yet valid",
            ),
            run.scratch.not_yet_valid,
        ),
        (
            _(
                "mit einem Zertifikat einer anderen CA signiert",
                "signed with a certificate of another CA",
            ),
            run.scratch.foreign,
        ),
    ):
        signer = XmlSigner(credential_of(run.own_sak, Role.SAK))
        exchange = await run.post(name, run.fresh(signer=signer).raw)
        sak02.append(_refused(name, exchange, [EdmCode.AUTHENTICATION], subjects, hint))
    name = _(
        "vom Online-Dienst selbst signiert (Rolle consumer, nicht sak)",
        "signed by the online service itself (role consumer, not sak)",
    )
    raw = run.fresh(sender=target.consumer, signer=run.factory.consumer_signer(target.consumer)).raw
    sak02.append(
        _refused(name, await run.post(name, raw), [EdmCode.AUTHENTICATION], subjects, hint)
    )
    if kit.revoked_signer is not None:
        attack = ATTACKS["revoked_sender"]
        exchange = await run.post(attack.description, attack.build(kit).raw)
        sak02.append(
            _refused(attack.description, exchange, [EdmCode.AUTHENTICATION], subjects, hint)
        )
    else:
        sak02.append(
            Check(
                _("von einem gesperrten Absender signiert", "signed by a revoked sender"),
                Status.SKIPPED,
                actual=_(
                    "die PKI enthält keine gesperrte Identität",
                    "the PKI holds no revoked identity",
                ),
                hint=_(
                    "den Befehl einmal mit --prepare ausführen (es stellt eine aus und sperrt sie)",
                    "run the command once with --prepare (it issues and revokes one)",
                ),
            )
        )
    sections.append(Section.for_condition(condition("SAK-02"), sak02, requires_all=True))

    progress(_("SAK-03 Frische und Wiederholung", "SAK-03 freshness and replay"))
    hint = condition("SAK-03").hint
    sak03: list[Check] = []
    once = run.fresh().raw
    await run.post(_("Wiederholung (erste Kopie)", "replay (first copy)"), once)
    twice = _("derselbe Umschlag zweimal", "the same envelope twice")
    sak03.append(
        _refused(
            twice,
            await run.post(twice, once),
            [EdmCode.INVALID_REQUEST],
            subjects,
            hint,
        )
    )
    for name, shift in (
        (
            _("ein Umschlag, vor einer Stunde erstellt", "an envelope created an hour ago"),
            timedelta(hours=-1),
        ),
        (
            _(
                "ein Umschlag, eine Stunde in der Zukunft erstellt",
                "an envelope created an hour ahead",
            ),
            timedelta(hours=1),
        ),
    ):
        raw = run.fresh(created=run.clock.now() + shift).raw
        sak03.append(
            _refused(name, await run.post(name, raw), [EdmCode.INVALID_REQUEST], subjects, hint)
        )
    sections.append(Section.for_condition(condition("SAK-03"), sak03))

    progress(_("SAK-04 feindseliges XML", "SAK-04 hostile XML"))
    hint = condition("SAK-04").hint
    sak04: list[Check] = []
    for name in _HOSTILE:
        attack = ATTACKS[name]
        exchange = await run.post(
            attack.description, attack.build(kit).raw, bind=name not in _UNREAD
        )
        sak04.append(_refused(attack.description, exchange, None, subjects, hint))
    for encoding in ("utf-16", "utf-32", "iso-8859-1"):
        name = _(
            f"ein gültiger Umschlag, umkodiert in {encoding.upper()}",
            f"a valid envelope re-encoded as {encoding.upper()}",
        )
        exchange = await run.post(name, _reencoded(run.fresh().raw, encoding))
        sak04.append(_refused(name, exchange, None, subjects, hint))
    sak04.extend(reencoded)
    after = await run.post(
        _("gültiger Umschlag nach den feindseligen", "valid envelope after the hostile ones"),
        run.fresh().raw,
    )
    sak04.append(
        Check(
            _(
                "ein gültiger Umschlag wird nach den feindseligen noch beantwortet",
                "a valid envelope is still answered after the hostile ones",
            ),
            Status.PASSED if after.answer.kind == "0102" else Status.FAILED,
            expected=_("eine signierte 0102", "a signed 0102"),
            actual=after.describe(),
            hint=""
            if after.answer.kind == "0102"
            else _(
                "Ein feindseliger Umschlag darf den SAK nie blockieren oder seinen Zustand "
                "verderben.",
                "A hostile envelope must never stall the SAK or poison its state.",
            ),
        )
    )
    sections.append(Section.for_condition(condition("SAK-04"), sak04))

    progress(_("SAK-05 Absender und Adressierung", "SAK-05 sender and addressing"))
    sections.append(
        Section.for_condition(condition("SAK-05"), await _addressing(run, kit, subjects))
    )

    progress(_("SAK-09 Zugriffstoken", "SAK-09 access tokens"))
    sections.append(Section.for_condition(condition("SAK-09"), await _tokens(run, credential)))

    progress(_("SAK-08 TLS-Gegenstelle", "SAK-08 TLS peer"))
    sections.append(await _tls_peer(run, pki_dir, transport, tls, subjects))

    sections.append(Section.for_condition(condition("SAK-06"), _bound(run)))
    return sections


def _reencoded(raw: bytes, encoding: str) -> bytes:
    text = raw.decode("utf-8")
    for quote in ("'", '"'):
        text = text.replace(
            f"encoding={quote}UTF-8{quote}", f"encoding={quote}{encoding.upper()}{quote}", 1
        )
    return text.encode(encoding)


async def _addressing(run: _Run, kit: AttackKit, subjects: Sequence[Subject]) -> list[Check]:
    target = run.target
    topology = run.topology
    hint = condition("SAK-05").hint
    other_consumer = kit.other_consumer
    other_register = next(
        r.participant_id for r in topology.registers if r.participant_id != target.register
    )
    checks: list[Check] = []
    probes: list[tuple[str, bytes, list[EdmCode]]] = []
    if other_consumer is not None:
        other_sak = topology.sak_id(other_consumer)
        probes.append(
            (
                _(
                    "Sender nennt einen anderen SAK als den, der signiert hat",
                    "Sender names another SAK than the one that signed",
                ),
                run.fresh(sender=other_sak, signer=run.factory.consumer_signer(run.own_sak)).raw,
                [EdmCode.AUTHENTICATION],
            )
        )
        probes.append(
            (
                _(
                    "OnBehalfOf ein anderer Online-Dienst als der, den der sendende SAK bedient",
                    "OnBehalfOf another online service than the sending SAK serves",
                ),
                run.fresh(on_behalf_of=other_consumer).raw,
                [EdmCode.AUTHENTICATION],
            )
        )
        request = run.factory.request(
            consumer=other_consumer,
            provider=target.register,
            evidence_type=target.evidence_type,
            subject=target.subject,
        )
        probes.append(
            (
                _(
                    "eine 0101 eines anderen Anfragenden als OnBehalfOf",
                    "a 0101 of another requester than OnBehalfOf",
                ),
                run.factory.sign(
                    request,
                    sender=run.own_sak,
                    on_behalf_of=target.consumer,
                    signer=run.factory.consumer_signer(run.own_sak),
                ).raw,
                [EdmCode.AUTHENTICATION],
            )
        )
    probes.append(
        (
            _("Recipient ein anderer SAK", "Recipient another SAK"),
            run.fresh(recipient=topology.sak_id(other_register)).raw,
            [EdmCode.INVALID_REQUEST, EdmCode.UNRESOLVED_REFERENCE, EdmCode.AUTHENTICATION],
        )
    )
    probes.append(
        (
            _("eine Dienstkennung eines anderen Registers", "a service id of another register"),
            run.fresh(service_id=topology.service_id(other_register, target.evidence_type)).raw,
            [EdmCode.UNRESOLVED_REFERENCE],
        )
    )
    for name, raw, codes in probes:
        checks.append(_refused(name, await run.post(name, raw), codes, subjects, hint))
    return checks


async def _tokens(run: _Run, revoked: Any) -> list[Check]:
    target = run.target
    hint = condition("SAK-09").hint
    topology = run.topology
    other_register = next(
        r.participant_id for r in topology.registers if r.participant_id != target.register
    )
    mint = run.mint
    calls: list[tuple[str, str | None]] = [
        (_("kein Zugriffstoken", "no access token"), None),
        (
            _("ein abgelaufenes Token", "an expired token"),
            "Bearer "
            + mint.token(
                run.own_sak,
                Role.SAK,
                target.sak_id,
                issued_at=run.clock.now() - timedelta(hours=1, minutes=5),
            ),
        ),
        (
            _("ein Token für eine andere Zielgruppe", "a token for another audience"),
            mint.bearer(run.own_sak, Role.SAK, topology.sak_id(other_register)),
        ),
        (
            _(
                "ein Token der Rolle consumer (das des Online-Dienstes selbst)",
                "a token of role consumer (the online service's own)",
            ),
            mint.bearer(target.consumer, Role.CONSUMER, target.sak_id),
        ),
    ]
    others = [c.participant_id for c in topology.consumers if c.participant_id != target.consumer]
    if others:
        calls.append(
            (
                _(
                    "ein Token eines anderen SAK als des signierenden",
                    "a token of another SAK than the one that signed",
                ),
                mint.bearer(topology.sak_id(others[0]), Role.SAK, target.sak_id),
            )
        )
    checks: list[Check] = []
    for name, authorization in calls:
        exchange = await run.post(name, run.fresh().raw, authorization=authorization)
        checks.append(_token_refusal(name, exchange, hint))
    if revoked is not None:
        name = _(
            "ein Token, gebunden an ein gesperrtes Zertifikat",
            "a token bound to a revoked certificate",
        )
        authorization = "Bearer " + mint.token(run.own_sak, Role.SAK, target.sak_id, client=revoked)
        exchange = await run.post(name, run.fresh().raw, authorization=authorization)
        checks.append(_token_refusal(name, exchange, hint))
    return checks


def _token_refusal(name: str, exchange: Exchange, hint: str) -> Check:
    ok = (
        exchange.transport_error is None
        and exchange.status in (401, 403)
        and not exchange.answer.has_evidence
        and b"RepositoryItem" not in exchange.body
    )
    return Check(
        name,
        Status.PASSED if ok else Status.FAILED,
        expected=_("401 oder 403, keine Daten", "401 or 403, no data"),
        actual=exchange.describe(),
        request=excerpt(exchange.raw, 600),
        response=excerpt(exchange.body, 900),
        hint="" if ok else hint,
        seconds=exchange.seconds,
    )


async def _tls_peer(
    run: _Run,
    pki_dir: Path,
    transport: httpx.AsyncBaseTransport | None,
    tls: SakTls | None,
    subjects: Sequence[Subject],
) -> Section:
    if tls is None:
        check = Check(
            _(
                "ein gültiger Umschlag über das TLS-Zertifikat eines anderen Teilnehmers",
                "a valid envelope over another participant's TLS certificate",
            ),
            Status.SKIPPED,
            actual=_("der SAK wurde ohne TLS erreicht", "the SAK was reached without TLS"),
            hint=_("ein https://-Ziel (oder --tls)", "an https:// target (or --tls)"),
        )
        return Section.for_condition(condition("SAK-08"), [check])
    others = [
        c.participant_id for c in run.topology.consumers if c.participant_id != run.target.consumer
    ]
    other = run.topology.sak_id(others[0]) if others else run.target.consumer
    context = _context(run.mint, pki_dir, other, Role.SAK, tls)
    name = _(
        f"ein gültiger Umschlag von {run.own_sak} über das TLS-Zertifikat von {other}",
        f"a valid envelope of {run.own_sak} over the TLS certificate of {other}",
    )
    async with httpx.AsyncClient(transport=transport, trust_env=False, verify=context) as http:
        exchange = await run.post(name, run.fresh().raw, http=http)
    if exchange.transport_error is not None:
        check = Check(
            name,
            Status.PASSED,
            _("abgelehnt", "refused"),
            _(
                f"Verbindung abgelehnt ({exchange.transport_error})",
                f"connection refused ({exchange.transport_error})",
            ),
        )
    else:
        check = _refused(
            name, exchange, [EdmCode.AUTHENTICATION], subjects, condition("SAK-08").hint
        )
    return Section.for_condition(condition("SAK-08"), [check])


def _bound(run: _Run) -> list[Check]:
    """SAK-06: every answer to a body the SAK read is signed by it for its register and bound
    to the exact request bytes."""
    target = run.target
    bad: list[str] = []
    graded = 0
    for exchange in run.bound:
        if exchange.status in (401, 403) and exchange.answer.kind == "not-xml":
            continue  # an access-token refusal as a JSON problem: nothing to sign
        graded += 1
        answer = exchange.answer
        if not answer.verified:
            bad.append(f"{exchange.name}: {answer.signature_error or answer.binding_error}")
            continue
        try:
            opened = open_envelope(exchange.body, run.verifier, required_role=Role.SAK)
        except NootsError as exc:
            bad.append(f"{exchange.name}: {exc.message}")
            continue
        if opened.header.on_behalf_of != target.register:
            bad.append(f"{exchange.name}: OnBehalfOf {opened.header.on_behalf_of}")
    hint = condition("SAK-06").hint
    return [
        Check(
            _(
                f"jede Antwort für {target.register} signiert, gebunden "
                f"({graded - len(bad)} von {graded})",
                f"every answer signed for {target.register}, bound ({graded - len(bad)} of "
                f"{graded})",
            ),
            Status.FAILED if bad or not graded else Status.PASSED,
            expected=_(
                f"Signatur von {target.sak_id} (Rolle sak), OnBehalfOf {target.register}, "
                "InResponseTo = SHA-256 der Anfragebytes",
                f"signature of {target.sak_id} (role sak), OnBehalfOf {target.register}, "
                "InResponseTo = SHA-256 of the request bytes",
            ),
            actual="; ".join(bad[:6])
            + (_(f" (+{len(bad) - 6} weitere)", f" (+{len(bad) - 6} more)") if len(bad) > 6 else "")
            if bad
            else _(
                "alle signiert, für das Register, gebunden", "all signed, for the register, bound"
            ),
            hint=hint if bad else "",
        )
    ]


async def _signature_kit(run: _Run, subjects: Sequence[Subject]) -> list[Check]:
    """The signature attack kit of :mod:`noots.testing.signature_attacks`, where present:
    KeyInfo and chain tricks, algorithm downgrades, harmless rewrites and re-encodings of a
    valid envelope. Refused ones must be refused cleanly; a harmless rewrite may be answered
    or refused, never accepted as something else."""
    try:
        module = importlib.import_module("noots.testing.signature_attacks")
    except ImportError:
        return []
    kit_class = getattr(module, "SignatureAttackKit", None)
    generate = getattr(module, "signature_attacks", None)
    if kit_class is None or generate is None:
        return []
    target = run.target
    others = [
        c.participant_id for c in run.topology.consumers if c.participant_id != target.consumer
    ]
    checks: list[Check] = []
    signer = run.mint.party(run.own_sak, Role.SAK).credential
    # Another valid participant than the signer: another online service's SAK, or the register.
    other = (
        run.mint.party(run.topology.sak_id(others[0]), Role.SAK)
        if others
        else run.mint.party(target.register, Role.PROVIDER)
    )
    for attack in _attacks(generate, kit_class, run, signer, other.credential):
        exchange = await run.post(f"{attack.attack_class}: {attack.name}", attack.raw)
        if attack.harmless:
            ok = exchange.transport_error is None and (
                exchange.answer.kind in ("0102", "0103", "env:Error")
            )
            checks.append(
                Check(
                    exchange.name,
                    Status.PASSED if ok else Status.FAILED,
                    expected=_("beantwortet oder sauber abgelehnt", "answered, or refused cleanly"),
                    actual=exchange.describe(),
                    hint="" if ok else condition("SAK-01").hint,
                )
            )
        else:
            checks.append(
                _refused(exchange.name, exchange, None, subjects, condition("SAK-01").hint)
            )
    return checks


def _attacks(generate: Any, kit_class: Any, run: _Run, signer: Any, other: Any) -> Iterator[Any]:
    from noots.pki import load_certificate

    anchor = load_certificate(run.mint.authority.root_cert_path.read_bytes())
    kit = kit_class(document=run.fresh().raw, signer=signer, other=other, trust_anchor=anchor)
    yield from generate(kit)


# -- consumer side ---------------------------------------------------------------------------


async def _consumer_side(
    run: _Run, double: ProviderSakDouble, progress: Callable[[str], None]
) -> list[Section]:
    target = run.target
    sections: list[Section] = []
    online = run.mint.bearer(target.consumer, Role.CONSUMER, target.sak_id)
    api = ConsumerApi(
        run.http,
        target.base_url,
        target.consumer,
        online,
        run.topology,
        run.clock,
        run.timer,
        target.time_budget,
    )
    service_id = run.topology.service_id(target.register, target.evidence_type)
    progress(_("SAK-07 geprüfte Antworten", "SAK-07 answers checked"))
    hint = condition("SAK-07").hint
    checks: list[Check] = []
    for answering in Answering:
        double.answering = answering
        exchange = await api.retrieve(
            _(f"Antwort {answering.description}", f"answer {answering.description}"),
            target.evidence_type,
            target.subject,
            region=target.region,
        )
        if answering is Answering.VALID:
            ok = exchange.answer.kind == "0102" and exchange.answer.has_evidence
            checks.append(
                Check(
                    _(
                        "eine korrekte Antwort wird weitergegeben (die Kontrolle)",
                        "a correct answer is handed on (the control)",
                    ),
                    Status.PASSED if ok else Status.FAILED,
                    expected=_(
                        "HTTP 200 mit der 0102 und ihrem Nachweis",
                        "HTTP 200 with the 0102 and its evidence",
                    ),
                    actual=exchange.describe(),
                    request=excerpt(exchange.raw, 800),
                    response=excerpt(exchange.body, 1000),
                    hint=""
                    if ok
                    else _(
                        "Eine geprüfte, gebundene Antwort an den Online-Dienst weitergeben.",
                        "Hand a verified, bound answer to the online service.",
                    ),
                )
            )
            continue
        leaked = exchange.answer.has_evidence or EVIDENCE_MARKER in exchange.body.decode(
            "utf-8", "replace"
        )
        ok = exchange.transport_error is None and not leaked and exchange.answer.kind != "0102"
        checks.append(
            Check(
                _(
                    f"eine Antwort, {answering.description}, wird abgelehnt, nichts weitergegeben",
                    f"an answer {answering.description} is refused, nothing handed on",
                ),
                Status.PASSED if ok else Status.FAILED,
                expected=_(
                    "eine Ablehnung (0103 oder Problem) ohne den Nachweis",
                    "a refusal (0103 or problem) without the evidence",
                ),
                actual=exchange.describe()
                + (
                    _(
                        "; der Nachweis erreichte den Online-Dienst",
                        "; the evidence reached the online service",
                    )
                    if leaked
                    else ""
                ),
                request=excerpt(exchange.raw, 800),
                response=excerpt(exchange.body, 1000),
                hint="" if ok else hint,
            )
        )
    double.answering = Answering.VALID
    sections.append(Section.for_condition(condition("SAK-07"), checks))

    progress(_("SAK-09 die Aufrufer der Consumer-API", "SAK-09 the consumer API's callers"))
    topology = run.topology
    others = [c.participant_id for c in topology.consumers if c.participant_id != target.consumer]
    calls: list[tuple[str, str | None]] = [
        (_("kein Zugriffstoken", "no access token"), None),
        (
            _(
                "ein abgelaufenes Token seines Online-Dienstes",
                "an expired token of its online service",
            ),
            "Bearer "
            + run.mint.token(
                target.consumer,
                Role.CONSUMER,
                target.sak_id,
                issued_at=run.clock.now() - timedelta(hours=1, minutes=5),
            ),
        ),
        (
            _(
                "das Token seines Online-Dienstes für eine andere Zielgruppe (die IDA)",
                "its online service's token for another audience (the IDA)",
            ),
            run.mint.bearer(target.consumer, Role.CONSUMER, topology.ida.participant_id),
        ),
    ]
    if others:
        calls.append(
            (
                _(
                    f"ein gültiges Token eines anderen Online-Dienstes ({others[0]})",
                    f"a valid token of another online service ({others[0]})",
                ),
                run.mint.bearer(others[0], Role.CONSUMER, target.sak_id),
            )
        )
    token_checks = []
    for name, authorization in calls:
        headers = {"Authorization": authorization} if authorization else {}
        started = run.timer()
        params = {"evidenceType": target.evidence_type}
        if target.region:
            params["region"] = target.region
        response = await run.http.get(target.base_url + ROUTES_PATH, params=params, headers=headers)
        exchange = Exchange(
            name,
            b"",
            response.status_code,
            response.content,
            run.timer() - started,
            Answer("other"),
        )
        token_checks.append(_token_refusal(name, exchange, condition("SAK-09").hint))
    sections.append(Section.for_condition(condition("SAK-09"), token_checks))

    progress(
        _(
            "SAK-04 feindselige Inhalte an der Consumer-API",
            "SAK-04 hostile bodies on the consumer API",
        )
    )
    hostile_checks = []
    kit_request = run.fresh()
    for name in ("xxe_utf16", "billion_laughs", "parameter_entity", "oversize", "deep_nesting"):
        attack = ATTACKS[name]
        raw = _bare(attack.build(_kit(run, None)).raw, kit_request)
        exchange = await submit(api, attack.description, raw, purpose="Test", service_id=service_id)
        hostile_checks.append(
            _refused(attack.description, exchange, None, [target.subject], condition("SAK-04").hint)
        )
    for encoding in ("utf-16", "iso-8859-1"):
        name = _(
            f"eine gültige 0101, umkodiert in {encoding.upper()}",
            f"a valid 0101 re-encoded as {encoding.upper()}",
        )
        raw = _reencoded(messages.to_bytes(kit_request.request), encoding)
        exchange = await submit(api, name, raw, purpose="Test", service_id=service_id)
        hostile_checks.append(
            _refused(name, exchange, None, [target.subject], condition("SAK-04").hint)
        )
    sections.append(Section.for_condition(condition("SAK-04"), hostile_checks))
    return sections


def _bare(hostile_envelope: bytes, fallback: SignedRequest) -> bytes:
    """The hostile part of an envelope attack as a body for the consumer API: the attack's
    bytes themselves (the consumer API expects a bare 0101; hostile XML is hostile either
    way)."""
    return hostile_envelope or messages.to_bytes(fallback.request)
