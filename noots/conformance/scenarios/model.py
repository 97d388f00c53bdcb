"""Scenario files: loading, validation against the JSON Schema, and errors with line numbers.

A scenario is a YAML document with a ``name``, optional ``description``, ``conditions`` (the
connection conditions it exercises) and ``tags``, and a list of ``steps``. Each step has
exactly one action — ``fetch``, ``send``, ``fault``, ``revoke``, ``reissue``, ``clock``,
``tamper``, ``expect_protocol``, ``expect_dsc``, ``health``, ``visit``, ``eu_query``,
``eu_order`` — an optional ``name``, and for ``fetch``, ``send``, ``eu_query`` and
``eu_order`` an ``expect`` block. docs/SCENARIOS.md describes every field; the
JSON Schema is ``scenario.schema.json`` beside this module (``noots scenario schema`` prints
it).

Every problem is reported as ``file:line: location: message`` (:class:`ScenarioError`), the
line taken from the YAML node the problem is about, so an editor can jump to it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from noots._yaml_locations import Location, format_location, line_of
from noots.errors import ScenarioError

__all__ = [
    "ACTIONS",
    "Scenario",
    "Step",
    "find_scenario_files",
    "load_scenario",
    "load_scenarios",
    "parse_duration",
    "parse_scenario",
    "scenario_json_schema",
]

ACTIONS = (
    "fetch",
    "send",
    "fault",
    "revoke",
    "reissue",
    "clock",
    "tamper",
    "expect_protocol",
    "expect_dsc",
    "health",
    "visit",
    "eu_query",
    "eu_order",
)
#: The actions whose step may carry an ``expect`` block.
EXPECTING = ("fetch", "send", "eu_query", "eu_order")
_SUBJECT_KEYS = ("identity", "idnr", "person", "company")
_DURATION = re.compile(r"^(-?\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> timedelta:
    """``90``, ``"90s"``, ``"6m"``, ``"-1h"``, ``"2d"``, ``"250ms"`` as a timedelta."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    match = _DURATION.match(str(value).strip())
    if match is None:
        raise ValueError(f"not a duration: {value!r} (use e.g. 90s, 6m, 2h, 1d)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class Step:
    """One step: its ``action``, the action's parameters, the expectations, where it is."""

    action: str
    params: Mapping[str, Any]
    expect: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    name: str = ""
    line: int | None = None

    @property
    def title(self) -> str:
        if self.name:
            return self.name
        summary = ", ".join(
            f"{key}={value}" for key, value in self.params.items() if not isinstance(value, dict)
        )
        return f"{self.action} {summary}".strip()


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    description: str = ""
    conditions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    path: Path | None = None
    #: Where it was read from, as problems name it (the path, or what the caller said).
    source: str = ""
    #: The YAML node tree, for the line of anything in it (:func:`line_of`).
    root: yaml.Node | None = field(default=None, compare=False, repr=False)

    @property
    def id(self) -> str:
        """The file stem (scenarios are named by file in reports and filters)."""
        return self.path.stem if self.path is not None else self.name


@cache
def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario file."""
    text = (
        resources.files("noots.conformance.scenarios")
        .joinpath("scenario.schema.json")
        .read_text("utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def _schema_problems(data: Any, root: yaml.Node) -> Iterator[tuple[str, str, int | None]]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(scenario_json_schema())
    reported: set[Location] = set()
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path)))
    for error in errors:
        if _said_better(error, (), errors):
            continue
        loc: Location = tuple(error.absolute_path)
        message = error.message
        if error.validator == "oneOf" and len(loc) == 2 and loc[0] == "steps":
            keys = [k for k in ACTIONS if isinstance(error.instance, dict) and k in error.instance]
            if len(keys) != 1:
                message = f"a step needs exactly one action of {', '.join(ACTIONS)}" + (
                    f"; found {', '.join(keys)}" if keys else ""
                )
            elif "expect" in error.instance and keys[0] not in EXPECTING:
                message = (
                    f"'expect' belongs to {', '.join(EXPECTING[:-1])} and {EXPECTING[-1]} "
                    f"steps, not to {keys[0]}"
                )
            else:
                # The action itself is invalid: report its own, more precise errors instead.
                message = ""
                context = error.context or ()
                for inner in context:
                    inner_loc = (*loc, *inner.relative_path)
                    if _said_better(inner, loc, context):
                        continue
                    if inner.relative_path and inner_loc not in reported:
                        reported.add(inner_loc)
                        yield format_location(inner_loc), inner.message, line_of(root, inner_loc)
                continue
        if loc in reported and not message:
            continue
        reported.add(loc)
        yield format_location(loc), message, line_of(root, loc)


def _said_better(error: Any, base: Location, others: Iterable[Any]) -> bool:
    """An "unevaluated properties" error about a property that has its own, precise error
    (a wrong value makes the schema branch that knows the property fail, so the property then
    looks unexpected too): say only the precise one."""
    if error.validator != "unevaluatedProperties" or not isinstance(error.instance, dict):
        return False
    here = (*base, *error.relative_path)
    named = {
        (*base, *other.relative_path)[len(here)]
        for other in others
        if other is not error and len((*base, *other.relative_path)) > len(here)
    }
    return any(key in named for key in error.instance)


def _semantic_problems(
    data: dict[str, Any], root: yaml.Node
) -> Iterator[tuple[str, str, int | None]]:
    """What the schema cannot say: a subject for fetch/send, readable durations."""
    for index, step in enumerate(data.get("steps") or []):
        for action in ("fetch", "send"):
            params = step.get(action)
            if not isinstance(params, dict):
                continue
            subjects = [k for k in _SUBJECT_KEYS if k in params]
            loc: Location = ("steps", index, action)
            if not subjects:
                yield (
                    format_location(loc),
                    "name the subject with identity, idnr (+ person or born), person or company",
                    line_of(root, loc),
                )
            elif "company" in subjects and len(subjects) > 1:
                yield format_location(loc), "a company cannot also be a person", line_of(root, loc)
        clock = step.get("clock")
        if isinstance(clock, dict):
            for key in ("advance", "set"):
                if key in clock:
                    try:
                        parse_duration(clock[key])
                    except ValueError as exc:
                        loc = ("steps", index, "clock", key)
                        yield format_location(loc), str(exc), line_of(root, loc)


def parse_scenario(text: str, *, source: str = "<scenario>", path: Path | None = None) -> Scenario:
    """Validate scenario YAML ``text``; :class:`ScenarioError` names ``source`` and lines."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(source, [("(document)", f"not valid YAML: {problem}", line)]) from None
    if root is None or not isinstance(data, dict):
        raise ScenarioError(source, [("(document)", "expected a mapping with name and steps", 1)])
    problems = list(_schema_problems(data, root))
    if not problems:
        problems = list(_semantic_problems(data, root))
    if problems:
        raise ScenarioError(source, problems)
    steps = []
    for index, raw in enumerate(data["steps"]):
        action = next(key for key in ACTIONS if key in raw)
        steps.append(
            Step(
                action=action,
                params=MappingProxyType(dict(raw[action])),
                expect=MappingProxyType(dict(raw.get("expect") or {})),
                name=str(raw.get("name", "")),
                line=line_of(root, ("steps", index)),
            )
        )
    return Scenario(
        name=str(data["name"]),
        steps=tuple(steps),
        description=str(data.get("description", "")).strip(),
        conditions=tuple(data.get("conditions") or ()),
        tags=tuple(data.get("tags") or ()),
        path=path,
        source=source,
        root=root,
    )


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(path), [("(file)", exc.strerror or str(exc), None)]) from None
    return parse_scenario(text, source=str(path), path=path)


def find_scenario_files(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, and every ``*.yaml``/``*.yml`` below named directories, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        else:
            found.append(path)
    return found


def load_scenarios(paths: Iterable[Path]) -> list[Scenario]:
    """Every scenario below ``paths``; all files are checked, all problems reported at once."""
    scenarios: list[Scenario] = []
    problems: list[ScenarioError] = []
    for path in find_scenario_files(paths):
        try:
            scenarios.append(load_scenario(path))
        except ScenarioError as exc:
            problems.append(exc)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ScenarioError.merged(problems)
    return scenarios
