"""Bounded decompression of raw response bytes: gzip, deflate (zlib or raw) and, when an
installed ``brotli`` can cap its output, br. The running limit applies to the decompressed
size, stacked or unknown encodings are refused, and big inputs are fed in bounded steps.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterator
from typing import Any, Protocol

import httpx

from feeds.errors import NetworkError, TooLarge

#: bytes fed to (and asked of) a decompressor per step, so one chunk never hogs the loop
_STEP = 64 * 1024
#: raw bytes tolerated past max_bytes (framing, headers of compressed streams)
_RAW_SLACK = 64 * 1024


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


async def read_body(resp: httpx.Response, url: str, max_bytes: int) -> bytes:
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
