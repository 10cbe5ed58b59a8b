"""Hostile-corpus benchmark (fetch level): serves bombs, drips and private-address redirects on
127.0.0.1, fetches them the way the poller does, and prints peak RSS and worst event-loop lag.

    .venv/bin/python bench/hostile.py [--rounds 3] [--bomb-mb 1024]

One line: ``hostile: <n> fetches <outcomes> peak_rss=<MB> max_lag=<ms> secret_hits=<n> <s>``.
Targets (issue 11): peak RSS under 300 MB, lag under 100 ms, secret_hits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402
from hostile_server import HostileServer, Reply, deflate_bomb, gzip_bomb  # noqa: E402

from feeds.fetch import FetchError, fetch, make_client  # noqa: E402
from feeds.models import Source  # noqa: E402
from feeds.netpolicy import listing_policy  # noqa: E402

MB = 1 << 20


def peak_rss_mb() -> float:
    """VmHWM: the process's peak resident set size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def routes(bomb_mb: int, port_holder: list[int]) -> dict[str, Reply]:
    gz = gzip_bomb(bomb_mb * MB)
    gz2 = zlib.compress(gz, 9, wbits=31)
    return {
        "/gzip": Reply(headers=(("Content-Encoding", "gzip"),), body=gz),
        "/gzip2": Reply(headers=(("Content-Encoding", "gzip, gzip"),), body=gz2),
        # The same two layers announced as one: the inner gzip comes out as (capped) bytes.
        "/gzip-as-one": Reply(headers=(("Content-Encoding", "gzip"),), body=gz2),
        "/deflate": Reply(
            headers=(("Content-Encoding", "deflate"),), body=deflate_bomb(bomb_mb * MB)
        ),
        "/raw-deflate": Reply(
            headers=(("Content-Encoding", "deflate"),), body=deflate_bomb(bomb_mb * MB, raw=True)
        ),
        "/zstd": Reply(headers=(("Content-Encoding", "zstd"),), body=b"\x28\xb5\x2f\xfd" * 64),
        "/big": Reply(body=b"y" * 65536, repeat=bomb_mb * 16),
        "/drip": Reply(body=b"<" * 100_000, chunk=10, drip=0.01),
        "/secret": Reply(body=b"database password is hunter2"),  # also the warm-up
    }


@contextmanager
def in_thread(server: HostileServer) -> Iterator[HostileServer]:
    """Run the server on its own loop in a thread: its work must not count as the bot's lag."""
    ready = threading.Event()
    state: dict[str, object] = {}

    def run() -> None:
        async def serve() -> None:
            stop = asyncio.Event()
            state["loop"], state["stop"] = asyncio.get_running_loop(), stop
            with in_thread(server):
                ready.set()
                await stop.wait()

        asyncio.run(serve())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait()
    try:
        yield server
    finally:
        loop, stop = state["loop"], state["stop"]
        assert isinstance(loop, asyncio.AbstractEventLoop) and isinstance(stop, asyncio.Event)
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bomb-mb", type=int, default=1024, help="decompressed size of each bomb")
    ap.add_argument("--max-bytes", type=int, default=5_000_000)
    ap.add_argument("--deadline", type=float, default=3.0)
    ap.add_argument("--only", default="", help="run only jobs whose kind contains this")
    args = ap.parse_args()
    logging.getLogger("feeds.fetch").setLevel(logging.ERROR)  # one refusal line per link: noise

    server = HostileServer(routes(args.bomb_mb, []))
    worst = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            worst = max(worst, time.perf_counter() - t - 0.01)

    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    async with server.running():
        base = server.base_url
        # The server is on 127.0.0.1, so the bombs need allow_private; the private targets
        # are fetched as a source without it would (links of a public portal's feed).
        intranet = Source("intranet", "I", "rss", base + "/rss", allow_private=True)
        public = Source("portal", "P", "rss", "https://portal.example/rss")
        p = server.port
        private_links = [
            f"http://127.0.0.1:{p}/secret",
            f"http://[::1]:{p}/secret",
            f"http://[::ffff:127.0.0.1]:{p}/secret",
            f"http://2130706433:{p}/secret",
            f"http://0x7f.1:{p}/secret",
            f"http://0177.0.0.1:{p}/secret",
            f"http://localhost:{p}/secret",
            "http://169.254.169.254/latest/meta-data/",
            f"https://portal.example/redirect?to=http://127.0.0.1:{p}/secret",
        ]
        jobs: list[tuple[str, Source, str]] = []
        for path in (
            "/gzip",
            "/gzip2",
            "/gzip-as-one",
            "/deflate",
            "/raw-deflate",
            "/zstd",
            "/big",
            "/drip",
        ):
            jobs.append((path, intranet, base + path))
        for link in private_links:
            jobs.append(("private", public, link))
        sem = asyncio.Semaphore(4)  # the poller's default fetch concurrency

        def portal(request: httpx.Request) -> httpx.Response:
            return httpx.Response(302, headers={"Location": request.url.params["to"]})

        class Split(httpx.AsyncBaseTransport):
            def __init__(self) -> None:
                self.real = make_client()._transport

            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                if request.url.host == "portal.example":
                    return portal(request)
                return await self.real.handle_async_request(request)

        async with make_client(transport=Split()) as client:

            async def one(kind: str, source: Source, url: str) -> None:
                policy = listing_policy(source)  # any host: the address check must refuse
                async with sem:
                    try:
                        await fetch(
                            client,
                            url,
                            max_bytes=args.max_bytes,
                            timeout=args.deadline,
                            policy=policy,
                        )
                        outcomes[f"{kind}:ok"] += 1
                    except FetchError as exc:
                        outcomes[f"{kind}:{type(exc).__name__}"] += 1

            # Warm up (imports, TLS context, first connection): start-up cost, not lag.
            await fetch(client, base + "/secret", policy=listing_policy(intranet))
            tick = asyncio.create_task(ticker())
            jobs = [job for job in jobs if args.only in job[0]]
            for _ in range(args.rounds):
                await asyncio.gather(*(one(*job) for job in jobs))
        stop.set()
        await tick
    secret_hits = server.paths().count("/secret") - 1  # minus the warm-up
    total = sum(outcomes.values())
    summary = ",".join(f"{k}={v}" for k, v in sorted(outcomes.items()))
    print(
        f"hostile: {total} fetches [{summary}] peak_rss={peak_rss_mb():.0f}MB "
        f"max_lag={worst * 1000:.0f}ms secret_hits={secret_hits} "
        f"{time.perf_counter() - started:.1f}s (bombs {args.bomb_mb} MB, cap {args.max_bytes})"
    )


if __name__ == "__main__":
    asyncio.run(main())
