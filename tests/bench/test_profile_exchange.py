"""bench/profile_exchange.py: py-spy's collapsed stacks read, grouped, ranked; a smoke run."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import profile_exchange as bench_profile  # noqa: E402 - bench/ is not a package

from tests.bench.test_scripts import run  # noqa: E402

# Three samples' worth of stacks as py-spy --format raw writes them.
COLLAPSED = [
    "run (uvicorn/server.py:68);handle (noots/intermediary/sak/_provider.py:120);"
    "XmlVerifier.verify (noots/signing.py:301);"
    "XMLVerifier.verify (signxml/verifier.py:353) 7",
    "run (uvicorn/server.py:68);handle (noots/intermediary/sak/_provider.py:120);"
    "parse (noots/xml.py:80) 2",
    "run (uvicorn/server.py:68);_worker (threading.py:975) 1",
]


def test_collapsed_stacks_are_read_with_their_counts() -> None:
    """Each line becomes its frames (innermost last) and its sample count."""
    profile = bench_profile.parse_collapsed("provider-sak", COLLAPSED)
    assert profile.samples == 10
    assert profile.stacks[1] == (
        (
            "run (uvicorn/server.py:68)",
            "handle (noots/intermediary/sak/_provider.py:120)",
            "parse (noots/xml.py:80)",
        ),
        2,
    )


def test_a_line_without_a_count_is_refused() -> None:
    """A truncated file is an error, not a silently smaller profile."""
    with pytest.raises(ValueError, match="not a collapsed stack line"):
        bench_profile.parse_collapsed(
            "provider-sak", ["run (uvicorn/server.py:68);handle (x.py:1)"]
        )


def test_samples_go_to_the_package_of_the_innermost_frame() -> None:
    """Self time by package group: signxml, the hardened parse, threads."""
    groups = bench_profile.by_group(bench_profile.parse_collapsed("provider-sak", COLLAPSED))
    assert groups == {"signxml": 7, "noots: hardened XML parse": 2, "threads and queues": 1}
    assert bench_profile.group_of("somewhere/else.py") == bench_profile.OTHER


def test_project_functions_count_every_sample_below_them_once() -> None:
    """Inclusive counts: the SAK's handler holds 9 of the samples, the verifier 7."""
    functions = bench_profile.inclusive_project_functions(
        bench_profile.parse_collapsed(
            "provider-sak", [*COLLAPSED, "a (noots/x.py:1);a (noots/x.py:2) 5"]
        )
    )
    assert functions["noots/intermediary/sak/_provider.py handle"] == 9
    assert functions["noots/signing.py XmlVerifier.verify"] == 7
    assert functions["noots/x.py a"] == 5  # recursion counts once
    assert not any(name.startswith("uvicorn/") for name in functions)


def test_entry_point_frames_are_not_listed() -> None:
    """`noots serve`'s own frames sit under every sample and are left out of the ranking."""
    functions = bench_profile.inclusive_project_functions(
        bench_profile.parse_collapsed(
            "register",
            [
                "<module> (noots/__main__.py:3);serve (noots/cli/_up.py:90);"
                "run_server (noots/landscape/server.py:200);"
                "handle (noots/registers/_service.py:10) 3"
            ],
        )
    )
    assert functions == {"noots/registers/_service.py handle": 3}


def py_spy_can_attach() -> bool:
    if shutil.which("py-spy") is None:
        return False
    target = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.5)
        done = subprocess.run(
            ["py-spy", "dump", "--pid", str(target.pid)],
            capture_output=True,
            timeout=30,
            check=False,
        )
        return done.returncode == 0
    finally:
        target.kill()
        target.wait()


@pytest.mark.slow
@pytest.mark.e2e
def test_profile_prints_where_each_process_spends_its_samples(tmp_path: Path) -> None:
    """The script samples both SAKs, the register and the consumer under real exchanges."""
    if not py_spy_can_attach():
        pytest.skip("py-spy is missing or may not ptrace here (needs CAP_SYS_PTRACE)")
    output = run(
        "profile_exchange.py",
        "--key-type",
        "ecdsa-p256",
        "--concurrency",
        "2",
        "--exchanges",
        "40",
        "--people",
        "200",
        "--out",
        str(tmp_path),
    )
    assert "40 exchanges (0 failed)" in output
    for process in ("consumer-sak", "provider-sak", "register", "consumer"):
        assert f"## {process}: " in output
        assert (tmp_path / f"{process}.txt").stat().st_size > 0
    # Which functions make the top of the list depends on the sampling (and the machine's
    # load); that the project's own functions are listed by file and name does not.
    assert re.search(r"(noots|intermediary|registers|consumers)/\S+\.py \S+", output), output
    assert "signxml" in output
