"""``noots conformance provider`` over real sockets: what to install comes first, the run never
changes the PKI (``--prepare`` does, and says so), the summary lists every failing check and
what could not be tested, and the signed reports verify."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from noots.cli import app
from noots.clock import SystemClock
from noots.conformance import Status, report_json_schema, verify_report_file
from noots.conformance.credentials import REVOKED_PARTICIPANT
from noots.participant import load_validator
from noots.signing import XmlVerifier
from noots.testing.landscape import Landscape, bootstrap

KBA = "991-01234ZFZR-41"
runner = CliRunner()


#: The provider suite for a register outside the topology.
EXTERNAL = (
    "conformance",
    "provider",
    "--participant",
    "999-EXTERN-01",
    "--evidence",
    "Geburtsurkunde",
)


def _options(data_dir: Path, topology: Path) -> list[str]:
    return ["--data-dir", str(data_dir), "--topology", str(topology)]


def _pki_state(pki: Path) -> dict[str, str]:
    return {
        str(path.relative_to(pki)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(pki.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def cli_report(landscape: Landscape, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``noots conformance provider`` against the served KBA register (push), reports written."""
    report_dir = tmp_path_factory.mktemp("provider-report")
    before = _pki_state(landscape.data_dir / "pki")
    result = runner.invoke(
        app,
        [
            "conformance",
            "provider",
            "--target",
            landscape.url(KBA),
            "--participant",
            KBA,
            "--max-wait",
            "5",
            "--report",
            str(report_dir),
            *_options(landscape.data_dir, landscape.topology_path),
        ],
    )
    return {
        "result": result,
        "dir": report_dir,
        "changed": before != _pki_state(landscape.data_dir / "pki"),
    }


def test_the_install_list_comes_before_the_run(cli_report: dict[str, Any]) -> None:
    """Trust anchor, CRL (with the address serving it) and the accepted caller are printed
    before the first probe."""
    output = cli_report["result"].output
    assert cli_report["result"].exit_code == 0, output
    needs = output.index("Was Ihr Register installiert haben muss")
    assert needs < output.index("… DP-15 Health-Endpunkt")
    assert "root-cert.pem" in output[: needs + 2000]
    assert "/pki/v1/crl" in output[: needs + 2000]
    assert f"{KBA}.sak (Rolle sak)" in output


def test_a_run_does_not_change_the_pki(cli_report: dict[str, Any]) -> None:
    """No certificate is issued and no CRL republished by a run."""
    assert cli_report["changed"] is False


def test_what_could_not_be_tested_is_named_with_its_option(cli_report: dict[str, Any]) -> None:
    """The announced answer is beyond --max-wait: DP-13 is skipped (never passed) and the
    summary names the option that would test it."""
    output = cli_report["result"].output
    assert "DP-13 nicht geprüft" in output
    assert "prüfbar mit: --max-wait" in output
    data = json.loads((cli_report["dir"] / "report.json").read_text("utf-8"))
    statuses = {s["id"]: s["status"] for s in data["sections"]}
    assert statuses["DP-13"] == Status.SKIPPED.value
    assert {s for s, v in statuses.items() if v == Status.FAILED.value} == set()


def test_cli_writes_signed_reports(cli_report: dict[str, Any], landscape: Landscape) -> None:
    """The CLI writes HTML, JUnit and JSON; each verifies against the simulator PKI."""
    import jsonschema

    verifier = XmlVerifier(load_validator(landscape.data_dir / "pki", clock=SystemClock()))
    for name in ("report.html", "report.xml", "report.json"):
        info = verify_report_file(cli_report["dir"] / name, verifier)
        assert info.signer == "noots-simulator"
        assert info.passed
    data = json.loads((cli_report["dir"] / "report.json").read_text("utf-8"))
    jsonschema.validate(data, report_json_schema())
    assert data["participant"] == KBA
    assert any("root-cert.pem" in note for note in data["notes"])


