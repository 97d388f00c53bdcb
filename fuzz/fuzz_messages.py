"""atheris harness: ``noots.messages.parse`` on XNachweis messages.

The first byte picks the mode: raw bytes through ``noots.xml.parse`` then the message parser,
or a structure-aware mutation (remove, duplicate, move, rename elements; odd texts and
attributes) of a valid seed message steered by the remaining bytes.
Contract: a message that builds again, or :class:`noots.errors.MalformedMessage` (or an
:class:`~noots.errors.XmlError` from the XML parser); anything else is a finding.
Run: ``python fuzz/fuzz_messages.py fuzz/corpus/messages`` (see fuzz/README.md).
"""

from __future__ import annotations

from _harness import bytes_chooser, instrumented, run

with instrumented(__name__):
    from noots import messages
    from noots.clock import ManualClock
    from noots.errors import MalformedMessage, XmlError
    from noots.testing.corpus import message_seeds
    from noots.testing.mutations import mutate_tree
    from noots.xml import parse

SEEDS = [messages.build(m) for m in message_seeds(ManualClock())]


def TestOneInput(data: bytes) -> None:
    if data[:1] == b"<" or not data:
        try:
            element = parse(data)
        except XmlError:
            return
    else:
        choose = bytes_chooser(data[1:])
        seed = SEEDS[choose(len(SEEDS))]
        element = mutate_tree(seed, choose, rounds=1 + data[0] % 4)
    try:
        message = messages.parse(element)
    except MalformedMessage:
        return
    messages.build(message)


if __name__ == "__main__":
    run(TestOneInput)
