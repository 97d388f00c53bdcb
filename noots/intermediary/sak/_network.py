"""How a SAK sends to another SAK and to its register: the hot path of every exchange.

On real sockets it uses aiohttp, whose C-accelerated HTTP/1.1 costs a third of httpx's pure
Python per request (docs/PERFORMANCE.md, "The SAK's own HTTP client"); when a test routes the
SAK's calls through an ``httpx`` transport (in-process apps), the same calls go through httpx.
Either way the caller sees the body (refused once it passes its limit), or
:class:`PeerUnreachable` / :class:`PeerFailed` / ``TimeoutError``, never a library's exception.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import aiohttp
import httpx

__all__ = [
    "AiohttpNetwork",
    "HttpxNetwork",
    "Network",
    "PeerFailed",
    "PeerTooLarge",
    "PeerUnreachable",
]


class PeerUnreachable(Exception):
    """No connection could be made."""


class PeerFailed(Exception):
    """The exchange broke off (connection dropped, protocol error)."""


class PeerTooLarge(Exception):
    """The answer passed the limit."""


class Network:
    """POST a body, read the answer up to ``limit`` bytes."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], *, limit: int) -> bytes:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


class HttpxNetwork(Network):
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], *, limit: int) -> bytes:
        try:
            async with self.http.stream(
                "POST", url, content=body, headers=dict(headers)
            ) as response:
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise PeerTooLarge(f"more than {limit} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.TimeoutException:
            raise TimeoutError from None
        except httpx.ConnectError as exc:
            raise PeerUnreachable(type(exc).__name__) from None
        except (PeerTooLarge, TimeoutError):
            raise
        except Exception as exc:
            raise PeerFailed(type(exc).__name__) from None


class AiohttpNetwork(Network):
    """One aiohttp session, made on first use (inside the SAK's event loop): keep-alive
    connections, no pool-wide cap (the SAK bounds its requests per provider itself)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self._session: aiohttp.ClientSession | None = None

    def _opened(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=4, ssl=self.tls or True),
                auto_decompress=False,
                trust_env=False,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], *, limit: int) -> bytes:
        try:
            async with self._opened().post(
                url, data=body, headers=dict(headers), allow_redirects=False
            ) as response:
                declared = response.content_length
                if declared is not None and declared > limit:
                    raise PeerTooLarge(f"more than {limit} bytes")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_any():
                    size += len(chunk)
                    if size > limit:
                        raise PeerTooLarge(f"more than {limit} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except aiohttp.ClientConnectorError as exc:
            raise PeerUnreachable(type(exc).__name__) from None
        except (PeerTooLarge, TimeoutError):
            raise
        except (aiohttp.ClientError, OSError) as exc:
            raise PeerFailed(type(exc).__name__) from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