def test_the_cli_report_is_german_by_default(cli_report: dict[str, Any]) -> None:
    """Without --lang the summary, the HTML report and the JSON texts are German; the JSON's
    machine values (ids, statuses) stay as they are."""
    from noots.conformance import CONDITIONS

    output = cli_report["result"].output
    assert "BESTANDEN" in output
    assert "Erfüllungsgrad" in output
    html = (cli_report["dir"] / "report.html").read_text("utf-8")
    assert '<html lang="de">' in html
    assert CONDITIONS["DP-07"].de.title in html
    data = json.loads((cli_report["dir"] / "report.json").read_text("utf-8"))
    assert data["language"] == "de"
    dp04 = next(s for s in data["sections"] if s["id"] == "DP-04")
    assert dp04["title"] == CONDITIONS["DP-04"].de.title
    assert dp04["status"] == "pass"


def test_cli_report_verify_detects_an_edit(
    cli_report: dict[str, Any], landscape: Landscape
) -> None:
    """`noots report verify` as the summary prints it (with the PKI of this data dir) accepts
    the CLI's report and exits 2 once it is edited."""
    path = cli_report["dir"] / "report.xml"
    pki = ["--pki-dir", str(landscape.data_dir / "pki")]
    assert f"noots report verify FILE --pki-dir {landscape.data_dir / 'pki'}" in " ".join(
        cli_report["result"].output.split()
    )
    ok = runner.invoke(app, ["report", "verify", str(path), *pki])
    assert ok.exit_code == 0, ok.output
    path.write_text(path.read_text("utf-8").replace('failures="0"', 'failures="1"', 1), "utf-8")
    edited = runner.invoke(app, ["report", "verify", str(path), *pki])
    assert edited.exit_code == 2
    assert "changed after it was signed" in edited.output


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("fresh-pki")
    bootstrap(data_dir, people=60)
    return data_dir


