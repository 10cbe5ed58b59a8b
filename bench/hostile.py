"""Hostile-corpus benchmark: the whole bot (App, real parser processes, SQLite) polls hostile
sources served on 127.0.0.1 (bombs, 200,000 nested divs in a listing, an RSS description and
an article page, 3,000 links, private links, NUL/ESC and 1 MB titles, charset=undefined).

    .venv/bin/python bench/hostile.py [--bomb-mb 1024] [--polls 2]
    .venv/bin/python bench/hostile.py --fetch-only [--rounds 3]   (fetch level only)

Prints one line per source, then ``hostile-bot: ... peak_rss=<MB> worker_peak_rss=<MB>
max_lag=<ms> private_requests=<n> ... good_entries_stored=<bool>``.
Targets (issue 11): peak RSS under 300 MB, lag under 100 ms, no private request, and the good
entries of every source stored.

No figure is printed (errors on stderr, exit status 1) when a private address was requested,
a link that must be refused was not, a good entry is missing, a source other than the two
bomb listings failed, or a bomb got through (at the fetch level: a bomb, stacked or unknown
encoding or drip that came back ok). RSS and lag are figures, not errors. ``--tiny``: 8 MB
bombs (still over the 5 MB cap), one poll or round, a 1 s deadline at the fetch level.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
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

from bench.outcome import Outcome, add_tiny, apply_sizes  # noqa: E402
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
            async with server.running():
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


#: fetch-level jobs that must never come back ok (stacked or unknown encoding, a drip past the
#: deadline), and those that must not when the bomb is over the cap
MUST_FAIL = ("/gzip2", "/zstd", "/drip")
OVER_CAP = ("/gzip", "/deflate", "/raw-deflate", "/big")


async def fetch_main(argv: list[str], out: Outcome) -> None:
    ap = argparse.ArgumentParser(description="fetch level only")
    ap.add_argument("--rounds", type=int, default=None, help="default 3 (--tiny: 1)")
    ap.add_argument("--bomb-mb", type=int, default=None, help="each bomb, decompressed: 1024 MB")
    ap.add_argument("--max-bytes", type=int, default=5_000_000)
    ap.add_argument("--deadline", type=float, default=None, help="default 3 (--tiny: 1)")
    ap.add_argument("--only", default="", help="run only jobs whose kind contains this")
    add_tiny(ap, "8 MB bombs, one round, a 1 s deadline")
    args = ap.parse_args(argv)
    apply_sizes(args, {"rounds": (3, 1), "bomb_mb": (1024, 8), "deadline": (3.0, 1.0)})
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
            *private_spellings(p),
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
    out.check(secret_hits == 0, f"the loopback secret was fetched {secret_hits} times")
    if args.only in "private":  # the private jobs ran
        want = len(private_links) * args.rounds
        got = outcomes["private:Refused"]
        out.check(got == want, f"{got} of {want} fetches of private links refused")
    must_fail = MUST_FAIL + (OVER_CAP if args.bomb_mb * MB > args.max_bytes else ())
    for kind in must_fail:
        out.check(not outcomes[f"{kind}:ok"], f"{kind} came back ok {outcomes[f'{kind}:ok']} times")
    out.figure(
        f"hostile: {total} fetches [{summary}] peak_rss={peak_rss_mb():.0f}MB "
        f"max_lag={worst * 1000:.0f}ms secret_hits={secret_hits} "
        f"{time.perf_counter() - started:.1f}s (bombs {args.bomb_mb} MB, cap {args.max_bytes})"
    )


# --- the whole bot polling hostile sources ----------------------------------------------------

DEPTH = 200_000
DEEP = "<div>" * DEPTH + "chữ" + "</div>" * DEPTH


def page(title: str) -> bytes:
    para = f"{title}: nội dung bài viết thử nghiệm, đủ dài để trích xuất và tóm tắt. " * 3
    body = "".join(f"<p>{para} Đoạn {i}.</p>" for i in range(4))
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"{body}</article></body></html>"
    ).encode()


def feed(items: list[tuple[str, str, str]]) -> bytes:
    """RSS of (link, title, description), newest first; description is raw HTML (escaped)."""
    import html

    out = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>H</title>']
    for i, (link, title, desc) in enumerate(items):
        out.append(
            f"<item><title>{title}</title><link>{link}</link>"
            f"<pubDate>Tue, 01 Dec 2026 0{i % 10}:00:00 +0000</pubDate>"
            f"<description>{html.escape(desc)}</description></item>"
        )
    return ("".join(out) + "</channel></rss>").encode()


def listing(links: list[str], middle: str = "") -> bytes:
    first, rest = links[:1], links[1:]
    a = "".join(f"<a href='{u}'>Tin {u[-12:]}</a>" for u in first)
    b = "".join(f"<a href='{u}'>Tin {u[-12:]}</a>" for u in rest)
    return f"<html><body>{a}{middle}{b}</body></html>".encode()


HTML = (("Content-Type", "text/html; charset=utf-8"),)
RSS = (("Content-Type", "application/rss+xml"),)

SOURCES = {  # id -> (kind, what it is)
    "bomb2": ("rss", "listing: gzip inside gzip (1 GB)"),
    "bomb1": ("rss", "listing: one gzip layer (1 GB)"),
    "deeplist": ("html", f"listing: {DEPTH:,} nested divs between the links"),
    "deepdesc": ("rss", f"RSS description: {DEPTH:,} nested divs"),
    "deeppage": ("rss", f"article page: {DEPTH:,} nested divs"),
    "many": ("html", "listing: 3,000 new links"),
    "nul": ("rss", "titles: &#0;, NUL, ESC, 1 MB title"),
    "undef": ("rss", "article pages: charset=undefined"),
    "pagebomb": ("rss", "article page: gzip bomb"),
    "public": ("rss", "public portal: private links and a redirect to loopback"),
}
NO_GOOD = {"bomb2", "bomb1"}  # the listing itself is the attack: the source fails, nothing to store


def good(base: str, sid: str) -> list[str]:
    return [f"{base}/good/{sid}-{n}.html" for n in (1, 2)]


def hostile_routes(base: str, port: int, bomb_mb: int) -> dict[str, Reply]:
    gz = gzip_bomb(bomb_mb * MB)
    r: dict[str, Reply] = {"/secret": Reply(body=b"database password is hunter2")}
    for sid in SOURCES:
        for url in good(base, sid):
            r[url[len(base) :]] = Reply(headers=HTML, body=page(f"Tin tốt {url[-12:-5]}"))
    r["/bomb2"] = Reply(
        headers=(("Content-Encoding", "gzip, gzip"),), body=zlib.compress(gz, 9, wbits=31)
    )
    r["/bomb1"] = Reply(headers=(("Content-Encoding", "gzip"),), body=gz)
    r["/deeplist"] = Reply(headers=HTML, body=listing(good(base, "deeplist"), DEEP))
    g = good(base, "deepdesc")
    r["/deepdesc"] = Reply(
        headers=RSS,
        body=feed(
            [(g[0], "Tin 1", "ok"), (f"{base}/good/x.html", "Sâu", DEEP), (g[1], "Tin 2", "ok")]
        ),
    )
    g = good(base, "deeppage")
    r["/deep.html"] = Reply(headers=HTML, body=f"<html><body>{DEEP}</body></html>".encode())
    r["/deeppage"] = Reply(
        headers=RSS,
        body=feed([(g[0], "Tin 1", ""), (f"{base}/deep.html", "Sâu", ""), (g[1], "Tin 2", "")]),
    )
    many = good(base, "many") + [f"{base}/good/many-{i}.html" for i in range(3, 3001)]
    r["/many"] = Reply(headers=HTML, body=listing(many))
    for url in many[2:]:
        r[url[len(base) :]] = Reply(headers=HTML, body=page(f"Tin {url[-12:]}"))
    g = good(base, "nul")
    r["/nul"] = Reply(
        headers=RSS,
        body=feed(
            [
                (g[0], "Tin&#0; một \x1b[31m\x07", ""),
                (f"{base}/good/huge.html", "T" * MB, ""),
                (g[1], "Tin\x00 hai", ""),
            ]
        ),
    )
    r["/good/huge.html"] = Reply(headers=HTML, body=page("huge"))
    undef = (("Content-Type", "text/html; charset=undefined"),)
    g = good(base, "undef")
    r["/undef"] = Reply(headers=RSS, body=feed([(u, "Không rõ mã", "") for u in g]))
    for u in g:
        r[u[len(base) :]] = Reply(headers=undef, body=page("Không rõ mã"))
    g = good(base, "pagebomb")
    r["/pbomb.html"] = Reply(headers=(("Content-Encoding", "gzip"),), body=gz)
    r["/pagebomb"] = Reply(
        headers=RSS,
        body=feed([(g[0], "Tin 1", ""), (f"{base}/pbomb.html", "Bom", ""), (g[1], "Tin 2", "")]),
    )
    return r


def private_spellings(port: int) -> list[str]:
    """A loopback page under every spelling the outbound policy must refuse, and the cloud
    metadata address."""
    p = port
    return [
        f"http://127.0.0.1:{p}/secret",
        f"http://[::1]:{p}/secret",
        f"http://[::ffff:127.0.0.1]:{p}/secret",
        f"http://2130706433:{p}/secret",
        f"http://0x7f.1:{p}/secret",
        f"http://0177.0.0.1:{p}/secret",
        f"http://localhost:{p}/secret",
        "http://169.254.169.254/latest/meta-data/",
    ]


def public_routes(port: int) -> dict[str, bytes | httpx.Response]:
    p = port
    private = [
        *private_spellings(p),
        f"http://127.0.0.1:5432/{p}",
    ]
    g = good("https://portal.example", "public")
    items = [(g[0], "Tin 1", "")] + [(u, "Nội bộ", "") for u in private]
    items += [("https://portal.example/redirect.html", "Chuyển", ""), (g[1], "Tin 2", "")]
    out: dict[str, bytes | httpx.Response] = {"/public": feed(items)}
    for u in g:
        out[u[len("https://portal.example") :]] = page("Tin công khai")
    out["/redirect.html"] = httpx.Response(302, headers={"Location": private[0]})
    return out


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def bot_main(argv: list[str], out: Outcome) -> None:
    import tempfile

    from bot.app import App
    from bot.config import Config, load_settings

    ap = argparse.ArgumentParser(description="the whole bot polling hostile sources")
    ap.add_argument("--bomb-mb", type=int, default=None, help="default 1024 (--tiny: 8)")
    ap.add_argument("--polls", type=int, default=None, help="hostile polls: 2 (--tiny: 1)")
    ap.add_argument("--debug-lag", action="store_true", help="log callbacks over 50 ms")
    add_tiny(ap, "8 MB bombs, one poll")
    args = ap.parse_args(argv)
    apply_sizes(args, {"bomb_mb": (1024, 8), "polls": (2, 1)})
    logging.basicConfig(level=logging.CRITICAL)
    beat = [time.perf_counter()]
    stalls: Counter[str] = Counter()
    if args.debug_lag:
        main_id = threading.get_ident()

        def watchdog() -> None:
            # Samples the loop thread's stack while the ticker is late: where the lag comes from.
            import traceback

            while True:
                time.sleep(0.02)
                if time.perf_counter() - beat[0] > 0.06:
                    for ident, frame in sys._current_frames().items():
                        if ident == threading.get_ident():
                            continue
                        stack = traceback.extract_stack(frame)[-4:]
                        where = " <- ".join(f"{f.name}:{f.lineno}" for f in reversed(stack))
                        stalls[("main " if ident == main_id else "") + where] += 1

        threading.Thread(target=watchdog, daemon=True).start()
    server = HostileServer({})
    with in_thread(server), tempfile.TemporaryDirectory() as tmp:
        base = server.base_url
        phase2 = hostile_routes(base, server.port, args.bomb_mb)
        public_pages = public_routes(server.port)
        # Phase 1 (first sight, seeded silently): every listing shows one harmless item.
        for sid, (kind, _) in SOURCES.items():
            seed = f"{base}/seed-{sid}.html"
            server.routes[f"/{sid}"] = Reply(
                headers=RSS if kind == "rss" else HTML,
                body=feed([(seed, "Hạt giống", "")]) if kind == "rss" else listing([seed]),
            )
            server.routes[f"/seed-{sid}.html"] = Reply(headers=HTML, body=page("Hạt giống"))
        seed_public = feed([("https://portal.example/seed.html", "Hạt giống", "")])
        portal: dict[str, bytes | httpx.Response] = {
            "/public": seed_public,
            "/seed.html": page("Hạt giống"),
        }

        def portal_handler(request: httpx.Request) -> httpx.Response:
            got = portal.get(request.url.path)
            if isinstance(got, httpx.Response):
                return got
            if got is None:
                return httpx.Response(404)
            return httpx.Response(200, content=got, headers={"Content-Type": "text/html"})

        class Split(httpx.AsyncBaseTransport):
            def __init__(self) -> None:
                self.mock = httpx.MockTransport(portal_handler)
                self.real = make_client()._transport

            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                if request.url.host == "portal.example":
                    return await self.mock.handle_async_request(request)
                return await self.real.handle_async_request(request)

        toml = []
        for sid, (kind, _) in SOURCES.items():
            url = "https://portal.example/public" if sid == "public" else f"{base}/{sid}"
            toml.append(
                f'[[sources]]\nid = "{sid}"\nname = "{sid}"\nkind = "{kind}"\nurl = "{url}"\n'
                + ("" if sid == "public" else "allow_private = true\n")
                + ('[sources.list]\nlink_pattern = "/(good|seed)"\n' if kind == "html" else "")
            )
        settings = load_settings(
            {"BANTIN_DATABASE_URL": f"sqlite:///{tmp}/bench.db", "BANTIN_HTTP": "off"}
        )
        config = Config(settings, (), (), Path("hostile.toml")).with_sources_text(
            "\n".join(toml), filename="hostile.toml"
        )
        client = make_client(transport=Split())
        app = App(config, channels=[], client=client)
        await app.open()
        worst = 0.0
        worst_cpu = 0.0
        worker_peak = 0.0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal worst, worst_cpu, worker_peak
            n = 0
            while not stop.is_set():
                t = time.perf_counter()
                cpu = time.thread_time()
                await asyncio.sleep(0.01)
                worst = max(worst, time.perf_counter() - t - 0.01)
                # CPU this thread spent between two ticks: the longest stretch of work on the
                # loop, whatever the machine's load (wall-clock lag also counts the waits for
                # a core on a busy machine).
                worst_cpu = max(worst_cpu, time.thread_time() - cpu)
                beat[0] = time.perf_counter()
                n += 1
                if n % 5 == 0:  # the parser processes' resident size, sampled
                    ex = app.poller.parse_pool._executor
                    for proc in list((getattr(ex, "_processes", None) or {}).values()):
                        worker_peak = max(worker_peak, rss_mb(proc.pid or 0))

        started = time.perf_counter()
        await app.poll_once()  # seeds; also starts the parser processes
        beat[0] = time.perf_counter()
        tick = asyncio.create_task(ticker())
        server.routes.update(phase2)
        portal.update(public_pages)
        secret_before = server.paths().count("/secret")
        reports = []
        for _ in range(args.polls):
            await asyncio.sleep(0)
            # Due now: the bench does not wait for the sources' intervals.
            reports.append(await app.poll_once())
        stop.set()
        await tick
        stored = {a.url for a in await app.store.latest(limit=100_000)}
        failures = await app.store.entry_failures(limit=100)
        refused = app.metrics.render().decode()
        await app.close()
        await client.aclose()
    for where, count in stalls.most_common(12):
        out.figure(f"  stall x{count}: {where}")
    private_hits = server.paths().count("/secret") - secret_before
    private_hits += sum(1 for host, _ in server.requests if "5432" in _)
    all_good = True
    for sid, (_, what) in SOURCES.items():
        last = {r.source_id: r for r in reports[0]}[sid]
        b = "https://portal.example" if sid == "public" else base
        ok = sid in NO_GOOD or all(u in stored for u in good(b, sid))
        all_good &= ok
        status = "ok" if last.ok else "error"
        if sid in NO_GOOD:
            out.check(not last.ok, f"{sid}: the bomb listing did not fail its source")
        else:
            out.check(last.ok, f"{sid}: the source failed: {escape(last.reason)[:200]}")
            out.check(ok, f"{sid}: its good entries were not all stored")
        if sid == "public":
            # and :5432; the public link redirecting to loopback is stored from the feed
            want = len(private_spellings(server.port)) + 1
            out.check(last.refused == want, f"public: {last.refused} of {want} links refused")
        extra = f" refused={last.refused}" if last.refused else ""
        extra += f" failed_entries={last.failed_entries}" if last.failed_entries else ""
        extra += f" deferred={last.deferred}" if last.deferred else ""
        out.figure(
            f"  {sid:9} {what:55} poll1={status} new={last.new}{extra} "
            f"good_stored={'n/a' if sid in NO_GOOD else ok} "
            f"{escape(last.reason)[:90]}"
        )
    refusals = sum(
        float(line.split()[-1])
        for line in refused.splitlines()
        if line.startswith("bantin_links_refused_total{")
    )
    out.check(private_hits == 0, f"{private_hits} requests reached a private address")
    out.figure(
        f"hostile-bot: {len(SOURCES)} sources x {args.polls} polls peak_rss={peak_rss_mb():.0f}MB "
        f"worker_peak_rss={worker_peak:.0f}MB max_lag={worst * 1000:.0f}ms "
        f"max_loop_cpu={worst_cpu * 1000:.0f}ms load={os.getloadavg()[0]:.1f} "
        f"private_requests={private_hits} refused_metric={refusals:.0f} "
        f"entry_failures={len(failures)} good_entries_stored={all_good} "
        f"{time.perf_counter() - started:.1f}s"
    )


def escape(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")


async def main() -> int:
    out = Outcome("bench/hostile.py")
    if "--fetch-only" in sys.argv:
        await fetch_main([a for a in sys.argv[1:] if a != "--fetch-only"], out)
    else:
        await bot_main(sys.argv[1:], out)
    return out.finish()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
