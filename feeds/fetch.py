"""HTTP fetching, the only I/O in feeds/: conditional GET, size and time limits, the outbound
policy on every hop and connection. Bodies are decompressed by feeds.decompress and decoded
to text by feeds.charset; the errors (FetchError and its subclasses) live in feeds.errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from feeds.decompress import ACCEPT_ENCODING, read_body
from feeds.errors import (
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    NetworkError,
    Refused,
    TooLarge,
)
from feeds.netpolicy import (
    OutboundPolicy,
    address_refusal,
    host_address,
    metadata_address,
    metadata_refusal,
)

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "bantin/0.1 (+https://github.com/bantin; news notification bot)"
#: overall deadline of one fetch (all hops, headers and body) when the caller gives none
DEFAULT_DEADLINE = 60.0
MAX_REDIRECTS = 5

_ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5"
)
_REDIRECTS = frozenset((301, 302, 303, 307, 308))
_EXT_ALLOW_PRIVATE = "bantin_allow_private"


@dataclass(frozen=True)
class FetchResult:
    """One successful fetch. ``url`` is the final URL after redirects; 304 has empty content."""

    url: str
    status: int
    content: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        """True when the server said the cached copy (etag / last_modified) is still current."""
        return self.status == 304


# --- refusals ----------------------------------------------------------------------------------

_refusals: Counter[str] = Counter()


def refusal_counts() -> dict[str, int]:
    """Refused requests since start, by policy label (the source id; "" without one)."""
    return dict(_refusals)


def _refuse(url: str, reason: str, policy: OutboundPolicy) -> Refused:
    _refusals[policy.label] += 1
    log.warning("refused GET %s (source %s): %s", url, policy.label or "-", reason)
    return Refused(f"GET {url}: refused: {reason}", url=url)


class _AddressRefused(Exception):
    """Raised inside the transport; :func:`fetch` turns it into :class:`Refused`."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host} resolves to a {reason}")
        self.reason = reason


# --- transport: resolve once, check, connect to the checked address --------------------------


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, refuses non-public addresses, then connects to the very
    address it checked (no second lookup to rebind). TLS still uses the host name for SNI and
    certificate checks: httpcore passes the origin's host to ``start_tls``."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port, timeout)
        for addr in addresses:
            # A metadata service is refused even where private addresses are allowed.
            why = f"cloud metadata address {addr}" if metadata_address(addr) else None
            why = why or (None if self.allow_private else address_refusal(addr))
            if why:
                raise _AddressRefused(host, why)
        error: Exception | None = None
        for addr in addresses[:4]:
            try:
                return await self._inner.connect_tcp(
                    str(addr), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"{host}: no address")

    async def _resolve(self, host: str, port: int, timeout: float | None) -> list[Any]:
        literal = host_address(host)
        if literal is False:
            raise _AddressRefused(host, f"malformed numeric host {host!r}")
        if literal is not None:
            return [literal]
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"{host}: DNS lookup timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"{host}: {exc}") from exc
        out: list[Any] = []
        for info in infos:
            addr = host_address(str(info[4][0]))
            if addr is None or addr is False:
                raise _AddressRefused(host, f"unparsable resolved address {info[4][0]!r}")
            if addr not in out:
                out.append(addr)
        return out

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncBaseTransport):
    """Two connection pools: strict (public addresses only) and, for sources that say
    ``allow_private``, permissive; a pooled connection is never shared between them."""

    def __init__(self, limits: httpx.Limits) -> None:
        # One TLS context for both pools: loading the CA bundle is the slow part.
        ssl_context = httpx.create_ssl_context()
        self._pools = {
            flag: self._transport(limits, ssl_context, allow_private=flag) for flag in (False, True)
        }

    @staticmethod
    def _transport(
        limits: httpx.Limits, ssl_context: Any, *, allow_private: bool
    ) -> httpx.AsyncHTTPTransport:
        # httpx's transport does the request/response mapping; only its pool is swapped for
        # one whose network backend checks addresses.
        transport = httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits)
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(allow_private=allow_private),
        )
        return transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        allow = bool(request.extensions.get(_EXT_ALLOW_PRIVATE, False))
        return await self._pools[allow].handle_async_request(request)

    async def aclose(self) -> None:
        for transport in self._pools.values():
            await transport.aclose()


# --- fetch -------------------------------------------------------------------------------------


