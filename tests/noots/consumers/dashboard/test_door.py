"""The dashboard's door (issue 13): operator login, Host allow-list, same-origin state changes
with CSRF tokens, authenticated event reporters, strict mode without pilots and faults."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from noots.clock import ManualClock
from noots.consumers.dashboard._door import OperatorSessions, allowed_hosts, host_of
from noots.consumers.dashboard.event_auth import ReportingKey, ReportingTokens
from noots.errors import AuthenticationError
from noots.testing.landscape import Landscape
from noots.trace import FlowEvent, Hop, TracedDocument
from tests.noots.consumers.dashboard.conftest import KBA, WiredDashboard, wired_dashboard

VS = "noots-vs"
SIMULATOR = "noots-simulator"
SIGNED = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n"
    b"<Person><Name>Erika Mustermann</Name><IDNr>02476291358</IDNr></Person>"
)
SECURITY_HEADERS = ("content-security-policy", "x-frame-options", "referrer-policy")


def flow_event(component: str = KBA, trace_id: str = "door") -> FlowEvent:
    now = datetime.now(UTC)
    return FlowEvent(
        trace_id=trace_id,
        hop=Hop.DP_SAK,
        component=component,
        started_at=now,
        ended_at=now,
        documents=(TracedDocument(label="Antwort", xml=SIGNED),),
    )


def batch(*events: FlowEvent) -> str:
    return json.dumps({"events": [json.loads(e.model_dump_json()) for e in events]})


async def post_events(
    dash: WiredDashboard, body: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await dash.anonymous.post(
        "/events/v1", content=body, headers={"Content-Type": "application/json", **(headers or {})}
    )


def stored_traces(dash: WiredDashboard) -> set[str | None]:
    log = dash.app.state.events
    return {json.loads(n.data)["traceId"] for n in log.notices(after=0, kind="flow")}


# -- the parts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("127.0.0.1:8402", "127.0.0.1"),
        ("LocalHost", "localhost"),
        ("[::1]:8402", "::1"),
        ("dashboard:80", "dashboard"),
        ("evil.example:8402", "evil.example"),
        ("", None),
        ("a b", None),
        ("host:port", None),
        ("host:123456", None),
        ("[::1", None),
        ("[evil.example]:80", None),
        ("user@host", None),
        ("host:８０", None),
    ],
)
def test_host_of_reads_a_host_header(header: str, host: str | None) -> None:
    """The host name of a Host header, lower case; None for anything malformed."""
    assert host_of(header) == host


@given(st.text(max_size=300))
def test_host_of_never_raises(header: str) -> None:
    """Any Host header gives a host or None, nothing else."""
    host = host_of(header)
    assert host is None or (host and host == host.lower())


def test_allowed_hosts_are_loopback_the_topologys_and_configured_ones() -> None:
    """Loopback names, the topology's host and configured names; never a listen-all address."""
    listen_all = "0.0.0.0"  # noqa: S104 - a topology's host, not bound here
    assert allowed_hosts(listen_all, ["Noots.Intern", "fd00::1"]) == {
        "127.0.0.1",
        "localhost",
        "::1",
        "noots.intern",
        "fd00::1",
    }
    assert "dashboard" in allowed_hosts("dashboard", [])


def test_a_session_ends_after_its_lifetime() -> None:
    """A session is found until its lifetime has passed, then never again."""
    now = [1000.0]
    sessions = OperatorSessions("t" * 43, lifetime=timedelta(hours=1), now=lambda: now[0])
    session = sessions.open("t" * 43)
    assert session is not None
    assert sessions.open("t" * 42 + "u") is None
    now[0] += 3599
    assert sessions.find(session.session_id) == session
    now[0] += 2
    assert sessions.find(session.session_id) is None


def test_sessions_are_bounded() -> None:
    """Logging in over and over keeps only the newest sessions."""
    sessions = OperatorSessions("t" * 43, lifetime=timedelta(hours=1), capacity=3)
    opened = [sessions.open("t" * 43) for _ in range(5)]
    found = [sessions.find(s.session_id) if s else None for s in opened]
    assert found[:2] == [None, None]
    assert found[2:] == opened[2:]


def test_csrf_tokens_differ_per_session() -> None:
    """Each session has its own CSRF token; another session's does not match."""
    sessions = OperatorSessions("t" * 43, lifetime=timedelta(hours=1))
    first, second = sessions.open("t" * 43), sessions.open("t" * 43)
    assert first is not None
    assert second is not None
    assert first.csrf != second.csrf
    assert not first.csrf_matches(second.csrf)
    assert not first.csrf_matches(None)
    assert first.csrf_matches(first.csrf)


