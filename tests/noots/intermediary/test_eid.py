"""The simulated eID service: test logins issue identity tokens sealed by noots-eid."""

from __future__ import annotations

from noots.eid import verify_identity
from noots.intermediary.app import create_app
from noots.synthetic.identities import BEHAVIOUR_IDENTITIES, Behaviour
from noots.testing.asgi import running
from tests.noots.intermediary.support import ERIKA, Landscape


async def test_login_with_idnr_issues_a_token_with_the_population_names(
    landscape: Landscape,
) -> None:
    """An IDNr of the population yields a token sealed by the eID with the person's names."""
    app = create_app(
        landscape.settings(),
        components=("eid",),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        answer = await client.post("/eid/v1/login", json={"idnr": ERIKA[0], "level": "hoch"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["simulation"] is True
    verifier = landscape.participant("noots-vs").verifier
    identity = verify_identity(body["token"], verifier, clock=landscape.clock)
    assert (identity.idnr, identity.family_name, identity.given_name) == (
        ERIKA[0],
        ERIKA[1],
        ERIKA[2],
    )
    assert identity.level == "hoch"
    assert identity.audience == "noots-dsc"


async def test_login_as_behaviour_identity(landscape: Landscape) -> None:
    """A behaviour name logs in as that fixed identity, even one not in the population."""
    app = create_app(
        landscape.settings(),
        components=("eid",),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    not_found = next(i for i in BEHAVIOUR_IDENTITIES if i.behaviour is Behaviour.NOT_FOUND)
    async with running(app) as client:
        answer = await client.post(
            "/eid/v1/login", json={"identity": "not_found", "level": "substantiell"}
        )
    assert answer.status_code == 200
    assert answer.json()["idnr"] == not_found.idnr
    assert answer.json()["familyName"] == not_found.family_name
    assert answer.json()["level"] == "substantiell"


async def test_unknown_or_invalid_citizens_are_refused(landscape: Landscape) -> None:
    """A valid IDNr nobody has → 404 (0004); a broken IDNr or behaviour → 400 (0003)."""
    app = create_app(
        landscape.settings(),
        components=("eid",),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        nobody = await client.post("/eid/v1/login", json={"idnr": "86095742719"})
        broken = await client.post("/eid/v1/login", json={"idnr": "02476291359"})
        behaviour = await client.post("/eid/v1/login", json={"identity": "grumpy"})
        empty = await client.post("/eid/v1/login", json={})
    assert (nobody.status_code, nobody.json()["code"]) == (404, "EDM:ERR:0004")
    assert (broken.status_code, broken.json()["code"]) == (400, "EDM:ERR:0003")
    assert "check digit" in broken.json()["detail"]
    assert behaviour.status_code == 400
    assert "not_found" in behaviour.json()["detail"]
    assert empty.status_code == 400


async def test_a_body_that_is_not_utf8_json_is_a_clean_refusal(landscape: Landscape) -> None:
    """Bytes that are not UTF-8 (issue 13's UTF-16 document) in a JSON body: a 400 problem
    EDM:ERR:0003 naming the field, not a server error, and nothing of the input echoed."""
    app = create_app(
        landscape.settings(),
        components=("eid",),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    hostile = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY % p SYSTEM '
    hostile += '"file:///dev/zero"> %p;]><r/>'
    async with running(app) as client:
        answer = await client.post(
            "/eid/v1/login",
            content=hostile.encode("utf-16"),
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 400
    assert answer.json()["code"] == "EDM:ERR:0003"
    assert "dev/zero" not in answer.text