def test_an_unreachable_register_is_exit_1_and_leaves_the_pki_alone(
    fresh: Path, tmp_path: Path
) -> None:
    """A first run against a register that is not there: exit 1, the install list was shown,
    and the PKI is byte for byte as before (nothing issued, no CRL republished)."""
    data_dir = tmp_path / "data"
    shutil.copytree(fresh, data_dir)
    before = _pki_state(data_dir / "pki")
    result = runner.invoke(
        app,
        [
            *EXTERNAL,
            "--target",
            "http://127.0.0.1:9",
            "--listen",
            "127.0.0.1:0",
            *_options(data_dir, data_dir / "landscape.yaml"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "Was Ihr Register installiert haben muss" in result.output
    assert "does not answer" in result.output
    assert _pki_state(data_dir / "pki") == before


def test_prepare_says_what_it_changed_and_stops(fresh: Path, tmp_path: Path) -> None:
    """--prepare for a passive register outside the topology issues its credential and the
    revoked identity, says so, and stops; a second --prepare changes nothing and still names
    what to install."""
    data_dir = tmp_path / "data"
    shutil.copytree(fresh, data_dir)
    options = [
        *EXTERNAL,
        "--mode",
        "passive",
        "--prepare",
        *_options(data_dir, data_dir / "landscape.yaml"),
    ]
    first = runner.invoke(app, options)
    assert first.exit_code == 0, first.output
    assert "changed the PKI" in first.output
    assert "issued 999-EXTERN-01 (role provider)" in first.output
    assert REVOKED_PARTICIPANT in first.output
    assert (data_dir / "pki" / "participants" / "999-EXTERN-01" / "cert.pem").is_file()
    second = runner.invoke(app, options)
    assert second.exit_code == 0, second.output
    assert "nothing was changed" in second.output
    # Also when nothing changed, it names what to install, the credential included.
    participant = data_dir / "pki" / "participants" / "999-EXTERN-01"
    assert "trust anchor:" in second.output
    assert f"{participant / 'cert.pem'}" in second.output.replace("\n", "")


def test_passive_without_a_credential_names_prepare(fresh: Path, tmp_path: Path) -> None:
    """A passive register needs its own credential (IAM client assertions): without one in the
    PKI the run stops before sending anything and names --prepare."""
    data_dir = tmp_path / "data"
    shutil.copytree(fresh, data_dir)
    result = runner.invoke(
        app,
        [
            *EXTERNAL,
            "--target",
            "http://127.0.0.1:9",
            "--mode",
            "passive",
            *_options(data_dir, data_dir / "landscape.yaml"),
        ],
    )
    assert result.exit_code == 1
    assert "--prepare" in result.output


def test_sak_suite_against_a_served_register_sak(landscape: Landscape, tmp_path: Path) -> None:
    """`noots conformance sak` against the served KBA SAK (after --prepare, which says what it
    changed): exit 0, TLS named as not tested, signed reports; English with --lang en."""
    sak = f"{KBA}.sak"
    options = ["conformance", "sak", "--target", landscape.url(sak), "--participant", sak]
    common = _options(landscape.data_dir, landscape.topology_path)
    prepared = runner.invoke(app, [*options, "--prepare", *common])
    assert prepared.exit_code == 0, prepared.output
    result = runner.invoke(app, [*options, "--report", str(tmp_path), "--lang", "en", *common])
    assert result.exit_code == 0, result.output
    assert "SAK-08 not tested" in result.output
    data = json.loads((tmp_path / "report.json").read_text("utf-8"))
    assert data["kind"] == "sak"
    assert data["language"] == "en"
    assert '<html lang="en">' in (tmp_path / "report.html").read_text("utf-8")
    statuses = {s["id"]: s["status"] for s in data["sections"]}
    assert statuses["SAK-02"] == Status.PASSED.value
    assert Status.FAILED.value not in statuses.values()


# Last in the module: the browser runs an event loop in this thread until the module ends.
@pytest.mark.browser
def test_html_report_in_chromium(cli_report: dict[str, Any], browser: Any) -> None:
    """The HTML report renders in Debian chromium, German by default: verdict, every register
    condition, no external loads."""
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto((cli_report["dir"] / "report.html").as_uri())
    assert page.locator("#verdict .value").inner_text() == "BESTANDEN"
    assert page.locator("#overview tbody tr").count() == 12
    badge = page.locator("#overview tbody tr[data-section='DP-16'] .badge")
    assert badge.inner_text() == "BESTANDEN"
    assert [url for url in requests if not url.startswith("file://")] == []
    page.close()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--mode", "pull"], "--mode"),
        (["--ca-file", "/nonexistent/ca.pem"], "--ca-file"),
        (["--idnr", "02476291358"], "--idnr"),
        (["--person", "Niemand, Nobody"], "--person"),
    ],
)
def test_a_usage_error_exits_64_naming_the_option(
    fresh: Path, options: list[str], named: str
) -> None:
    """Called wrongly: exit 64 (not 1 or 2), the message names the option at fault."""
    result = runner.invoke(
        app,
        [
            "conformance",
            "provider",
            "--target",
            "http://127.0.0.1:9",
            "--participant",
            KBA,
            *options,
            *_options(fresh, fresh / "landscape.yaml"),
        ],
    )
    assert result.exit_code == 64, result.output
    assert named in result.output


def test_person_takes_a_test_persons_name_with_its_idnr() -> None:
    """--person 'Erika Mustermann' names the test identity: basic data and IDNr, no --idnr."""
    from noots.cli._conformance_provider import _subject

    subject = _subject(None, "Erika Mustermann", None, None)
    assert (subject.family_name, subject.given_name, subject.idnr) == (
        "Mustermann",
        "Erika",
        "02476291358",
    )


def test_a_missing_scenario_file_is_a_usage_error(tmp_path: Path) -> None:
    """noots scenario check on a path that does not exist: exit 64."""
    result = runner.invoke(app, ["scenario", "check", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 64, result.output


def _invoke_apart(args: list[str]) -> Any:
    """``runner.invoke`` on a thread of its own: the suite runs ``asyncio.run``, which refuses
    to start where a test before left an event loop running (the browser test's)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(runner.invoke, app, args).result()


def test_an_address_in_use_at_listen_is_exit_1_naming_it(fresh: Path, tmp_path: Path) -> None:
    """Passive mode with --listen on a busy address: exit 1 naming the address (uvicorn's own
    bind failure would exit the process with 3 past the CLI), the PKI left as it was."""
    import socket

    data_dir = tmp_path / "data"
    shutil.copytree(fresh, data_dir)
    base = [
        *EXTERNAL,
        "--mode",
        "passive",
        *_options(data_dir, data_dir / "landscape.yaml"),
    ]
    assert runner.invoke(app, [*base, "--prepare"]).exit_code == 0
    before = _pki_state(data_dir / "pki")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        address = f"127.0.0.1:{busy.getsockname()[1]}"
        result = _invoke_apart([*base, "--target", "http://127.0.0.1:9", "--listen", address])
    assert result.exit_code == 1, result.output
    assert f"could not listen on {address}" in result.output
    assert _pki_state(data_dir / "pki") == before


def test_a_certificate_from_a_request_is_named_with_the_operators_own_key(
    fresh: Path, tmp_path: Path
) -> None:
    """A register whose certificate was signed from its operator's request (no key in the
    PKI): the install list names the certificate and the operator's own key, not a key.pem."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from noots.pki import CertificateAuthority, Role

    data_dir = tmp_path / "data"
    shutil.copytree(fresh, data_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "999-EXTERN-01")]))
        .sign(key, hashes.SHA256())
    )
    authority = CertificateAuthority.open(data_dir / "pki", clock=SystemClock())
    authority.sign_request(
        request.public_bytes(serialization.Encoding.PEM), "999-EXTERN-01", Role.PROVIDER
    )
    participant = data_dir / "pki" / "participants" / "999-EXTERN-01"
    assert (participant / "cert.pem").is_file()
    assert not (participant / "key.pem").exists()
    result = _invoke_apart(
        [
            *EXTERNAL,
            "--mode",
            "passive",
            "--target",
            "http://127.0.0.1:9",
            "--listen",
            "127.0.0.1:0",
            "--lang",
            "en",
            *_options(data_dir, data_dir / "landscape.yaml"),
        ],
    )
    assert "with your own key" in result.output, result.output
    assert "key.pem" not in result.output