# -- personal data only for the operator -------------------------------------------------


@pytest.mark.e2e
async def test_anonymous_reads_of_events_and_documents_are_refused(landscape: Landscape) -> None:
    """Without a login the event list, the live stream and a hop's signed message are refused;
    the operator gets them."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        event = flow_event()
        dash.app.state.events.add_event(event)
        document = f"/api/v1/events/{event.event_id}/documents/0"
        anonymous = [
            await dash.anonymous.get("/events/v1", params={"after": 0}),
            await dash.anonymous.get("/events/v1/stream", params={"after": 999999}),
            await dash.anonymous.get(document),
        ]
        operator = await dash.client.get(document)
    assert [r.status_code for r in anonymous] == [401, 401, 401]
    assert all("Mustermann" not in r.text and "02476291358" not in r.text for r in anonymous)
    assert operator.status_code == 200
    assert "Erika Mustermann" in operator.json()["pretty"]


@pytest.mark.e2e
async def test_pages_and_apis_with_personal_data_need_the_operator(landscape: Landscape) -> None:
    """Live view, DSC and reports send a visitor to the login; their APIs answer 401."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        pages = {
            path: await dash.anonymous.get(path)
            for path in ("/ablauf", "/datenschutzcockpit", "/berichte", "/berichte/a.json")
        }
        apis = [
            await dash.anonymous.get("/api/v1/reports"),
            await dash.anonymous.get("/api/v1/pilots"),
            await dash.anonymous.get("/api/v1/runs/abc"),
            await dash.anonymous.get("/api/v1/faults"),
            await dash.anonymous.get("/api/v1/session"),
        ]
    for path, answer in pages.items():
        assert answer.status_code == 303, path
        assert answer.headers["location"] == f"/login?next={path}"
    assert {a.status_code for a in apis} == {401}


@pytest.mark.e2e
async def test_the_landscape_and_health_stay_public(landscape: Landscape) -> None:
    """Landschaft, /health, the components' health and the login page need no login."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        answers = [
            await dash.anonymous.get(path)
            for path in ("/", "/health", "/api/v1/health", "/login", "/static/login.js")
        ]
        landing = answers[0].text
    assert [a.status_code for a in answers] == [200] * 5
    assert 'id="anmelden"' in landing
    assert 'name="csrf-token"' not in landing


# -- login -------------------------------------------------------------------------------


@pytest.mark.e2e
async def test_login_with_the_operator_token_opens_a_strict_session(landscape: Landscape) -> None:
    """The token of the data dir logs in: an HttpOnly, SameSite=Strict cookie (not Secure over
    plain HTTP), then the live view; a wrong token gets no cookie."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        token = (dash.landscape.data_dir / "run" / "dashboard-operator.token").read_text().strip()
        wrong = await dash.anonymous.post("/login", data={"token": "x" * 43})
        right = await dash.anonymous.post("/login", data={"token": token, "next": "/berichte"})
        live = await dash.anonymous.get("/berichte")
    assert wrong.status_code == 401
    assert "set-cookie" not in wrong.headers
    assert 'id="anmelde-fehler"' in wrong.text
    assert right.status_code == 303
    assert right.headers["location"] == "/berichte"
    cookie = right.headers["set-cookie"].lower()
    assert cookie.startswith("noots-operator=")
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie
    assert live.status_code == 200


@pytest.mark.e2e
async def test_the_token_file_is_private(landscape: Landscape) -> None:
    """Operator token and events key are files only their owner can read."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        run = dash.landscape.data_dir / "run"
    for name in ("dashboard-operator.token", "dashboard-events.key"):
        assert (run / name).stat().st_mode & 0o777 == 0o600


@pytest.mark.e2e
async def test_login_leads_only_to_pages_of_the_dashboard(landscape: Landscape) -> None:
    """A `next` that names another site leads to the live view instead (no open redirect)."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        token = (dash.landscape.data_dir / "run" / "dashboard-operator.token").read_text().strip()
        targets = []
        for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "ablauf"):
            answer = await dash.anonymous.post("/login", data={"token": token, "next": target})
            targets.append(answer.headers["location"])
    assert targets == ["/ablauf"] * 4


