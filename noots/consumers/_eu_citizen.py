"""The people of the two EU pilots, simulated: what the dashboard's pilots, ``noots demo`` and
the scenario runner do in place of a person in a browser (docs/EU.md).

- :func:`walk_citizen` (use case 4): the citizen follows ``URLtoIP``: the IP's page, the EU
  identification (simulated eIDAS: a confirmation), the member state's preview space (approve
  or decline), back through the IP to the online service's ``BackToEvidenceRequesterURL``.
- :func:`decide_preview` (use case 3): the person decides on the IP's preview page (confirmed
  with the simulated German eID).
- :func:`ask_from_member_state` (use case 3): the Mairie de Lyon's requester asks the IP for a
  Geburtsurkunde with preview, the person decides at the IP, the requester asks again.

Each step's HTTP answer is returned, so a caller that records exchanges can draw them; a page
that does not lead on is an :class:`~noots.errors.UpstreamError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal
from urllib.parse import unquote

import httpx

from noots.errors import UpstreamError

__all__ = [
    "CitizenWalk",
    "Decision",
    "MemberStateAnswer",
    "ask_from_member_state",
    "decide_preview",
    "walk_citizen",
]

Decision = Literal["approve", "decline"]


@dataclass(frozen=True)
class CitizenWalk:
    """The citizen's way through the IP and the member state's preview space."""

    page: httpx.Response
    identified: httpx.Response
    decided: httpx.Response
    back: httpx.Response
    #: Where the citizen ended up: the online service's BackToEvidenceRequesterURL.
    returned_to: str


async def walk_citizen(
    http: httpx.AsyncClient, url_to_ip: str, *, decision: Decision = "approve"
) -> CitizenWalk:
    """Follow ``url_to_ip`` as the citizen (see the module docstring)."""
    try:
        page = await http.get(url_to_ip)
        identified = await http.post(url_to_ip + "/identify", data={"eid": "yes"})
        preview = identified.headers.get("location", "")
        if page.status_code != 200 or identified.status_code != 303 or "?" not in preview:
            raise UpstreamError("the IP's citizen pages did not lead to the preview space")
        path, _, query = preview.partition("?")
        back_at_ip = unquote(query.removeprefix("returnurl="))
        decided = await http.post(path, data={"decision": decision, "returnurl": back_at_ip})
        back = await http.get(decided.headers.get("location", back_at_ip))
    except httpx.HTTPError as exc:
        raise UpstreamError(f"the citizen's pages are unreachable ({type(exc).__name__})") from None
    if back.status_code != 303:
        raise UpstreamError(f"the IP did not send the citizen back (HTTP {back.status_code})")
    return CitizenWalk(page, identified, decided, back, back.headers.get("location", ""))


async def decide_preview(
    http: httpx.AsyncClient, location: str, decision: Decision = "approve"
) -> httpx.Response:
    """The person decides on the IP's preview page, confirmed with the simulated German eID."""
    try:
        return await http.post(location, data={"decision": decision, "eid": "yes"})
    except httpx.HTTPError as exc:
        raise UpstreamError(f"the preview page is unreachable ({type(exc).__name__})") from None


@dataclass
class MemberStateAnswer:
    """Use case 3 through the French requester's JSON service: what it answered first, the
    preview page and the decision (when a preview was required), and the final answer."""

    first: dict[str, Any]
    final: dict[str, Any]
    preview_page: httpx.Response | None = None
    decided: httpx.Response | None = None
    responses: list[httpx.Response] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        return str(self.final.get("outcome", "failed"))


async def ask_from_member_state(
    http: httpx.AsyncClient,
    requester_url: str,
    *,
    family_name: str,
    given_name: str,
    date_of_birth: date,
    preview: bool = True,
    decision: Decision = "approve",
    timeout: float = 60.0,
) -> MemberStateAnswer:
    """The Mairie de Lyon asks the IP (``POST {requester_url}/requests``); with a preview the
    person looks at the IP's page and decides, and the requester asks again
    (``…/requests/{id}/continue``)."""
    body = {
        "familyName": family_name,
        "givenName": given_name,
        "dateOfBirth": date_of_birth.isoformat(),
        "preview": preview,
    }
    try:
        asked = await http.post(requester_url + "/requests", json=body, timeout=timeout)
        first = asked.json()
        answer = MemberStateAnswer(first, first, responses=[asked])
        if first.get("outcome") == "preview" and first.get("previewLocation"):
            location = str(first["previewLocation"])
            answer.preview_page = await http.get(location)
            answer.decided = await decide_preview(http, location, decision)
            again = await http.post(
                f"{requester_url}/requests/{first['id']}/continue", timeout=timeout
            )
            answer.final = again.json()
            answer.responses += [answer.preview_page, answer.decided, again]
    except (httpx.HTTPError, ValueError) as exc:
        raise UpstreamError(
            f"the member state's requester is unreachable ({type(exc).__name__})"
        ) from None
    return answer
