"""``python -m noots.healthcheck [--ca F --cert F --key F] [URL]``: exit 0 when ``URL`` (a
``/health``) answers 200.

The container health check: standard library only, so it starts in milliseconds. The URL
defaults to ``NOOTS_HEALTH_URL``, else the platform's default address. With TLS the probe trusts
only ``--ca`` (the landscape's root certificate) and presents ``--cert``/``--key``, the
container's own credential: registers and the IDA accept no client without one.
"""

from __future__ import annotations

import argparse
import os
import ssl
import sys
import urllib.error
import urllib.request

__all__ = ["DEFAULT_URL", "check", "main", "tls_context"]

DEFAULT_URL = "http://127.0.0.1:8400/health"


def tls_context(ca: str | None, cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """The probe's TLS settings: None (the system's trust store) when no file is named."""
    if ca is None and cert is None:
        return None
    context = ssl.create_default_context(cafile=ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


def check(url: str, *, timeout: float = 4.0, context: ssl.SSLContext | None = None) -> bool:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:  # noqa: S310 - checked
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m noots.healthcheck")
    parser.add_argument("url", nargs="?", default=os.environ.get("NOOTS_HEALTH_URL", DEFAULT_URL))
    parser.add_argument("--ca", help="Trust only this CA certificate (PEM).")
    parser.add_argument("--cert", help="Present this client certificate (PEM).")
    parser.add_argument("--key", help="The client certificate's private key (PEM).")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if (args.cert is None) != (args.key is None):
        parser.error("--cert and --key go together")
    try:
        context = tls_context(args.ca, args.cert, args.key)
    except (OSError, ssl.SSLError) as exc:
        print(f"unhealthy: cannot load the TLS files ({exc})", file=sys.stderr)
        return 1
    healthy = check(args.url, context=context)
    if not healthy:
        print(f"unhealthy: {args.url}", file=sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