@pytest.mark.e2e
async def test_under_tls_the_cookie_is_secure_and_host_bound(landscape: Landscape) -> None:
    """With TLS the session cookie is Secure and __Host- prefixed."""
    async with wired_dashboard(landscape, registers=[], tls=True) as dash:
        token = (dash.landscape.data_dir / "run" / "dashboard-operator.token").read_text().strip()
        answer = await dash.anonymous.post("/login", data={"token": token})
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith("__host-noots-operator=")
    assert "; secure" in cookie


@pytest.mark.e2e
async def test_logout_needs_the_csrf_token_and_ends_the_session(landscape: Landscape) -> None:
    """Logout without the session's CSRF token is refused; with it the session is gone."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        csrf = dash.client.headers.pop("X-CSRF-Token")
        forged = await dash.client.post("/logout", data={"csrf": "nope"})
        still = await dash.client.get("/events/v1")
        done = await dash.client.post("/logout", data={"csrf": csrf})
        after = await dash.client.get("/events/v1")
    assert forged.status_code == 403
    assert still.status_code == 200
    assert done.status_code == 303
    assert after.status_code == 401


# -- state changes: login, CSRF, same origin ----------------------------------------------


@pytest.mark.e2e
async def test_faults_and_pilots_need_a_login(landscape: Landscape) -> None:
    """Anonymous: no fault is switched, no pilot starts, no citizen is looked up."""
    async with wired_dashboard(landscape, registers=[KBA]) as dash:
        fault = await dash.anonymous.put(f"/api/v1/faults/{KBA}", json={"fault": "drop"})
        run = await dash.anonymous.post(
            "/api/v1/runs", json={"pilot": "bewohnerparkausweis", "idnr": "02476291358"}
        )
        dsc = await dash.anonymous.post("/api/v1/dsc", json={"idnr": "02476291358"})
        plan = (await dash.client.get("/api/v1/faults")).json()["registers"]
    assert (fault.status_code, run.status_code, dsc.status_code) == (401, 401, 401)
    assert {r["participantId"]: r["choice"] for r in plan}[KBA] is None


@pytest.mark.e2e
async def test_faults_and_pilots_need_the_sessions_csrf_token(landscape: Landscape) -> None:
    """Logged in but without (or with a wrong) CSRF token: refused, nothing switched."""
    async with wired_dashboard(landscape, registers=[KBA]) as dash:
        csrf = dash.client.headers.pop("X-CSRF-Token")
        missing = await dash.client.put(f"/api/v1/faults/{KBA}", json={"fault": "drop"})
        wrong = await dash.client.put(
            f"/api/v1/faults/{KBA}", json={"fault": "drop"}, headers={"X-CSRF-Token": "x" * 43}
        )
        run = await dash.client.post(
            "/api/v1/runs", json={"pilot": "bewohnerparkausweis", "idnr": "02476291358"}
        )
        plan = (await dash.client.get("/api/v1/faults")).json()["registers"]
        right = await dash.client.put(
            f"/api/v1/faults/{KBA}", json={"fault": None}, headers={"X-CSRF-Token": csrf}
        )
    assert (missing.status_code, wrong.status_code, run.status_code) == (403, 403, 403)
    assert {r["participantId"]: r["choice"] for r in plan}[KBA] is None
    assert right.status_code == 200


@pytest.mark.e2e
async def test_every_state_changing_route_needs_login_and_csrf(landscape: Landscape) -> None:
    """Each POST/PUT/DELETE route but login, logout and the collector refuses an anonymous
    caller (401) and a logged-in one without the CSRF token (403)."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        csrf = dash.client.headers.pop("X-CSRF-Token")
        assert csrf
        checked = []
        for route in dash.app.routes:
            methods = set(getattr(route, "methods", None) or ()) - {"GET", "HEAD"}
            if not methods or route.path in ("/login", "/logout", "/events/v1"):
                continue
            path = route.path.replace("{participant_id}", KBA)
            for method in methods:
                anonymous = await dash.anonymous.request(method, path, json={})
                without = await dash.client.request(method, path, json={})
                checked.append((method, path, anonymous.status_code, without.status_code))
    assert {(m, p) for m, p, _a, _w in checked} >= {
        ("POST", "/api/v1/runs"),
        ("PUT", f"/api/v1/faults/{KBA}"),
        ("POST", "/api/v1/dsc"),
    }
    assert all((a, w) == (401, 403) for _m, _p, a, w in checked), checked


