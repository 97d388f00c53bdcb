"""The consumer conformance suite: rounds of retrievals against the online service's own SAK
(played by the suite), graded per connection condition DC-01 … DC-09.

An online service connects only through its SAK, which verifies the transport (signatures,
certificates, binding) for it. The suite grades what the online service itself controls:

=====================  ============================================================  =========
round                  what its SAK does                                             graded
=====================  ============================================================  =========
normal                 a real exchange (one evidence declined in the preview)        DC-01…04,
                                                                                      07, 09
authorisation_refused  the authorisation is refused (the VS says no, 0002)          DC-03
other_request /        the 0102 echoes another request id / is about another        DC-05
other_person /         person (IDNr) / is of another evidence type / is no valid
other_type / malformed XNachweis
asynchronous           the register announces the evidence 1.5 s later               DC-06
error 0001 … 0008      the register answers with each error code                     DC-06, 08,
                                                                                      09
unlisted               the register answers with a code outside EDM:ERR:0001…0008   DC-06
transient              the SAK fails once (0008, HTTP 502), then delivers            DC-08
always_failing         the SAK fails every time                                      DC-08
invalid_idnr           the service is handed an invalid IDNr (drivers that can)      DC-04
=====================  ============================================================  =========

DC-01 … DC-04 are also checked on every 0101 of every round.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from noots import idnr as idnr_rules
from noots import messages
from noots.clock import Clock
from noots.conformance import Check, Report, Section, Status, condition, excerpt
from noots.conformance.i18n import Text, _
from noots.errors import ConfigurationError, EdmCode, NootsError
from noots.protocol import open_protocol_log
from noots.registers.consumer_conformance._drivers import (
    ConsumerDriver,
    DriverResult,
    ManualDriver,
    RetrievalCase,
)
from noots.registers.consumer_conformance._gateway import (
    UNFIT,
    UNLISTED_CODE,
    Event,
    Gateway,
    Mode,
    request_0101,
)
from noots.sak import Header, decode_value
from noots.tokens import request_hash, uses_idnr
from noots.topology import Topology
from noots.xml import parse

__all__ = ["ConsumerTarget", "run_consumer_suite"]

_ERIKA = ("02476291358", "Erika", "Mustermann", date(1964, 8, 12))
_LENA = ("01234567812", "Lena", "Musterfrau", date(1992, 3, 14))
_INVALID_IDNR = "02476291359"
#: What the citizen declines in the preview of the normal round, per demo service kind.
_DECLINED = {
    "bewohnerparkausweis": frozenset({"Fahrzeughalterauskunft"}),
    "elterngeld": frozenset({"Meldebescheinigung"}),
}
#: The calls that start a transfer (DC-07: none before consent).
_TRANSFER_CALLS = ("authorisation", "request")


@dataclass(frozen=True)
class ConsumerTarget:
    """The online service under test: its participant id, where its protocol log is (DC-09),
    and how many attempts per request count as bounded (DC-08)."""

    participant: str
    kind: str | None = None
    protocol_log: str | None = None
    retry_bound: int = 5


@dataclass(frozen=True)
class _Sent:
    """One 0101 the service handed to its SAK."""

    event: Event
    request: messages.EvidenceRequest

    @property
    def service_id(self) -> str | None:
        return _header(self.event, Header.SERVICE_ID)

    @property
    def purpose(self) -> str | None:
        return _header(self.event, Header.PURPOSE)


@dataclass
class _Round:
    name: str
    mode: Mode
    code: EdmCode | None
    case: RetrievalCase
    result: DriverResult
    events: list[Event]
    seconds: float

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    def sent(self) -> list[_Sent]:
        found = []
        for event in self.of("request"):
            request = request_0101(event.request)
            if request is not None:
                found.append(_Sent(event, request))
        return found

    def before(self, event: Event, kind: str) -> list[Event]:
        return [e for e in self.events[: self.events.index(event)] if e.kind == kind]


def _header(event: Event, name: str) -> str | None:
    value = event.header(name)
    if value is None:
        return None
    try:
        return decode_value(value)
    except NootsError:
        return None


def _rounds(driver: ConsumerDriver) -> list[tuple[str, Mode, EdmCode | None]]:
    rounds: list[tuple[str, Mode, EdmCode | None]] = [
        ("normal", Mode.NORMAL, None),
        ("authorisation_refused", Mode.AUTHORISATION_REFUSED, None),
        *((mode.value, mode, None) for mode in UNFIT),
        ("asynchronous", Mode.ASYNCHRONOUS, None),
    ]
    rounds += [(f"error {code.value}", Mode.ERROR, code) for code in EdmCode]
    rounds += [
        ("unlisted", Mode.UNLISTED, None),
        ("transient", Mode.TRANSIENT, None),
        ("always_failing", Mode.ALWAYS_FAILING, None),
    ]
    if driver.supports_idnr:
        rounds.append(("invalid_idnr", Mode.NORMAL, None))
    return rounds


def _check(
    name: str,
    ok: bool | None,
    *,
    expected: str,
    actual: str,
    event: Event | None = None,
    hint: str = "",
    seconds: float = 0.0,
) -> Check:
    status = Status.SKIPPED if ok is None else (Status.PASSED if ok else Status.FAILED)
    return Check(
        name,
        status,
        expected=expected,
        actual=actual,
        request=excerpt(event.request, 1200) if event else "",
        response=excerpt(event.response, 1200) if event else "",
        hint=hint if status is Status.FAILED else "",
        seconds=seconds,
    )


async def run_consumer_suite(
    target: ConsumerTarget,
    *,
    gateway: Gateway,
    driver: ConsumerDriver,
    topology: Topology,
    clock: Clock,
    on_progress: Callable[[str], None] | None = None,
    notes: Sequence[str] = (),
    tls: bool = False,
) -> Report:
    """Play every round with ``driver`` and grade (see the module docstring). ``tls``: the
    suite is served with mutual TLS, so DC-02 also grades the certificate presented.

    Raises :class:`ConfigurationError` before any round if a by-hand driver would end the
    asynchronous round while the service is still waiting for the announced time.
    """
    wait = gateway.async_delay.total_seconds()
    if isinstance(driver, ManualDriver) and driver.quiet_seconds <= wait:
        raise ConfigurationError(
            f"the by-hand driver's quiet period ({driver.quiet_seconds:g} s) must be longer than "
            f"the announced wait of an asynchronous answer ({wait:g} s): the round would end "
            "before the service comes back for the evidence"
        )
    progress = on_progress or (lambda _text: None)
    started = clock.now()
    person = _LENA if target.kind == "elterngeld" else _ERIKA
    rounds: dict[str, _Round] = {}
    for name, mode, code in _rounds(driver):
        progress(_(f"Runde {name}", f"round {name}"))
        idnr = _INVALID_IDNR if name == "invalid_idnr" else person[0]
        case = RetrievalCase(
            name,
            idnr,
            person[1],
            person[2],
            person[3],
            reject=_DECLINED.get(target.kind or "", frozenset())
            if name == "normal"
            else frozenset(),
        )
        state = gateway.start_round(mode, code)
        began = time.perf_counter()

        def calls() -> int:
            return gateway.count(*_TRANSFER_CALLS)

        result = await driver.retrieve(case, calls)
        rounds[name] = _Round(
            name, mode, code, case, result, list(state.events), time.perf_counter() - began
        )
    gateway.start_round(Mode.NORMAL)
    sections = [
        Section.for_condition(condition("DC-01"), _dc01(rounds)),
        Section.for_condition(condition("DC-02"), _dc02(target, rounds, tls=tls)),
        Section.for_condition(condition("DC-03"), _dc03(rounds)),
        Section.for_condition(condition("DC-04"), _dc04(rounds)),
        Section.for_condition(condition("DC-05"), _dc05(rounds)),
        Section.for_condition(condition("DC-06"), _dc06(rounds, gateway)),
        Section.for_condition(condition("DC-07"), _dc07(rounds)),
        Section.for_condition(condition("DC-08"), _dc08(target, rounds)),
        Section.for_condition(condition("DC-09"), _dc09(target, rounds, clock)),
    ]
    return Report(
        "consumer",
        _(
            f"Konformität des Online-Dienstes {target.participant}",
            f"Consumer conformance of {target.participant}",
        ),
        target.participant,
        started,
        clock.now(),
        tuple(sections),
        participant=target.participant,
        notes=tuple(notes),
    )


def _all_sent(rounds: dict[str, _Round]) -> list[tuple[_Round, _Sent]]:
    return [(r, sent) for r in rounds.values() for sent in r.sent()]


# -- DC-01 -----------------------------------------------------------------------------------


def _dc01(rounds: dict[str, _Round]) -> list[Check]:
    from noots.conformance.answers import official_validator

    validate = official_validator()
    checks = []
    normal = rounds["normal"]
    sent = normal.sent()
    checks.append(
        _check(
            _(
                "die Runde normal hat Nachweisanfragen gesendet",
                "the normal round sent evidence requests",
            ),
            bool(sent),
            expected=_(
                "mindestens eine 0101 an den SAK übergeben", "at least one 0101 handed to the SAK"
            ),
            actual=_(f"{len(sent)} Nachweisanfrage(n)", f"{len(sent)} request(s)")
            + (
                _(f"; Treiber: {normal.result.error}", f"; driver: {normal.result.error}")
                if normal.result.error
                else ""
            ),
            hint=_(
                "Der Dienst muss abrufen, wenn die Bürgerin oder der Bürger es verlangt.",
                "The service must fetch when the citizen asks for it.",
            ),
        )
    )
    problems: list[str] = []
    first_bad: Event | None = None
    for round_, item in _all_sent(rounds):
        issues = []
        routes = {
            str(e.response_json().get("serviceId")): e.response_json()
            for e in round_.before(item.event, "route")
            if e.status == 200
        }
        route = routes.get(item.service_id or "")
        if route is None:
            missing = item.service_id or _("(fehlt)", "(missing)")
            issues.append(
                _(
                    f"{Header.SERVICE_ID} {missing} wurde vor der Nachweisanfrage von keiner "
                    "Route des SAK genannt",
                    f"{Header.SERVICE_ID} {missing} was not named by a route of the SAK before "
                    "the request",
                )
            )
        else:
            provider = route.get("provider") or {}
            kind = route.get("evidenceType") or {}
            if item.request.provider.identifier != provider.get("participantId"):
                issues.append(
                    _(
                        "der Datenhalter der 0101 ist nicht der der Route",
                        "the 0101's provider is not the route's",
                    )
                )
            if item.request.evidence_type.classification != kind.get("classification"):
                issues.append(
                    _(
                        "der Nachweistyp der 0101 ist nicht der der Route",
                        "the 0101's evidence type is not the route's",
                    )
                )
        if not item.purpose:
            issues.append(_(f"kein {Header.PURPOSE}", f"no {Header.PURPOSE}"))
        if validate is not None:
            errors = validate(item.event.request)
            if errors:
                issues.append(
                    _("kein gültiges XNachweis: ", "not valid XNachweis: ") + "; ".join(errors[:2])
                )
        if issues:
            problems.append(f"{round_.name}: " + "; ".join(issues))
            first_bad = first_bad or item.event
    unreadable = [
        e for r in rounds.values() for e in r.of("request") if not request_0101(e.request)
    ]
    if unreadable:
        problems.append(
            _(
                f"{len(unreadable)} Nachweisanfrage(n) sind keine lesbare 0101",
                f"{len(unreadable)} request(s) are not a readable 0101",
            )
        )
        first_bad = first_bad or unreadable[0]
    checks.append(
        _check(
            _(
                "jede 0101 ist gültiges XNachweis für die Route, die ihr SAK genannt hat",
                "every 0101 is valid XNachweis for the route its SAK named",
            ),
            not problems if sent else None,
            expected=_(
                "gültige 0101 mit Dienstkennung, Datenhalter und Nachweistyp der Route und dem "
                "angegebenen Zweck",
                "valid 0101s with the route's service id, provider and evidence type, "
                "and the declared purpose",
            ),
            actual="; ".join(problems[:4])
            or _(
                "alle Nachweisanfragen gültig und für die genannte Route",
                "all requests valid and for the route named",
            ),
            event=first_bad,
            hint=condition("DC-01").hint,
        )
    )
    return checks


# -- DC-02 -----------------------------------------------------------------------------------


def _dc02(target: ConsumerTarget, rounds: dict[str, _Round], *, tls: bool) -> list[Check]:
    problems: list[str] = []
    first_bad: Event | None = None
    items = _all_sent(rounds)
    for round_, item in items:
        requester = item.request.requester.identifier
        if requester != target.participant:
            problems.append(
                _(
                    f"{round_.name}: die 0101 nennt {requester} als Anfragenden",
                    f"{round_.name}: the 0101 names {requester} as requester",
                )
            )
            first_bad = first_bad or item.event
    checks = [
        _check(
            _(
                "jede 0101 nennt den Online-Dienst selbst als Anfragenden",
                "every 0101 names the online service itself as requester",
            ),
            not problems if items else None,
            expected=f"Requester {target.participant}",
            actual="; ".join(problems[:4])
            or _(
                f"{len(items)} Nachweisanfragen im eigenen Namen",
                f"{len(items)} requests in its own name",
            ),
            event=first_bad,
            hint=condition("DC-02").hint,
        )
    ]
    sak_calls = [
        (r, e) for r in rounds.values() for e in r.events if e.path.startswith("/consumer/")
    ]
    foreign = [(r, e) for r, e in sak_calls if e.tls_client != target.participant]
    checks.append(
        _check(
            _(
                "jeder Aufruf seines SAK legt das eigene Zertifikat des Online-Dienstes vor",
                "every call to its SAK presents the online service's own certificate",
            ),
            (not foreign) if tls and sak_calls else None,
            expected=_(
                f"TLS-Client-Zertifikat von {target.participant}",
                f"TLS client certificate of {target.participant}",
            ),
            actual=(
                "; ".join(
                    _(f"{r.name}: {e.kind} mit {presented}", f"{r.name}: {e.kind} with {presented}")
                    for r, e in foreign[:4]
                    for presented in [e.tls_client or _("keinem Zertifikat", "no certificate")]
                )
                or _(
                    f"{len(sak_calls)} Aufrufe mit dem eigenen Zertifikat",
                    f"{len(sak_calls)} calls with its own certificate",
                )
            )
            if tls
            else _("ohne TLS bedient (--tls verwenden)", "served without TLS (use --tls)"),
            event=foreign[0][1] if foreign else None,
            hint=condition("DC-02").hint,
        )
    )
    return checks


# -- DC-03 -----------------------------------------------------------------------------------


def _dc03(rounds: dict[str, _Round]) -> list[Check]:
    problems: list[str] = []
    first_bad: Event | None = None
    items = _all_sent(rounds)
    for round_, item in items:
        element = parse(item.event.request)
        wanted = request_hash(element)
        asked = [
            e
            for e in round_.before(item.event, "authorisation")
            if e.request_json().get("requestHash") == wanted
        ]
        if not asked:
            problems.append(
                _(
                    f"{round_.name}: keine Berechtigung für genau diese 0101 angefragt",
                    f"{round_.name}: no authorisation asked for this exact 0101",
                )
            )
            first_bad = first_bad or item.event
            continue
        last = asked[-1]
        body, answer = last.request_json(), last.response_json()
        issues = []
        if body.get("serviceId") != item.service_id:
            issues.append(
                _("für eine andere Dienstkennung angefragt", "asked for another service id")
            )
        if body.get("usesIdnr") is not uses_idnr(item.request):
            issues.append(
                _(
                    "usesIdnr sagt nicht, ob die 0101 eine IDNr enthält",
                    "usesIdnr does not say whether the 0101 carries an IDNr",
                )
            )
        if body.get("purpose") != item.purpose:
            issues.append(
                _(
                    f"für einen anderen Zweck als in {Header.PURPOSE} angefragt",
                    f"asked for another purpose than {Header.PURPOSE}",
                )
            )
        if last.status != 200:
            issues.append(
                _(
                    f"gesendet, obwohl die Berechtigung verweigert wurde (HTTP {last.status})",
                    f"sent although the authorisation was refused (HTTP {last.status})",
                )
            )
        elif answer.get("required") is True and item.request.issued_token != answer.get("token"):
            issues.append(
                _(
                    "IssuedToken ist nicht das Token, das sein SAK geantwortet hat",
                    "IssuedToken is not the token its SAK answered",
                )
            )
        if issues:
            problems.append(f"{round_.name}: " + "; ".join(issues))
            first_bad = first_bad or item.event
    checks = [
        _check(
            _(
                "jede 0101 wurde über ihren SAK für genau diese Nachweisanfrage berechtigt",
                "every 0101 was authorised through its SAK for exactly this request",
            ),
            not problems if items else None,
            expected=_(
                "eine Berechtigung mit Hash, Dienstkennung, Zweck und IDNr-Verwendung der 0101, "
                "ihr Token unverändert in IssuedToken",
                "an authorisation with the 0101's request hash, service id, purpose and "
                "IDNr use, its token carried verbatim in IssuedToken",
            ),
            actual="; ".join(problems[:4])
            or _(
                f"{len(items)} Nachweisanfragen wie gesendet berechtigt",
                f"{len(items)} requests authorised as sent",
            ),
            event=first_bad,
            hint=condition("DC-03").hint,
        )
    ]
    refused = rounds["authorisation_refused"]
    asked_count = len(refused.of("authorisation"))
    sent = refused.of("request")
    checks.append(
        _check(
            _(
                "nichts wird gesendet, wenn die Berechtigung verweigert wird",
                "nothing is sent when the authorisation is refused",
            ),
            (not sent) if asked_count else None,
            expected=_(
                "keine 0101, nachdem der SAK die Berechtigung verweigert hat",
                "no 0101 after the SAK refused the authorisation",
            ),
            actual=_(
                f"{len(sent)} Nachweisanfrage(n) nach {asked_count} verweigerten Berechtigung(en)",
                f"{len(sent)} request(s) after {asked_count} refused authorisation(s)",
            ),
            event=sent[0] if sent else None,
            hint=_(
                "Abbrechen, wenn die Berechtigung verweigert wird; die 0101 nie ohne sie senden.",
                "Stop when the authorisation is refused; never send the 0101 without it.",
            ),
        )
    )
    return checks


# -- DC-04 -----------------------------------------------------------------------------------


def _dc04(rounds: dict[str, _Round]) -> list[Check]:
    bad: list[str] = []
    first_bad: Event | None = None
    seen = 0
    for round_, item in _all_sent(rounds):
        subject = item.request.subject
        if isinstance(subject, messages.NaturalPerson) and subject.idnr is not None:
            seen += 1
            if not idnr_rules.is_valid(subject.idnr, allow_test_numbers=True):
                bad.append(f"{round_.name}: {subject.idnr}")
                first_bad = first_bad or item.event
    checks = [
        _check(
            _("jede gesendete IDNr ist gültig", "every IDNr sent is valid"),
            not bad if seen else None,
            expected=_(
                "IDNrn, die jede Regel erfüllen (Prüfziffer, Wiederholungen)",
                "IDNrs that pass every rule (check digit, repetitions)",
            ),
            actual=_("ungültige IDNrn gesendet: ", "invalid IDNrs sent: ") + ", ".join(bad)
            if bad
            else _(f"{seen} gültige IDNr(n) gesendet", f"{seen} valid IDNr(s) sent"),
            event=first_bad,
            hint=condition("DC-04").hint,
        )
    ]
    if "invalid_idnr" in rounds:
        round_ = rounds["invalid_idnr"]
        leaked = [
            e
            for e in round_.events
            if e.kind in ("authorisation", "request", "ida") and _INVALID_IDNR.encode() in e.request
        ]
        checks.append(
            _check(
                _(
                    "eine dem Dienst gegebene ungültige IDNr wird nie gesendet",
                    "an invalid IDNr given to the service is never sent",
                ),
                not leaked,
                expected=_(
                    f"keine Nachweisanfrage mit {_INVALID_IDNR}",
                    f"no request carrying {_INVALID_IDNR}",
                ),
                actual=_(
                    f"{len(leaked)} Nachweisanfrage(n) enthielten sie",
                    f"{len(leaked)} request(s) carried it",
                )
                if leaked
                else _("nichts damit gesendet", "nothing sent with it"),
                event=leaked[0] if leaked else None,
                hint=condition("DC-04").hint,
            )
        )
    else:
        checks.append(
            _check(
                _(
                    "eine dem Dienst gegebene ungültige IDNr wird nie gesendet",
                    "an invalid IDNr given to the service is never sent",
                ),
                None,
                expected="",
                actual=_(
                    "der Treiber kann dem Dienst keine IDNr übergeben (--trigger-url verwenden)",
                    "the driver cannot hand the service an IDNr (use --trigger-url)",
                ),
            )
        )
    return checks


# -- DC-05 -----------------------------------------------------------------------------------

_UNFIT_TEXT = {
    Mode.OTHER_REQUEST: Text(
        "einer Antwort auf eine andere Nachweisanfrage (Kennung)",
        "an answer to another request (request id)",
    ),
    Mode.OTHER_PERSON: Text(
        "einem Nachweis über eine andere Person (IDNr)", "evidence about another person (IDNr)"
    ),
    Mode.OTHER_TYPE: Text(
        "einem Nachweis eines anderen Nachweistyps", "evidence of another evidence type"
    ),
    Mode.MALFORMED: Text(
        "einer Antwort, die kein gültiges XNachweis ist", "an answer that is no valid XNachweis"
    ),
}


def _dc05(rounds: dict[str, _Round]) -> list[Check]:
    checks = []
    for mode in UNFIT:
        round_ = rounds[mode.value]
        result = round_.result
        what = str(_UNFIT_TEXT[mode])
        name = _(f"verwendet nichts von {what}", f"uses nothing of {what}")
        changed = [e for e in round_.of("request") if e.note]
        if result.received is None:
            why = _(
                "der Treiber kann nicht feststellen, was der Dienst verwendet hat",
                "the driver cannot tell what the service used",
            )
        else:
            why = _(
                "keine Antwort dieser Runde ließ sich so verändern (keine Nachweisanfrage, eine "
                "Ablehnung oder keine IDNr im Nachweis)",
                "no answer of this round could be changed this way (no request, a "
                "refusal, or no IDNr in the evidence)",
            )
        if result.received is None or not changed:
            checks.append(_check(name, None, expected="", actual=why))
            continue
        used = sorted(result.received | (result.used or frozenset()))
        checks.append(
            _check(
                name,
                not used and result.error is None,
                expected=_(
                    "kein Nachweis übernommen oder angezeigt, der Dienst arbeitet weiter",
                    "no evidence accepted or shown, the service keeps working",
                ),
                actual=(
                    _(f"verwendet: {', '.join(used)}", f"used: {', '.join(used)}")
                    if used
                    else (result.error or _("abgelehnt, nichts verwendet", "refused, nothing used"))
                ),
                event=changed[0],
                hint=condition("DC-05").hint,
                seconds=round_.seconds,
            )
        )
    return checks


# -- DC-06 -----------------------------------------------------------------------------------


def _handled(round_: _Round, name: str) -> Check:
    result = round_.result
    requests = round_.of("request")
    if not requests:
        return _check(
            name, None, expected="", actual=_("keine Nachweisanfrage gesendet", "no request sent")
        )
    known = result.received is not None
    ok = result.error is None and (not known or not result.received)
    used = ", ".join(sorted(result.received or ()))
    return _check(
        name,
        ok,
        expected=_(
            "die Ablehnung wird behandelt: kein Absturz, kein Nachweis verwendet",
            "the refusal is handled: no crash, no evidence used",
        ),
        actual=result.error
        or (
            _(f"verwendet: {used}", f"used: {used}")
            if known and result.received
            else _("behandelt", "handled")
        ),
        event=requests[0],
        hint=condition("DC-06").hint,
        seconds=round_.seconds,
    )


def _dc06(rounds: dict[str, _Round], gateway: Gateway) -> list[Check]:
    checks = [
        _handled(
            rounds[f"error {code.value}"],
            _(f"behandelt {code.value} ({code.title})", f"handles {code.value} ({code.title})"),
        )
        for code in EdmCode
    ]
    unlisted = rounds["unlisted"]
    checks.append(
        _handled(
            unlisted,
            _(
                f"behandelt einen Code außerhalb der EDM-Liste ({UNLISTED_CODE})",
                f"handles a code outside the EDM list ({UNLISTED_CODE})",
            ),
        )
    )
    shown = unlisted.result.shown
    if UNLISTED_CODE in shown:
        seen = _("angezeigt", "shown")
    elif shown:
        seen = _("nicht angezeigt", "not shown")
    else:
        seen = _("unbekannt", "unknown")
    checks.append(
        _check(
            _(
                "zeigt einen Code außerhalb der EDM-Liste so, wie er kam",
                "shows a code outside the EDM list as it came",
            ),
            (UNLISTED_CODE in shown) if shown and unlisted.of("request") else None,
            expected=_(
                f"{UNLISTED_CODE} in dem, was der Dienst zeigte (nie 'fehlerhafte Antwort')",
                f"{UNLISTED_CODE} in what the service showed (never 'malformed answer')",
            ),
            actual=seen,
            event=unlisted.of("request")[0] if unlisted.of("request") else None,
            hint=condition("DC-06").hint,
        )
    )
    round_ = rounds["asynchronous"]
    sent = round_.sent()
    problems: list[str] = []
    if not sent:
        problems.append(_("keine Nachweisanfrage gesendet", "no request sent"))
    else:
        first = sent[0]
        later = [s for s in sent[1:] if s.request.request_id == first.request.request_id]
        if not later:
            problems.append(
                _(
                    "der Dienst kam nie für den angekündigten Nachweis zurück",
                    "the service never came back for the announced evidence",
                )
            )
        else:
            again = later[0]
            if again.request.message_uuid != first.request.message_uuid:
                problems.append(
                    _(
                        "die Abholung trägt eine neue nachrichtenUUID",
                        "the collection carries a new nachrichtenUUID",
                    )
                )
            early = gateway.async_delay - (again.event.at - first.event.at)
            if early.total_seconds() > 0.5:
                problems.append(
                    _(
                        f"kam {early.total_seconds():.1f} s vor ResponseAvailableDateTime zurück",
                        f"came back {early.total_seconds():.1f} s before ResponseAvailableDateTime",
                    )
                )
        delivered = any(e.delivered for e in round_.of("request"))
        if delivered and round_.result.received is not None and not round_.result.received:
            problems.append(
                _(
                    "der Nachweis wurde nach der Abholung nicht übernommen",
                    "the evidence was not accepted after collection",
                )
            )
    checks.append(
        _check(
            _(
                "holt eine asynchrone Antwort ab, wenn sie fällig ist",
                "collects an asynchronous answer when it is due",
            ),
            not problems,
            expected=_(
                "dieselbe 0101 (Kennung, nachrichtenUUID) erneut nach "
                "ResponseAvailableDateTime, dann der Nachweis",
                "the same 0101 (request id, nachrichtenUUID) again after "
                "ResponseAvailableDateTime, then the evidence",
            ),
            actual="; ".join(problems) or _("bei Fälligkeit abgeholt", "collected when due"),
            event=sent[0].event if sent else None,
            hint=condition("DC-06").hint,
            seconds=round_.seconds,
        )
    )
    return checks


# -- DC-07 -----------------------------------------------------------------------------------


def _dc07(rounds: dict[str, _Round]) -> list[Check]:
    result = rounds["normal"].result
    if result.fetched_before_consent is None:
        return [
            _check(
                _(
                    "Einwilligung vor dem Abruf, Vorschau vor der Verwendung",
                    "consent before fetching, preview before use",
                ),
                None,
                expected="",
                actual=_(
                    "der Treiber sieht Einwilligung und Vorschau nicht (--demo-url für einen "
                    "Dienst mit dem Web-Ablauf von noots verwenden)",
                    "the driver cannot see consent and preview (use --demo-url for a "
                    "service with the noots web flow)",
                ),
                hint=_(
                    "DC-07 braucht einen Treiber, der die Seiten der Bürgerin oder des Bürgers "
                    "durchläuft.",
                    "DC-07 needs a driver that goes through the citizen's pages.",
                ),
            )
        ]
    case = rounds["normal"].case
    declined = case.reject & (result.received or frozenset())
    rejected_used = sorted(declined & (result.used or frozenset()))
    return [
        _check(
            _(
                "nichts wird abgerufen, bevor die Bürgerin oder der Bürger einwilligt",
                "nothing is fetched before the citizen consents",
            ),
            not result.fetched_before_consent,
            expected=_(
                "keine Berechtigung und keine 0101, bevor das Einwilligungsformular gesendet ist",
                "no authorisation or 0101 before the consent form is sent",
            ),
            actual=_("vor der Einwilligung abgerufen", "fetched before consent")
            if result.fetched_before_consent
            else _("erst nach der Einwilligung abgerufen", "fetched only after consent"),
            hint=condition("DC-07").hint,
        ),
        _check(
            _(
                "jeder abgerufene Nachweis wird zur Übernahme in der Vorschau gezeigt",
                "every fetched evidence is previewed for acceptance",
            ),
            bool(result.previewed),
            expected=_(
                "eine Vorschau mit Übernehmen/Ablehnen für jeden Nachweis, bevor der Antrag endet",
                "a preview with accept/reject for each evidence before the application ends",
            ),
            actual=_("in der Vorschau gezeigt", "previewed")
            if result.previewed
            else _("keine Vorschau mit Entscheidung", "no preview with a decision"),
            hint=condition("DC-07").hint,
        ),
        _check(
            _("ein abgelehnter Nachweis wird nicht verwendet", "a declined evidence is not used"),
            not rejected_used if declined else None,
            expected=_(
                "abgelehnter Nachweis fehlt im abgeschlossenen Antrag",
                "declined evidence absent from the completed application",
            ),
            actual=_(
                f"verwendet, obwohl abgelehnt: {', '.join(rejected_used)}",
                f"used although declined: {', '.join(rejected_used)}",
            )
            if rejected_used
            else _("nicht verwendet", "not used"),
            hint=condition("DC-07").hint,
        ),
    ]


# -- DC-08 -----------------------------------------------------------------------------------


def _attempts(round_: _Round) -> dict[str, list[_Sent]]:
    grouped: dict[str, list[_Sent]] = {}
    for item in round_.sent():
        grouped.setdefault(str(item.request.request_id), []).append(item)
    return grouped


def _dc08(target: ConsumerTarget, rounds: dict[str, _Round]) -> list[Check]:
    checks = []
    transient = rounds["transient"]
    sent = transient.sent()
    problems: list[str] = []
    if not sent:
        problems.append(_("keine Nachweisanfrage gesendet", "no request sent"))
    else:
        first = sent[0].request
        retries = [
            s for s in sent[1:] if s.request.provider.identifier == first.provider.identifier
        ]
        same = [s for s in retries if s.request.request_id == first.request_id]
        if not retries:
            problems.append(
                _(
                    "der vorübergehende Fehlschlag wurde nicht wiederholt",
                    "the transient failure was not retried",
                )
            )
        elif not same:
            problems.append(
                _(
                    "die Wiederholung trägt eine neue Kennung der Nachweisanfrage",
                    "the retry carries a new request id",
                )
            )
        elif any(s.request.message_uuid != first.message_uuid for s in same):
            problems.append(
                _(
                    "die Wiederholung trägt eine neue nachrichtenUUID",
                    "the retry carries a new nachrichtenUUID",
                )
            )
        delivered = any(e.delivered for e in transient.of("request"))
        if delivered and transient.result.received is not None and not transient.result.received:
            problems.append(
                _(
                    "der Nachweis wurde nach der Wiederholung nicht übernommen",
                    "the evidence was not accepted after the retry",
                )
            )
    checks.append(
        _check(
            _(
                "wiederholt einen vorübergehenden Fehlschlag mit derselben 0101",
                "retries a transient failure with the same 0101",
            ),
            not problems,
            expected=_(
                "dieselbe 0101 erneut (Kennung und nachrichtenUUID beibehalten)",
                "the same 0101 again (request id and nachrichtenUUID kept)",
            ),
            actual="; ".join(problems)
            or _("mit derselben 0101 wiederholt", "retried with the same 0101"),
            event=sent[0].event if sent else None,
            hint=condition("DC-08").hint,
            seconds=transient.seconds,
        )
    )
    failing = rounds["always_failing"]
    counts = [len(items) for items in _attempts(failing).values()]
    requests = failing.of("request")
    checks.append(
        _check(
            _(
                "gibt nach einer begrenzten Zahl von Versuchen auf",
                "gives up after a bounded number of attempts",
            ),
            bool(counts) and max(counts) <= target.retry_bound if counts else None,
            expected=_(
                f"höchstens {target.retry_bound} Versuche je Nachweisanfrage",
                f"at most {target.retry_bound} attempts per request",
            ),
            actual=_(f"Versuche je Nachweisanfrage: {counts}", f"attempts per request: {counts}")
            if counts
            else _("keine Nachweisanfrage gesendet", "no request sent"),
            event=requests[-1] if requests else None,
            hint=condition("DC-08").hint,
            seconds=failing.seconds,
        )
    )
    for name, what in (
        (
            f"error {EdmCode.NOT_FOUND.value}",
            _(
                "wiederholt eine endgültige Ablehnung (0004) nicht",
                "does not repeat a final refusal (0004)",
            ),
        ),
        (
            "unlisted",
            _(
                f"wiederholt einen Code außerhalb der EDM-Liste ({UNLISTED_CODE}) nicht",
                f"does not repeat a code outside the EDM list ({UNLISTED_CODE})",
            ),
        ),
    ):
        final = rounds[name]
        final_counts = [len(items) for items in _attempts(final).values()]
        requests = final.of("request")
        checks.append(
            _check(
                what,
                max(final_counts) == 1 if final_counts else None,
                expected=_("ein Versuch je Nachweisanfrage", "one attempt per request"),
                actual=_(
                    f"Versuche je Nachweisanfrage: {final_counts}",
                    f"attempts per request: {final_counts}",
                )
                if final_counts
                else _("keine Nachweisanfrage gesendet", "no request sent"),
                event=requests[-1] if requests else None,
                hint=_(
                    "Nur wiederholen, was gelingen kann: keine Antwort, 0005 und 0008 mit "
                    "502/503/504.",
                    "Retry only what can pass: no answer, 0005, and 0008 with 502/503/504.",
                ),
            )
        )
    return checks


# -- DC-09 -----------------------------------------------------------------------------------


def _outcome(event: Event) -> str | None:
    """What the service should have logged for the answer it got in ``event``."""
    try:
        message = messages.parse(parse(event.response))
    except (NootsError, ValueError):
        return None
    if isinstance(message, messages.EvidenceErrorResponse):
        return f"refused:{message.errors[0].code.value}"
    if isinstance(message, messages.EvidenceResponse):
        return "pending" if message.available_at is not None else "delivered"
    return None


def _dc09(target: ConsumerTarget, rounds: dict[str, _Round], clock: Clock) -> list[Check]:
    if target.protocol_log is None:
        return [
            _check(
                _(
                    "der Dienst protokolliert seine Übermittlungen",
                    "the service logs its transfers",
                ),
                None,
                expected="",
                actual=_(
                    "die Suite sieht das Protokoll des Dienstes nicht",
                    "the suite cannot see the service's protocol log",
                ),
                hint=_(
                    "--protocol-log angeben (SQLite-Datei oder postgresql://-URL).",
                    "Pass --protocol-log (SQLite file or postgresql:// URL).",
                ),
            )
        ]
    log = open_protocol_log(target.protocol_log, party="noots-conformance", clock=clock)
    try:
        entries = log.entries()
        try:
            log.verify()
            intact = True
        except NootsError:
            intact = False
    finally:
        log.close()
    logged: dict[str, set[str]] = {}
    for entry in entries:
        logged.setdefault(entry.message_id.lower().removeprefix("urn:uuid:"), set()).add(
            entry.outcome
        )
    checks = [
        _check(
            _(
                "die Hash-Kette des Protokolls ist unversehrt",
                "the log's hash chain is intact",
            ),
            intact,
            expected=_("das Protokoll lässt sich prüfen", "the log verifies"),
            actual=_("unversehrt", "intact")
            if intact
            else _("die Kette ist gebrochen", "the chain is broken"),
            hint=_(
                "Protokolleinträge nie ändern oder löschen.",
                "Never change or delete protocol entries.",
            ),
        )
    ]
    for name in ("normal", f"error {EdmCode.NOT_FOUND.value}"):
        expected: dict[str, str] = {}
        for item in rounds[name].sent():
            outcome = _outcome(item.event)
            if outcome is not None:
                expected[str(item.request.request_id)] = outcome
        missing = sorted(
            f"{request_id} ({outcome})"
            for request_id, outcome in expected.items()
            if outcome not in logged.get(request_id, set())
        )
        checks.append(
            _check(
                _(
                    f"Runde {name} mit jedem Ergebnis protokolliert",
                    f"{name} round logged with each outcome",
                ),
                not missing if expected else None,
                expected=_(
                    "je Nachweisanfrage ein Eintrag mit dem Ergebnis, das sie erhielt "
                    "(delivered, pending, refused:…)",
                    "an entry with the outcome it got (delivered, pending, refused:…) for "
                    "each request",
                ),
                actual=_(
                    f"nicht protokolliert: {', '.join(missing[:4])}",
                    f"not logged: {', '.join(missing[:4])}",
                )
                if missing
                else _(f"{len(expected)} protokolliert", f"{len(expected)} logged"),
                hint=condition("DC-09").hint,
            )
        )
    return checks
