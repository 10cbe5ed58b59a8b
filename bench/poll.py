"""Benchmark: 200 sources x 50 items on a loopback server, polled twice.

Pass 1: every item is new (first sight: parse, dedup, store); pass 2: every listing is
unchanged (conditional GET -> 304). Half the sources are RSS feeds, half HTML listings;
article-page fetches are off (``fetch_articles = false``), as the issue asks. A third pass
("fresh") polls new items on already-seeded sources with 100 subscribed chats, so the full
path runs: summarise, classify, match keywords, store and fan out.

The server runs in a child process so the CPU figures are the bot's alone; it is on
127.0.0.1, so every source says ``allow_private = true`` (the outbound policy refuses
loopback otherwise). Prints one line of figures per pass, and none at all (errors on stderr,
exit status 1) when a source errored or a pass stored, skipped or queued other than expected.
Usage: .venv/bin/python bench/poll.py [--sources 200 --items 50 --chats 100] [--tiny]
``--break`` points every source at a closed port: the run must fail (the tests check it).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import html
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.outcome import Outcome, add_tiny, apply_sizes  # noqa: E402

PARAGRAPH = (
    "Sáng 26/11, Đảng ủy Khối tổ chức hội nghị sơ kết công tác dân vận năm 2026, triển khai "
    "nhiệm vụ trọng tâm năm tới. Hội nghị nhấn mạnh yêu cầu đổi mới phương thức tuyên truyền, "
    "đẩy mạnh chuyển đổi số trong công tác xây dựng Đảng."
)


def rss_body(source: int, generation: int, items: int) -> bytes:
    now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Nguồn {source}</title><link>http://127.0.0.1/</link><description>bench</description>"
    ]
    for i in range(items):
        n = source * 100_000 + generation * 1_000 + i
        parts.append(
            f"<item><title>Tin số {n}: hội nghị công tác dân vận</title>"
            f"<link>http://127.0.0.1/tin-so-{n}-duk{n}.aspx</link><guid>{n}</guid>"
            f"<pubDate>{format_datetime(now - timedelta(minutes=i))}</pubDate>"
            f"<description><![CDATA[<p>{PARAGRAPH}</p>]]></description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def html_body(source: int, generation: int, items: int) -> bytes:
    rows = []
    for i in range(items):
        n = source * 100_000 + generation * 1_000 + i
        rows.append(
            f'<div class="news-item"><h3><a class="title" href="/tin-so-{n}-duk{n}.aspx">'
            f"Tin số {n}: {html.escape('Hội nghị & tập huấn')}</a></h3>"
            f'<span class="date">26/11/2026</span><p class="sapo">{PARAGRAPH}</p></div>'
        )
    menu = "".join(f'<li><a href="/muc-{k}.aspx">Mục {k}</a></li>' for k in range(20))
    return (
        f'<html><head><meta charset="utf-8"><title>Nguồn {source}</title></head><body>'
        f'<ul class="menu">{menu}</ul><div class="list-news">{"".join(rows)}</div></body></html>'
    ).encode()


def serve(port_file: str, sources: int, items: int) -> None:
    """Child process: serve /rss/N.xml and /html/N.aspx; /bump makes every listing new."""
    state = {"generation": 0}
    cache: dict[str, tuple[bytes, str, str]] = {}

    def body(path: str) -> tuple[bytes, str, str] | None:
        key = f"{state['generation']}:{path}"
        if key not in cache:
            kind, _, name = path.strip("/").partition("/")
            number = int(name.split(".")[0])
            if number >= sources:
                return None
            if kind == "rss":
                content, ctype = (
                    rss_body(number, state["generation"], items),
                    "application/rss+xml; charset=utf-8",
                )
            else:
                content, ctype = (
                    html_body(number, state["generation"], items),
                    "text/html; charset=utf-8",
                )
            cache[key] = (content, ctype, '"' + hashlib.sha1(content).hexdigest() + '"')
        return cache[key]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/bump":
                state["generation"] += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            found = body(self.path)
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            content, ctype, etag = found
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


def config_text(base: str, sources: int) -> str:
    out = ['[[topics]]\nslug = "dan-van"\nname = "Dân vận"\nkeywords = ["dân vận"]\n']
    # The server is on loopback: without allow_private the outbound policy refuses every
    # source (the bench once measured 200 refusals a pass and printed them as a speed).
    common = 'topics = ["dan-van"]\ninterval = 900\nfetch_articles = false\nallow_private = true\n'
    for i in range(sources):
        if i % 2 == 0:
            out.append(
                f'[[sources]]\nid = "s{i}"\nname = "Nguồn {i}"\nkind = "rss"\n'
                f'url = "{base}/rss/{i}.xml"\n{common}'
            )
        else:
            out.append(
                f'[[sources]]\nid = "s{i}"\nname = "Nguồn {i}"\nkind = "html"\n'
                f'url = "{base}/html/{i}.aspx"\n{common}'
                '[sources.list]\nitem = ".news-item"\nlink = "a.title"\ndate = ".date"\n'
            )
    return "\n".join(out)


async def bench(base: str, server: str, sources: int, items: int, chats: int, out: Outcome) -> None:
    """The three passes; ``base`` is where the sources point, ``server`` the loopback server."""
    import httpx

    from bot.app import App
    from bot.config import Config, load_settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            {"BANTIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"}
        )
        config = Config(settings, (), (), Path("bench.toml")).with_sources_text(
            config_text(base, sources), filename="bench.toml"
        )
        app = App(config, channels=[])
        await app.open()
        try:
            now = app.clock()
            for c in range(chats):
                chat = await app.store.upsert_chat("telegram", str(1000 + c), now)
                await app.store.subscribe(chat, "topic", "dan-van", "dan-van", now)
            total = sources * items

            async def run(
                label: str, *, new: int, stored: int, queued: int, kind: str = ""
            ) -> None:
                """One pass; ``kind`` "seeded" or "304": what every source must report."""
                cpu0, wall0 = time.process_time(), time.perf_counter()
                reports = await app.poll_once()
                cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
                errors = [r for r in reports if not r.ok]
                articles = await app.store.article_count()
                got_new = sum(r.new for r in reports)
                got_queued = sum(r.queued for r in reports)
                flagged = sum(
                    1 for r in reports if (r.seeded if kind == "seeded" else r.not_modified)
                )
                for r in errors[:5]:
                    out.error(f"{label}: source {r.source_id} errored: {r.reason}")
                if len(errors) > 5:
                    out.error(f"{label}: {len(errors) - 5} more sources errored")
                out.check(
                    len(reports) == sources, f"{label}: {len(reports)} of {sources} sources polled"
                )
                out.check(got_new == new, f"{label}: {got_new} new items, expected {new}")
                out.check(
                    articles == stored, f"{label}: {articles} articles stored, expected {stored}"
                )
                out.check(
                    got_queued == queued,
                    f"{label}: {got_queued} deliveries queued, expected {queued}",
                )
                if kind:
                    out.check(flagged == sources, f"{label}: {flagged} of {sources} sources {kind}")
                rate = "" if kind == "304" else f" items/s={total / wall:,.0f}"
                out.figure(
                    f"{label}: sources={len(reports)} errors={len(errors)}"
                    f" wall={wall:.2f}s cpu={cpu:.2f}s"
                    f"{rate} articles_stored={articles} queued={got_queued}"
                )

            await run(
                "pass 1 (all new, first sight)",
                new=0,  # a source seen for the first time is seeded silently
                stored=total,
                queued=0,
                kind="seeded",
            )
            await run(
                "pass 2 (all unchanged, 304)",
                new=0,
                stored=total,
                queued=0,
                kind="304",
            )
            async with httpx.AsyncClient() as client:
                await client.get(f"{server}/bump")
            await run(
                f"pass 3 (all new on seeded sources, fan-out to {chats} chats)",
                new=total,
                stored=2 * total,
                queued=total * chats,
            )
        finally:
            await app.close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=None, help="default 200 (--tiny: 4)")
    parser.add_argument("--items", type=int, default=None, help="default 50 (--tiny: 5)")
    parser.add_argument("--chats", type=int, default=None, help="default 100 (--tiny: 3)")
    add_tiny(parser, "4 sources x 5 items, 3 chats")
    parser.add_argument("--break", dest="broken", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    apply_sizes(args, {"sources": (200, 4), "items": (50, 5), "chats": (100, 3)})
    if args.serve:
        serve(args.serve, args.sources, args.items)
        return 0
    out = Outcome("bench/poll.py")
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        child = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                str(port_file),
                "--sources",
                str(args.sources),
                "--items",
                str(args.items),
            ]
        )
        try:
            for _ in range(200):
                if (port_file.exists() and port_file.read_text()) or child.poll() is not None:
                    break
                time.sleep(0.05)
            if not (port_file.exists() and port_file.read_text()):
                out.error(f"the loopback server did not start (exit status {child.poll()})")
                return out.finish()
            server = f"http://127.0.0.1:{port_file.read_text()}"
            base = f"http://127.0.0.1:{closed_port()}" if args.broken else server
            try:
                asyncio.run(bench(base, server, args.sources, args.items, args.chats, out))
            except Exception as exc:
                traceback.print_exc()
                out.error(f"the run raised {type(exc).__name__}: {exc}")
        finally:
            child.terminate()
            child.wait(5)
    return out.finish()


if __name__ == "__main__":
    sys.exit(main())
