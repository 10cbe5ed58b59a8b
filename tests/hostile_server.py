"""A raw HTTP/1.1 server on 127.0.0.1 that answers exactly the bytes it is told to: bombs,
stacked encodings, slow drips, redirects. Records every request. Used by tests and bench."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reply:
    """One canned answer. ``drip`` seconds between ``chunk``-byte writes (0: all at once);
    ``repeat`` writes the body that many times (a long body without holding it twice)."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    drip: float = 0.0
    chunk: int = 65536
    repeat: int = 1


@dataclass
class HostileServer:
    """``routes`` maps a path to a :class:`Reply`; unknown paths get 404."""

    routes: dict[str, Reply] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (Host header, path)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[HostileServer]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            # Dripping handlers would keep wait_closed() waiting: they end on their own.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):
                    await server.wait_closed()

    def paths(self) -> list[str]:
        return [path for _, path in self.requests]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            host = next(
                (ln.split(":", 1)[1].strip() for ln in lines[1:] if ln.lower().startswith("host:")),
                "",
            )
            self.requests.append((host, path))
            reply = self.routes.get(path, Reply(404, body=b"not here"))
            out = [f"HTTP/1.1 {reply.status} X", "Connection: close"]
            out += [f"{k}: {v}" for k, v in reply.headers]
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
            for _ in range(reply.repeat):
                for i in range(0, len(reply.body), reply.chunk):
                    writer.write(reply.body[i : i + reply.chunk])
                    await writer.drain()
                    if reply.drip:
                        await asyncio.sleep(reply.drip)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up: exactly what a capped fetch does
        except asyncio.CancelledError:
            pass  # shut down mid-drip: end quietly
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


# --- bombs ---------------------------------------------------------------------------------


_BLOCK = 1 << 20


@functools.cache
def _raw_zeros(total: int) -> bytes:
    """Raw deflate of ``total`` zero bytes (a multiple of 1 MiB), built fast: every 1 MiB is a
    full-flushed block, so one compressed block repeated is the whole stream."""
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = c.compress(bytes(_BLOCK)) + c.flush(zlib.Z_FULL_FLUSH)
    return block * (total // _BLOCK) + c.flush()


def _checksums(total: int) -> tuple[int, int]:
    crc, adler, zeros = 0, 1, bytes(_BLOCK)
    for _ in range(total // _BLOCK):
        crc, adler = zlib.crc32(zeros, crc), zlib.adler32(zeros, adler)
    return crc, adler


@functools.cache
def gzip_bomb(total: int) -> bytes:
    """``total`` zero bytes (a multiple of 1 MiB), gzip-compressed (about 1000:1)."""
    crc, _ = _checksums(total)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + _raw_zeros(total) + struct.pack("<II", crc, total & 0xFFFFFFFF)


@functools.cache
def deflate_bomb(total: int, *, raw: bool = False) -> bytes:
    """``total`` zero bytes as zlib-wrapped (or raw) deflate."""
    if raw:
        return _raw_zeros(total)
    _, adler = _checksums(total)
    return b"\x78\xda" + _raw_zeros(total) + struct.pack(">I", adler)


@functools.cache
def stacked_gzip_bomb(total: int) -> bytes:
    """Two layers of gzip: a few KB that become ``total`` bytes."""
    return gzip.compress(gzip_bomb(total), 9)
