"""HTTP fetching, the only I/O in feeds/: conditional GET, size and time limits, charset decoding.

FetchError (FeedError)    could not get the document; the message names the URL
 ├── HTTPStatusError      the server answered 4xx/5xx (or an unfollowable 3xx): .status
 ├── TooLarge             the body passed max_bytes (announced or while streaming)
 ├── FetchTimeout         connect/read/overall deadline passed
 └── NetworkError         DNS, refused connection, reset, broken compression, ...
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from feeds.errors import FeedError

DEFAULT_USER_AGENT = "bantin/0.1 (+https://github.com/bantin; news notification bot)"

_ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5"
)


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


def make_client(
    *,
    user_agent: str = DEFAULT_USER_AGENT,
    timeout: float = 15.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An ``AsyncClient`` set up for polling: honest User-Agent, bounded pool, redirects followed.

    ``timeout`` bounds each phase (connect, each read); :func:`fetch` can add an overall deadline.
    """
    return httpx.AsyncClient(
        headers={
            "User-Agent": user_agent,
            "Accept": _ACCEPT,
            "Accept-Language": "vi,en;q=0.5",
        },
        # A dead host should fail fast; a slow portal gets the full read budget.
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0), pool=timeout),
        # One portal, a handful of sections: a small pool is polite and enough.
        limits=httpx.Limits(max_connections=8, max_keepalive_connections=4, keepalive_expiry=30.0),
        follow_redirects=True,
        max_redirects=5,
        transport=transport,
    )


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = 5_000_000,
    timeout: float | None = None,
) -> FetchResult:
    """GET ``url`` conditionally and return the body, or raise a :class:`FetchError`.

    ``etag``/``last_modified`` are the validators of the previous fetch; a 304 keeps them when
    the server does not repeat them. ``timeout`` is an overall deadline for headers and body
    together (the client's per-phase timeouts still apply); ``None`` leaves only the latter.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise FetchError(f"GET {url}: not an http(s) URL", url=url)
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    # Without a timeout of its own the request keeps the client's per-phase defaults.
    options: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    deadline: contextlib.AbstractAsyncContextManager[object] = (
        asyncio.timeout(timeout) if timeout is not None else contextlib.nullcontext()
    )
    try:
        with _translate_errors(url):
            async with deadline:
                return await _get(client, url, headers, max_bytes, options, etag, last_modified)
    except TimeoutError as exc:
        # asyncio.timeout's overall deadline; httpx's own timeouts are translated below.
        within = f" within {timeout:g} s" if timeout is not None else ""
        raise FetchTimeout(f"GET {url}: no complete answer{within}", url=url) from exc


async def _get(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    max_bytes: int,
    options: dict[str, Any],
    etag: str | None,
    last_modified: str | None,
) -> FetchResult:
    async with client.stream("GET", url, headers=headers, follow_redirects=True, **options) as resp:
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
        body = bytearray()
        # Counting decoded bytes also caps a compression bomb.
        async for chunk in resp.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise TooLarge(f"GET {url}: body exceeds the limit of {max_bytes} bytes", url=url)
        return FetchResult(
            url=final,
            status=resp.status_code,
            content=bytes(body),
            content_type=resp.headers.get("Content-Type"),
            etag=new_etag,
            last_modified=new_modified,
        )


@contextlib.contextmanager
def _translate_errors(url: str) -> Iterator[None]:
    """Turn httpx's exceptions into this module's tree; callers never see httpx types."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise FetchTimeout(f"GET {url}: timed out ({type(exc).__name__})", url=url) from exc
    except httpx.TooManyRedirects as exc:
        raise FetchError(f"GET {url}: too many redirects", url=url) from exc
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
# UTF-7 is refused by browsers (script smuggling); anything named so is a lie.
_REFUSED = {"utf-7"}
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
        with contextlib.suppress(LookupError):
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
    except (UnicodeDecodeError, LookupError):
        # LookupError: a binary codec such as base64 or zlib behind a plausible label.
        return None
