"""What both external participants share: an IAM access token and a safe XML parser.

Written from docs/SAK.md and docs/PROTOCOL.md alone, with public libraries (httpx, PyJWT,
cryptography, lxml): nothing of noots is imported here or by the scripts that use it.
"""

from __future__ import annotations

import base64
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

IAM_ID = "noots-iam"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def credential(pki_dir: Path, participant: str) -> tuple[x509.Certificate, Any]:
    folder = pki_dir / "participants" / participant
    certificate = x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())
    key = serialization.load_pem_private_key((folder / "key.pem").read_bytes(), password=None)
    return certificate, key


def _algorithm(key: Any) -> str:
    return "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS256"


def access_token(platform_url: str, pki_dir: Path, participant: str, audience: str) -> str:
    """Client credentials with a signed client assertion (RFC 7523), as PROTOCOL.md says."""
    certificate, key = credential(pki_dir, participant)
    der = certificate.public_bytes(serialization.Encoding.DER)
    now = int(time.time())
    assertion = jwt.encode(
        {
            "iss": participant,
            "sub": participant,
            "aud": IAM_ID,
            "iat": now,
            "exp": now + 60,
            "jti": str(uuid.uuid4()),
        },
        key,
        algorithm=_algorithm(key),
        headers={"x5c": [base64.b64encode(der).decode()]},
    )
    answer = httpx.post(
        platform_url + "/iam/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            "audience": audience,
        },
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def check_access_token(token: str, pki_dir: Path, *, audience: str, subject: str) -> None:
    """The IAM's token for ``audience``, issued to ``subject`` (RFC 9068; x5c = the IAM's
    certificate, issued by the landscape's root). Raises ValueError otherwise."""
    header = jwt.get_unverified_header(token)
    iam = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    root = x509.load_pem_x509_certificate((pki_dir / "ca" / "root-cert.pem").read_bytes())
    iam.verify_directly_issued_by(root)
    names = iam.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if not names or names[0].value != IAM_ID:
        raise ValueError("the token is not signed by the IAM")
    claims = jwt.decode(
        token,
        iam.public_key(),  # type: ignore[arg-type]
        algorithms=["RS256", "ES256"],
        audience=audience,
        issuer=IAM_ID,
    )
    if claims.get("sub") != subject or "sak" not in claims.get("roles", []):
        raise ValueError(f"the token is not {subject}'s")
