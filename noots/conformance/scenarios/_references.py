"""Scenario files against a topology: every participant, evidence type and component a step
names must exist there, and every expectation must be one its step can meet, reported as
``file:line: location: message`` before anything runs.

The schema checks the shape of a file; only the topology knows whether ``as: 08118079-BPA-87``
is an online service or ``evidence: Einhornlizenz`` an evidence type. ``noots scenario check``
and ``run`` both call :func:`check_references`, so a run never starts a step it cannot carry
out for want of a name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from noots._yaml_locations import Location, format_location, line_of
from noots.conformance.scenarios.model import Scenario
from noots.errors import ScenarioError
from noots.topology import Topology

__all__ = ["check_references", "reference_problems"]

#: Components that are no participant but answer at an address of their own.
_COMPONENTS = ("platform", "ida", "dashboard")

Problem = tuple[str, str, int | None]

#: Expectations only some steps can meet, and those steps: a fetch sees the bare 0102 the
#: client library returns (no HTTP status, no signer), a send one exchange (no attempts),
#: the EU steps their own findings. Anywhere else the expectation would fail on every run.
_EXPECT_ONLY: dict[str, tuple[str, ...]] = {
    "signed_by": ("send",),
    "status": ("send", "eu_query", "eu_order"),
    "attempts": ("fetch",),
    "provider": ("fetch", "send"),
    "forwarded": ("eu_query", "eu_order"),
    "exception_type": ("eu_query", "eu_order"),
}


def _known(names: Iterable[str], what: str) -> Callable[[str], str | None]:
    listed = sorted(names)

    def check(value: str) -> str | None:
        if value in listed:
            return None
        shown = ", ".join(listed[:12]) + (" …" if len(listed) > 12 else "")
        return f"no {what} {value!r} in the topology (known: {shown})"

    return check


def reference_problems(scenario: Scenario, topology: Topology) -> list[Problem]:
    """Every name in ``scenario`` the topology does not have, and every expectation its step
    cannot meet."""
    consumer = _known((c.participant_id for c in topology.consumers), "online service")
    register = _known((r.participant_id for r in topology.registers), "register")
    evidence = _known((e.name for e in topology.evidence_types), "evidence type")
    participants = [p.participant_id for p in topology.participants()]
    participant = _known(participants, "participant")
    component = _known([*participants, *_COMPONENTS], "component")
    member = _known((m.participant_id for m in topology.members()), "register or online service")
    eu = topology.eu
    gateway = _known(
        () if eu is None else (eu.requester.participant_id, eu.provider.participant_id),
        "member state access point",
    )

    def answered_by(value: str) -> str | None:
        return None if value == "consumer" else component(value)

    rules: dict[str, Sequence[tuple[str, Callable[[str], str | None]]]] = {
        "fetch": (("as", consumer), ("evidence", evidence)),
        "send": (("as", consumer), ("evidence", evidence), ("provider", register)),
        "fault": (("register", component),),
        "revoke": (("participant", participant),),
        "reissue": (("participant", participant),),
        "expect_protocol": (("party", member),),
        "expect_dsc": (("parties", participant),),
        "health": (("component", component),),
        "visit": (("service", consumer), ("decline", evidence)),
        "eu_query": (("as", gateway), ("evidence", evidence)),
        "eu_order": (("as", consumer), ("evidence", evidence)),
        "expect": (
            ("provider", register),
            ("component", answered_by),
            ("signed_by", participant),
        ),
    }
    problems: list[Problem] = []
    for index, step in enumerate(scenario.steps):
        blocks: list[tuple[str, Any]] = [(step.action, step.params)]
        if step.expect:
            blocks.append(("expect", step.expect))
        for key in step.expect or {}:
            steps = _EXPECT_ONLY.get(key, (step.action,))
            if key == "signed_by" and step.params.get("to") == "register":
                # Straight to the register: its answer is bare, the SAK signs nothing.
                steps = ("send to the SAK",)
            if step.action not in steps:
                where: Location = ("steps", index, "expect", key)
                problems.append(
                    (
                        format_location(where),
                        f"a {step.action} step cannot meet {key!r} (only {', '.join(steps)})",
                        line_of(scenario.root, where),
                    )
                )
        for block, params in blocks:
            for key, check in rules.get(block, ()):
                problems.extend(
                    _check(scenario, ("steps", index, block, key), params.get(key), check)
                )
    return problems


def _check(
    scenario: Scenario, loc: Location, value: Any, check: Callable[[str], str | None]
) -> Iterator[Problem]:
    values = value if isinstance(value, list) else [] if value is None else [value]
    for position, item in enumerate(values):
        problem = check(str(item))
        if problem is not None:
            where: Location = (*loc, position) if isinstance(value, list) else loc
            yield format_location(where), problem, line_of(scenario.root, where)


def check_references(scenarios: Iterable[Scenario], topology: Topology) -> None:
    """Raise :class:`ScenarioError` naming every unknown reference in every file at once."""
    errors = [
        ScenarioError(scenario.source, problems)
        for scenario in scenarios
        if (problems := reference_problems(scenario, topology))
    ]
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ScenarioError.merged(errors)
