"""``python -m noots.healthcheck [URL]``: exit 0 when ``URL`` (a ``/health``) answers 200.

The container health check: standard library only, so it starts in milliseconds. The URL
defaults to ``NOOTS_HEALTH_URL``, else the platform's default address.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

__all__ = ["DEFAULT_URL", "check", "main"]

DEFAULT_URL = "http://127.0.0.1:8400/health"


def check(url: str, *, timeout: float = 4.0) -> bool:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - checked
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    url = args[0] if args else os.environ.get("NOOTS_HEALTH_URL", DEFAULT_URL)
    healthy = check(url)
    if not healthy:
        print(f"unhealthy: {url}", file=sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
