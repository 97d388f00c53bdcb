"""``--person``: one way to name a person on every command that takes one.

Accepted, tried in this order:

- an IDNr (11 digits): that number; a test identity's basic data come with it;
- a test identity (docs/identities.md) by name without a date (``Erika Mustermann``, or
  ``Mustermann, Erika``) or by its behaviour (``asynchronous``, ``no_vehicle``; where two share
  one, e.g. ``ambiguous``, the IDNr says which);
- basic data with the date of birth: ``Erika Mustermann 1964-08-12 [place]`` or
  ``Mustermann, Erika, 12.08.1964[, place]`` (the IDA finds the IDNr).

Anything else is a usage error that lists these forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from noots.cli._exit import usage_error

if TYPE_CHECKING:
    from noots.consumers import PersonQuery

__all__ = ["FORMS", "PERSON_HELP", "PersonArgument", "parse_person_option"]

FORMS = (
    "an IDNr (11 digits), a test person's name or behaviour (docs/identities.md: "
    "'Erika Mustermann', 'asynchronous'), or basic data with the date of birth "
    "('Erika Mustermann 1964-08-12' or 'Mustermann, Erika, 12.08.1964')"
)
PERSON_HELP = f"The person: {FORMS}."

_IDNR = re.compile(r"\d{11}")


@dataclass(frozen=True)
class PersonArgument:
    """What ``--person`` named: an IDNr, basic data, or both (a test identity)."""

    idnr: str | None
    basic: PersonQuery | None
    #: The test identity's name when one was named (for messages), else None.
    identity: str | None = None


def parse_person_option(text: str, *, option: str = "--person") -> PersonArgument:
    """``--person``'s value; a usage error naming ``option`` and the accepted forms."""
    from noots.consumers import PersonQuery, parse_person
    from noots.errors import InvalidInput
    from noots.synthetic.identities import BEHAVIOUR_IDENTITIES, BehaviourIdentity

    value = " ".join(text.split())

    def found(identity: BehaviourIdentity) -> PersonArgument:
        name = f"{identity.given_names} {identity.family_name}"
        basic = PersonQuery(identity.given_names, identity.family_name, identity.date_of_birth)
        return PersonArgument(identity.idnr, basic, name)

    if _IDNR.fullmatch(value):
        known = [i for i in BEHAVIOUR_IDENTITIES if i.idnr == value]
        return found(known[0]) if known else PersonArgument(value, None)
    if not value:
        raise usage_error(f"empty; give {FORMS}", option=option)
    folded = value.casefold()
    by_name = [
        i
        for i in BEHAVIOUR_IDENTITIES
        if folded
        in (
            f"{i.given_names} {i.family_name}".casefold(),
            f"{i.family_name}, {i.given_names}".casefold(),
        )
    ]
    by_behaviour = [i for i in BEHAVIOUR_IDENTITIES if i.behaviour.value == folded]
    matches = by_name or by_behaviour
    if len(matches) == 1:
        return found(matches[0])
    if len(matches) > 1:
        numbers = ", ".join(i.idnr for i in matches)
        raise usage_error(
            f"{value!r} names {len(matches)} test persons; give the IDNr: {numbers}",
            option=option,
        )
    try:
        return PersonArgument(None, parse_person(value))
    except InvalidInput as exc:
        raise usage_error(f"{exc.message}; give {FORMS}", option=option) from None