@pytest.mark.e2e
async def test_a_foreign_host_is_refused_before_anything_else(landscape: Landscape) -> None:
    """DNS rebinding: any Host but loopback, the topology's and configured names is 400, on
    public pages, assets and the collector alike."""
    async with wired_dashboard(landscape, registers=[], dashboard_hosts=["noots.intern"]) as dash:
        port = dash.landscape.url("dashboard").rpartition(":")[2]
        refused = [
            await dash.client.get(path, headers={"Host": host})
            for host in (f"evil.example:{port}", "evil.example", "127.0.0.1.evil.example", "")
            for path in ("/", "/health", "/static/common.js", "/events/v1")
        ]
        collector = await dash.anonymous.post(
            "/events/v1",
            content=batch(flow_event()),
            headers={
                "Host": "evil.example",
                "Content-Type": "application/json",
                **dash.reporting(KBA),
            },
        )
        allowed = [
            await dash.anonymous.get("/health", headers={"Host": host})
            for host in (f"localhost:{port}", f"[::1]:{port}", "127.0.0.1", "NOOTS.intern:443")
        ]
    assert {r.status_code for r in refused} == {400}
    assert all(r.headers["x-frame-options"] == "DENY" for r in refused)
    assert collector.status_code == 400
    assert [a.status_code for a in allowed] == [200] * 4


@pytest.mark.e2e
async def test_state_changes_from_another_origin_are_refused(landscape: Landscape) -> None:
    """A page of another origin cannot log in, switch a fault or start a pilot, even with the
    session's cookie and token; the dashboard's own origin can."""
    async with wired_dashboard(landscape, registers=[KBA]) as dash:
        own = dash.landscape.url("dashboard")
        token = (dash.landscape.data_dir / "run" / "dashboard-operator.token").read_text().strip()
        foreign = [
            await dash.anonymous.post(
                "/login", data={"token": token}, headers={"Origin": "http://evil.example"}
            ),
            await dash.client.put(
                f"/api/v1/faults/{KBA}",
                json={"fault": "drop"},
                headers={"Origin": "http://127.0.0.1:1"},
            ),
            await dash.client.post(
                "/api/v1/runs",
                json={"pilot": "bewohnerparkausweis", "idnr": "02476291358"},
                headers={"Origin": "null"},
            ),
            await dash.client.put(
                f"/api/v1/faults/{KBA}",
                json={"fault": "drop"},
                headers={"Sec-Fetch-Site": "cross-site"},
            ),
        ]
        same = await dash.client.put(
            f"/api/v1/faults/{KBA}",
            json={"fault": None},
            headers={"Origin": own, "Sec-Fetch-Site": "same-origin"},
        )
    assert [f.status_code for f in foreign] == [403] * 4
    assert "set-cookie" not in foreign[0].headers
    assert same.status_code == 200


# -- the collector: authenticated components, each about itself ----------------------------


@pytest.mark.e2e
async def test_forged_events_are_refused(landscape: Landscape) -> None:
    """No token, a token of another key, for another dashboard, or expired: 401, nothing shown."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        body = batch(flow_event(trace_id="forged"))
        other_key = ReportingTokens(ReportingKey.from_secret("y" * 43), audience=SIMULATOR)
        other_dashboard = ReportingTokens(
            ReportingKey.from_secret(_events_key(dash)), audience="another-dashboard"
        )
        expired = ReportingTokens(
            ReportingKey.from_secret(_events_key(dash)),
            audience=SIMULATOR,
            clock=ManualClock(datetime.now(UTC) - timedelta(hours=1)),
        )
        answers = [
            await post_events(dash, body),
            await post_events(dash, body, {"Authorization": "Bearer nonsense"}),
            await post_events(dash, body, dict(other_key(KBA))),
            await post_events(dash, body, dict(other_dashboard(KBA))),
            await post_events(dash, body, dict(expired(KBA))),
        ]
        # an operator's session is no reporter either
        session = await dash.client.post(
            "/events/v1", content=body, headers={"Content-Type": "application/json"}
        )
        traces = stored_traces(dash)
    assert [a.status_code for a in answers] == [401] * 5
    assert all(a.headers["www-authenticate"] == "Bearer" for a in answers)
    assert session.status_code == 401
    assert "forged" not in traces


@pytest.mark.e2e
async def test_an_event_claiming_another_component_is_refused(landscape: Landscape) -> None:
    """The KBA may report its own hops, not the VS's: the whole batch is refused."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        as_kba = dict(dash.reporting(KBA))
        foreign = await post_events(dash, batch(flow_event(VS, "as-vs")), as_kba)
        mixed = await post_events(
            dash, batch(flow_event(KBA, "mixed"), flow_event(VS, "mixed")), as_kba
        )
        own = await post_events(dash, batch(flow_event(KBA, "own")), as_kba)
        traces = stored_traces(dash)
    assert (foreign.status_code, mixed.status_code, own.status_code) == (403, 403, 202)
    assert VS in foreign.json()["detail"]
    assert traces == {"own"}


