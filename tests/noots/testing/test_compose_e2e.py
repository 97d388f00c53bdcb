"""The helpers of `make compose-e2e` that need no container engine: the private-key scan of
the key-isolation check and the choice of a free published address."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from noots.errors import ConfigurationError
from noots.pki import generate_private_key
from noots.testing.compose_e2e import _free_loopback, _private_keys, main


def _pem() -> bytes:
    return generate_private_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_the_scan_finds_a_private_key_by_its_content(tmp_path: Path) -> None:
    """A PEM private key is found whatever the file is called, below nested directories."""
    hidden = tmp_path / "a" / "b" / "notes.txt"
    hidden.parent.mkdir(parents=True)
    hidden.write_bytes(b"junk\n" + _pem())
    assert _private_keys([tmp_path]) == [str(hidden)]


def test_text_that_only_names_a_key_is_no_key(tmp_path: Path) -> None:
    """Source code or docs mentioning "-----BEGIN PRIVATE KEY-----" are not keys."""
    (tmp_path / "doc.py").write_text('MARKER = b"-----BEGIN PRIVATE KEY-----"\n')
    (tmp_path / "cert.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    )
    assert _private_keys([tmp_path]) == []


def test_symlinked_directories_are_not_followed(tmp_path: Path) -> None:
    """A symlink to a directory elsewhere is not walked (keys are reported where they live)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "key.pem").write_bytes(_pem())
    scanned = tmp_path / "scanned"
    scanned.mkdir()
    (scanned / "link").symlink_to(elsewhere)
    assert _private_keys([scanned]) == []


def test_a_free_loopback_address_skips_a_taken_port() -> None:
    """An address where one of the ports is taken is passed over for the next one."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert _free_loopback([port], ["127.0.0.1", "127.0.0.3"]) == "127.0.0.3"


def test_no_free_address_is_an_error() -> None:
    """When every candidate has a port taken, the run stops with a clear error."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ConfigurationError, match="loopback"):
            _free_loopback([taken.getsockname()[1]], ["127.0.0.1"])


def test_inside_steps_are_checked() -> None:
    """`inside` accepts only the steps the test container runs."""
    with pytest.raises(SystemExit):
        main(["inside", "format-disk"])