def make_client(
    *,
    user_agent: str = DEFAULT_USER_AGENT,
    timeout: float = 15.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An ``AsyncClient`` set up for polling: honest User-Agent, bounded pool, and (unless a
    test passes its own ``transport``) the guarded transport that checks every address.

    ``timeout`` bounds each phase (connect, each read); :func:`fetch` adds an overall deadline.
    """
    # One portal, a handful of sections: a small pool is polite and enough.
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=4, keepalive_expiry=30.0)
    return httpx.AsyncClient(
        headers={
            "User-Agent": user_agent,
            "Accept": _ACCEPT,
            "Accept-Language": "vi,en;q=0.5",
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        # A dead host should fail fast; a slow portal gets the full read budget.
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0), pool=timeout),
        limits=limits,
        # fetch() follows redirects itself, checking every hop against the policy.
        follow_redirects=False,
        transport=transport or GuardedTransport(limits),
        # No proxies from the environment: a proxy would resolve and connect for us,
        # around the address checks.
        trust_env=False,
    )


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = 5_000_000,
    timeout: float | None = DEFAULT_DEADLINE,
    policy: OutboundPolicy | None = None,
) -> FetchResult:
    """GET ``url`` conditionally and return the body, or raise a :class:`FetchError`.

    ``etag``/``last_modified`` are the validators of the previous fetch; a 304 keeps them when
    the server does not repeat them. ``timeout`` is one deadline for every hop, header and
    body byte together (a slow drip cannot stretch it); ``None`` leaves only the client's
    per-phase timeouts. ``policy`` (default: any public host) is checked on the URL and on
    every redirect; with :func:`make_client`'s transport every resolved address is too.
    """
    policy = policy or OutboundPolicy()
    headers: dict[str, str] = {"Accept-Encoding": ACCEPT_ENCODING}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline: contextlib.AbstractAsyncContextManager[object] = (
        asyncio.timeout(timeout) if timeout is not None else contextlib.nullcontext()
    )
    try:
        with _translate_errors(url, policy):
            async with deadline:
                return await _get(client, url, headers, max_bytes, policy, etag, last_modified)
    except TimeoutError as exc:
        # asyncio.timeout's overall deadline; httpx's own timeouts are translated below.
        within = f" within {timeout:g} s" if timeout is not None else ""
        raise FetchTimeout(f"GET {url}: no complete answer{within}", url=url) from exc


async def _get(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    max_bytes: int,
    policy: OutboundPolicy,
    etag: str | None,
    last_modified: str | None,
) -> FetchResult:
    current = url
    extensions = {_EXT_ALLOW_PRIVATE: policy.allow_private}
    for _hop in range(MAX_REDIRECTS + 1):
        why = metadata_refusal(current) or policy.url_refusal(current)
        if why:
            raise _refuse(current, why, policy)
        request = client.build_request("GET", current, headers=headers, extensions=extensions)
        resp = await client.send(request, stream=True, follow_redirects=False)
        try:
            location = resp.headers.get("Location")
            if resp.status_code in _REDIRECTS and location:
                current = str(resp.url.join(location).copy_with(fragment=None))
                continue
            return await _answer(resp, url, max_bytes, etag, last_modified)
        finally:
            await resp.aclose()
    raise FetchError(f"GET {url}: too many redirects (more than {MAX_REDIRECTS})", url=url)


async def _answer(
    resp: httpx.Response, url: str, max_bytes: int, etag: str | None, last_modified: str | None
) -> FetchResult:
    final = str(resp.url)
    new_etag = resp.headers.get("ETag")
    new_modified = resp.headers.get("Last-Modified")
    if resp.status_code == 304:
        return FetchResult(
            url=final,
            status=304,
            content=b"",
            content_type=resp.headers.get("Content-Type"),
            etag=new_etag or etag,
            last_modified=new_modified or last_modified,
        )
    if not 200 <= resp.status_code < 300:
        raise HTTPStatusError(
            f"GET {url}: HTTP {resp.status_code} {resp.reason_phrase}".rstrip()
            + (f" (at {final})" if final != url else ""),
            url=url,
            status=resp.status_code,
            retry_after=_retry_after(resp.headers.get("Retry-After")),
        )
    announced = resp.headers.get("Content-Length")
    # Content-Length counts encoded bytes; decoded ones are at least as many, so an
    # announced size over the cap can be refused before reading anything.
    if announced and announced.isdigit() and int(announced) > max_bytes:
        raise TooLarge(
            f"GET {url}: body of {announced} bytes exceeds the limit of {max_bytes}", url=url
        )
    return FetchResult(
        url=final,
        status=resp.status_code,
        content=await read_body(resp, url, max_bytes),
        content_type=resp.headers.get("Content-Type"),
        etag=new_etag,
        last_modified=new_modified,
    )


@contextlib.contextmanager
def _translate_errors(url: str, policy: OutboundPolicy) -> Iterator[None]:
    """Turn httpx's exceptions into this module's tree; callers never see httpx types."""
    try:
        yield
    except _AddressRefused as exc:
        raise _refuse(url, str(exc), policy) from exc
    except httpx.TimeoutException as exc:
        raise FetchTimeout(f"GET {url}: timed out ({type(exc).__name__})", url=url) from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise FetchError(f"GET {url}: not a fetchable URL ({exc})", url=url) from exc
    except httpx.HTTPError as exc:
        # TransportError, DecodingError and the rest: the network or the server's bytes failed.
        raise NetworkError(f"GET {url}: {type(exc).__name__}: {exc}", url=url) from exc


def _retry_after(value: str | None) -> float | None:
    # Only the delta-seconds form; an HTTP-date here is rare and the caller has its own backoff.
    if value and value.strip().isdigit():
        return float(value.strip())
    return None