def test_prepare_needs_no_person_where_no_test_identity_lives(fresh: Path, tmp_path: Path) -> None:
    """--prepare for a Melderegister whose municipality holds no test identity issues its
    credential without --idnr/--person; a run against it still asks for a person."""
    import yaml

    data_dir = tmp_path / "data"
    shutil.copytree(fresh, data_dir)
    topology = data_dir / "landscape.yaml"
    raw = yaml.safe_load(topology.read_text(encoding="utf-8"))
    raw["registers"].append(
        {
            "participant_id": "08118048-MELD-76",
            "kind": "melderegister",
            "name": "Stadt Ludwigsburg, Melderegister",
            "area": "meldewesen",
            "region": "08118048",
            "municipality": {
                "name": "Ludwigsburg",
                "postcodes": ["71634"],
                "plate_prefix": "LB",
                "inhabitants": 93000,
            },
            "evidence_types": ["Meldebescheinigung"],
            # Only written down: --prepare and a run that fails before serving bind nothing.
            "port": 1,
            "sak": {"port": 2, "mode": "passive"},
        }
    )
    topology.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    command = ["conformance", "provider", "--participant", "08118048-MELD-76"]
    prepared = runner.invoke(app, [*command, "--prepare", *_options(data_dir, topology)])
    assert prepared.exit_code == 0, prepared.output
    assert "issued 08118048-MELD-76 (role provider)" in prepared.output
    run = runner.invoke(
        app, [*command, "--target", "http://127.0.0.1:9", *_options(data_dir, topology)]
    )
    assert run.exit_code == 1, run.output
    assert "no test identity lives in 08118048" in run.output
