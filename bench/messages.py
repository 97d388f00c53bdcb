"""What building and parsing the XNachweis messages cost (noots.messages).

Run: ``python3 bench/messages.py [--rounds N]``. Prints medians per message kind; never
asserts. Measured: ``build`` (model → element), ``to_bytes`` (model → bytes), ``noots.xml.parse``
of those bytes (the hardened parser, for comparison), and ``messages.parse`` (element → model).
The response carries a 10 KiB evidence document.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from noots import messages, xml
from noots.clock import ManualClock
from noots.errors import EdmCode
from noots.messages import Agent, Evidence
from noots.testing.messages import sample_request


def median_seconds(action: Callable[[], object], rounds: int) -> float:
    for _ in range(max(3, rounds // 10)):
        action()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2000)
    rounds = parser.parse_args().rounds

    clock = ManualClock()
    request = sample_request(clock, issued_token="A" * 1200)
    evidence = Evidence.new(
        b"<doc>" + b"x" * 10_240 + b"</doc>",
        issuing_authority=Agent(request.provider.identifier, "Kraftfahrt-Bundesamt"),
        evidence_type=request.evidence_type,
        subject=request.subject,
        clock=clock,
    )
    samples: dict[str, messages.Message] = {
        "0101 request": request,
        "0102 evidence": messages.answer_with_evidence(request, evidence, clock=clock),
        "0102 pending": messages.answer_pending(
            request, clock.now() + timedelta(hours=1), clock=clock
        ),
        "0103 error": messages.answer_with_error(
            request, EdmCode.NOT_FOUND, "kein Nachweis", clock=clock
        ),
    }
    print(
        f"{'message':<16}{'bytes':>8}{'build':>10}{'to_bytes':>10}{'xml.parse':>11}"
        f"{'parse':>10}{'per s':>9}"
    )
    for name, message in samples.items():
        data = messages.to_bytes(message)
        element = xml.parse(data)
        assert messages.parse(element) == message
        build = median_seconds(lambda m=message: messages.build(m), rounds)
        to_bytes = median_seconds(lambda m=message: messages.to_bytes(m), rounds)
        safe_parse = median_seconds(lambda d=data: xml.parse(d), rounds)
        parse = median_seconds(lambda e=element: messages.parse(e), rounds)
        per_second = 1 / (to_bytes + safe_parse + parse)
        print(
            f"{name:<16}{len(data):>8}{build * 1e6:>8.0f}µs{to_bytes * 1e6:>8.0f}µs"
            f"{safe_parse * 1e6:>9.0f}µs{parse * 1e6:>8.0f}µs{per_second:>9.0f}"
        )


if __name__ == "__main__":
    main()