@pytest.mark.e2e
async def test_a_reporter_outside_the_landscape_is_refused(landscape: Landscape) -> None:
    """A valid token for a participant id the topology does not have (or the dashboard's own):
    403."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        stranger = await post_events(
            dash, batch(flow_event("evil-component")), dict(dash.reporting("evil-component"))
        )
        itself = await post_events(
            dash, batch(flow_event(SIMULATOR)), dict(dash.reporting(SIMULATOR))
        )
    assert (stranger.status_code, itself.status_code) == (403, 403)


class FakeAuthenticator:
    """Stands for the IAM's access tokens: the header names the reporter."""

    async def authenticate(self, request: Request) -> str:
        reporter = request.headers.get("x-fake-reporter")
        if reporter is None:
            raise AuthenticationError("no fake credential")
        return reporter


@pytest.mark.e2e
async def test_an_injected_authenticator_decides_who_reports(landscape: Landscape) -> None:
    """create_app(event_authenticator=…) replaces the reporting tokens entirely; the events
    still have to be the authenticated reporter's own."""
    async with wired_dashboard(
        landscape, registers=[], event_authenticator=FakeAuthenticator()
    ) as dash:
        tokens = await post_events(dash, batch(flow_event(KBA, "t")), dict(dash.reporting(KBA)))
        fake = await post_events(dash, batch(flow_event(KBA, "fake")), {"X-Fake-Reporter": KBA})
        other = await post_events(dash, batch(flow_event(VS, "other")), {"X-Fake-Reporter": KBA})
        traces = stored_traces(dash)
    assert (tokens.status_code, fake.status_code, other.status_code) == (401, 202, 403)
    assert traces == {"fake"}


def _events_key(dash: WiredDashboard) -> str:
    return (dash.landscape.data_dir / "run" / "dashboard-events.key").read_text().strip()


# -- strict mode and headers ---------------------------------------------------------------


@pytest.mark.e2e
async def test_strict_mode_has_no_pilot_or_fault_routes(landscape: Landscape) -> None:
    """In strict mode pilots and faults do not exist: no routes, no forms, no menu entry."""
    async with wired_dashboard(landscape, registers=[KBA], mode="strict") as dash:
        paths = {getattr(route, "path", "") for route in dash.app.routes}
        answers = [
            await dash.client.get("/api/v1/pilots"),
            await dash.client.post(
                "/api/v1/runs", json={"pilot": "bewohnerparkausweis", "idnr": "02476291358"}
            ),
            await dash.client.get("/api/v1/runs/abc"),
            await dash.client.get("/api/v1/faults"),
            await dash.client.put(f"/api/v1/faults/{KBA}", json={"fault": "drop"}),
        ]
        page = await dash.client.get("/ablauf")
    assert not paths & {"/api/v1/pilots", "/api/v1/runs", "/api/v1/faults/{participant_id}"}
    assert {a.status_code for a in answers} <= {404, 405}
    assert page.status_code == 200
    assert 'id="pilot-form"' not in page.text
    assert 'id="stoerungen"' not in page.text
    assert "Pilot starten" not in page.text
    assert 'id="ablaeufe"' in page.text  # the live view stays


@pytest.mark.e2e
async def test_every_answer_carries_the_security_headers(landscape: Landscape) -> None:
    """CSP without inline script, no framing, no referrer to other sites; no-store wherever
    personal data may be (everything but the static assets)."""
    async with wired_dashboard(landscape, registers=[]) as dash:
        answers: dict[str, Any] = {
            path: await dash.client.get(path)
            for path in ("/", "/ablauf", "/login", "/events/v1", "/api/v1/health", "/nichts")
        }
        asset = await dash.client.get("/static/ablauf.js")
    for path, answer in [*answers.items(), ("/static/ablauf.js", asset)]:
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp, path
        assert answer.headers["x-frame-options"] == "DENY", path
        assert answer.headers["referrer-policy"] == "same-origin", path
        assert answer.headers["x-content-type-options"] == "nosniff", path
    for path, answer in answers.items():
        assert answer.headers["cache-control"] == "no-store", path
    assert "no-store" not in asset.headers.get("cache-control", "")
    assert all(name in answers["/ablauf"].headers for name in SECURITY_HEADERS)
