"""HTTP fetching, the only I/O in feeds/: conditional GET, size and time limits, bounded
decompression, the outbound policy on every hop and connection, charset decoding.

FetchError (FeedError)    could not get the document; the message names the URL
 ├── HTTPStatusError      the server answered 4xx/5xx (or an unfollowable 3xx): .status
 ├── TooLarge             the body passed max_bytes (announced, raw, or decompressed)
 ├── FetchTimeout         connect/read/overall deadline passed
 ├── Refused              the outbound policy forbids the URL or the address it resolves to
 └── NetworkError         DNS, refused connection, reset, broken or unknown compression, ...
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import re
import socket
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpcore
import httpx

from feeds.errors import FeedError
from feeds.netpolicy import OutboundPolicy, address_refusal, host_address

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
# Decompressed output per step: small enough that one step never holds the loop for long.
_STEP = 64 * 1024
# Raw bytes may exceed the decoded size only by framing; anything more is trailing junk.
_RAW_SLACK = 64 * 1024
_EXT_ALLOW_PRIVATE = "bantin_allow_private"


class FetchError(FeedError):
    """Root of fetch failures. ``url`` is the URL that was asked for."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class HTTPStatusError(FetchError):
    """The server answered with an error status. ``retry_after`` is in seconds when it said so."""

    def __init__(
        self, message: str, *, url: str, status: int, retry_after: float | None = None
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.retry_after = retry_after


class TooLarge(FetchError):
    """The body is bigger than the caller's ``max_bytes``."""


class FetchTimeout(FetchError):
    """A connect, read or overall deadline passed."""


class Refused(FetchError):
    """The outbound policy forbids this URL (host not allowed, private address): never sent."""


class NetworkError(FetchError):
    """The transport failed: DNS, connection refused or reset, undecodable compression."""


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
        if not self.allow_private:
            for addr in addresses:
                why = address_refusal(addr)
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


# --- decompression -----------------------------------------------------------------------------


class _Decompressor(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def complete(self) -> bool: ...


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        for i in range(0, len(data), _STEP):
            yield data[i : i + _STEP]

    def complete(self) -> bool:
        return True


class _Zlib:
    """gzip or deflate (zlib-wrapped or raw, told apart by the first two bytes)."""

    def __init__(self, wbits: int | None) -> None:
        self._wbits = wbits
        self._d: Any = None if wbits is None else zlib.decompressobj(wbits)
        self._head = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._d is None:
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            cmf, flg = data[0], data[1]
            zlib_header = cmf & 0x0F == 8 and (cmf << 8 | flg) % 31 == 0
            self._d = zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)
        d = self._d
        while data and not d.eof:
            # max_length bounds each step's output; the rest waits in unconsumed_tail.
            out = d.decompress(data, _STEP)
            data = d.unconsumed_tail
            if out:
                yield out

    def complete(self) -> bool:
        return self._d is not None and bool(self._d.eof)


class _Brotli:
    def __init__(self, module: Any) -> None:
        self._d = module.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        out = self._d.process(data, output_buffer_limit=_STEP)
        if out:
            yield out
        while not self._d.is_finished() and not self._d.can_accept_more_data():
            out = self._d.process(b"", output_buffer_limit=_STEP)
            if not out:
                break
            yield out

    def complete(self) -> bool:
        return bool(self._d.is_finished())


def _bounded_brotli() -> Any:
    """The brotli module if it can cap its output per call (brotli >= 1.2), else None."""
    try:
        import brotli  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    return brotli if hasattr(brotli.Decompressor, "can_accept_more_data") else None


_BROTLI = _bounded_brotli()
ACCEPT_ENCODING = "gzip, deflate" + (", br" if _BROTLI is not None else "")


def _decompressor(header: str | None, url: str) -> _Decompressor:
    codings = [c.strip().lower() for c in (header or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > 1:
        raise NetworkError(f"GET {url}: stacked Content-Encoding {header!r} refused", url=url)
    coding = codings[0] if codings else "identity"
    if coding == "identity":
        return _Identity()
    if coding in ("gzip", "x-gzip"):
        return _Zlib(16 + zlib.MAX_WBITS)
    if coding == "deflate":
        return _Zlib(None)
    if coding == "br" and _BROTLI is not None:
        return _Brotli(_BROTLI)
    raise NetworkError(f"GET {url}: unsupported Content-Encoding {coding!r}", url=url)


def _too_large(url: str, max_bytes: int) -> bytes:
    raise TooLarge(f"GET {url}: body exceeds the limit of {max_bytes} bytes", url=url)


async def _read_body(resp: httpx.Response, url: str, max_bytes: int) -> bytes:
    """The decoded body, never more than ``max_bytes`` decoded nor much more raw."""
    if resp.is_stream_consumed:
        # A response a test transport built from bytes: httpx has read (and decoded) it.
        return resp.content if len(resp.content) <= max_bytes else _too_large(url, max_bytes)
    decoder = _decompressor(resp.headers.get("Content-Encoding"), url)
    body = bytearray()
    raw = 0
    steps = 0
    try:
        async for chunk in resp.aiter_raw():
            raw += len(chunk)
            if raw > max_bytes + _RAW_SLACK:
                raise TooLarge(f"GET {url}: body exceeds the limit of {max_bytes} bytes", url=url)
            for piece in decoder.feed(chunk):
                body += piece
                if len(body) > max_bytes:
                    raise TooLarge(
                        f"GET {url}: body exceeds the limit of {max_bytes} bytes"
                        + (" once decompressed" if raw < len(body) else ""),
                        url=url,
                    )
                steps += 1
                if steps % 4 == 0:
                    await asyncio.sleep(0)  # let the loop breathe between bounded steps
        if not decoder.complete():
            raise NetworkError(f"GET {url}: truncated compressed body", url=url)
    except zlib.error as exc:
        raise NetworkError(f"GET {url}: broken compressed body: {exc}", url=url) from exc
    except Exception as exc:
        if _BROTLI is not None and isinstance(exc, _BROTLI.error):
            raise NetworkError(f"GET {url}: broken brotli body: {exc}", url=url) from exc
        raise
    return bytes(body)


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
        why = policy.url_refusal(current)
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
        content=await _read_body(resp, url, max_bytes),
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


# --- charset ---------------------------------------------------------------------------------

_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)""", re.IGNORECASE)
_SNIFF_BYTES = 2048
# Browsers decode these labels as windows-1252 (WHATWG Encoding), and so do pages in the wild.
_AS_WINDOWS_1252 = {"iso8859-1", "ascii", "cp1252"}
# UTF-7 is refused by browsers (script smuggling); "undefined" raises on any byte; the escape
# codecs and IDNA turn text into other text. A page naming one of them gets the fallbacks.
_REFUSED = {
    "utf-7",
    "undefined",
    "unicode-escape",
    "raw-unicode-escape",
    "idna",
    "punycode",
}
_C1_ERRORS = "bantin-windows-1252-c1"


def _c1_fallback(exc: UnicodeError) -> tuple[str, int]:
    # windows-1252 as browsers do it: the five unassigned bytes map to the C1 controls.
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error(_C1_ERRORS, _c1_fallback)


def decode_html(content: bytes, content_type: str | None) -> str:
    """Decode an HTML/XML body to NFC text, getting Vietnamese legacy encodings right.

    Order: a byte-order mark; strict UTF-8 (valid multi-byte UTF-8 is practically never legacy
    text, and a wrong header is common); the HTTP header charset; the document's own
    declaration in its first 2 KB; windows-1258. Unknown labels fall through.
    """
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if content.startswith(bom):
            return _nfc(content[len(bom) :].decode(codec, errors="replace"))
    try:
        return _nfc(content.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    declared = [c for c in (_header_codec(content_type), _document_codec(content)) if c]
    for codec in declared:
        text = _try_decode(content, codec)
        if text is not None:
            return _nfc(text)
    # Nothing declared decodes cleanly: the portal's legacy encoding is the best bet, and a
    # declared single-byte codec with a stray byte is next.
    text = _try_decode(content, "cp1258")
    if text is not None:
        return _nfc(text)
    for codec in declared:
        # Any codec may still refuse (a label Python maps to something odd): never raise here.
        with contextlib.suppress(LookupError, UnicodeError, ValueError, TypeError):
            return _nfc(content.decode(codec, errors="replace"))
    return _nfc(content.decode("cp1258", errors="replace"))


def _nfc(text: str) -> str:
    # windows-1258 yields base letters plus combining tone marks; NFC composes them.
    return unicodedata.normalize("NFC", text.lstrip("\ufeff"))


def _header_codec(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _HEADER_CHARSET.search(content_type)
    return _codec(m.group(1)) if m else None


def _document_codec(content: bytes) -> str | None:
    head = content[:_SNIFF_BYTES]
    found = [m for m in (_META_CHARSET.search(head), _XML_ENCODING.search(head)) if m]
    if not found:
        return None
    first = min(found, key=lambda m: m.start())
    return _codec(first.group(1).decode("ascii", errors="replace"))


def _codec(label: str) -> str | None:
    """A Python text codec name for a charset label, or None when unknown or refused."""
    try:
        info = codecs.lookup(label.strip().lower())
    except LookupError:
        return None
    name = info.name
    if not getattr(info, "_is_text_encoding", True):
        return None  # base64, zlib, rot13...: bytes-to-bytes codecs behind a plausible label
    if name in _REFUSED or name == "utf-8":
        # utf-8 was already tried strictly and failed; a declaration cannot make it right.
        return None
    if name in _AS_WINDOWS_1252:
        return "cp1252"
    return name


def _try_decode(content: bytes, codec: str) -> str | None:
    errors = _C1_ERRORS if codec == "cp1252" else "strict"
    try:
        return content.decode(codec, errors=errors)
    except (UnicodeError, LookupError, ValueError, TypeError):
        # LookupError: a binary codec such as base64 or zlib behind a plausible label.
        return None
