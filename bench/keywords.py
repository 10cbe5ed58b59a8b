"""Benchmark: the poller's keyword index at the caps, 50 keywords x 50,000 chats.

Makes ``--chats`` x ``--per-chat`` distinct keywords (1 to 4 syllables of a generated
Vietnamese-like vocabulary, some with a number; every key distinct, the worst case for the
index) and reads them the way the poller does (:class:`bot.polling.keywords.FollowedKeywords`,
pages of subscription rows, from an in-memory store), while a ticker measures how late the
event loop is. Then adds ``--added`` new follows (the incremental update of the next poll)
and matches ``--articles`` articles of about 600 syllables, each with a few planted keywords,
and one long article (100,000 characters), in a thread as the poller does. Printed: keys,
build time and rate, worst loop lag during the build, the update's time, match p50/p95/max,
the long article's time, the worst loop lag while matching, and the index's memory (RSS
growth). Match times are the matching thread's CPU time; lags and the build's first figure
are wall-clock, so they grow with the machine's load.

No figure is printed (errors on stderr, exit status 1) when the index does not hold every key,
when an article's planted keywords are not all found, or when a new follow is not matched.

Usage: .venv/bin/python bench/keywords.py [--chats 50000] [--per-chat 50] [--articles 200] [--tiny]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.outcome import Outcome, add_tiny, apply_sizes  # noqa: E402

ONSETS: tuple[str, ...] = (
    "",
    "b",
    "c",
    "ch",
    "d",
    "đ",
    "g",
    "h",
    "kh",
    "l",
    "m",
    "n",
    "ng",
    "nh",
    "ph",
    "qu",
)
ONSETS += ("s", "t", "th", "tr", "v", "x")
RHYMES: tuple[str, ...] = (
    "a",
    "ai",
    "an",
    "ang",
    "anh",
    "ao",
    "at",
    "ây",
    "ân",
    "em",
    "ên",
    "i",
    "im",
    "in",
)
RHYMES += ("inh", "o", "oa", "oan", "ong", "ô", "ôi", "ông", "ơ", "ơn", "u", "uy", "ư", "ương")
TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")


def vocabulary() -> list[str]:
    """About 14,000 syllables: every onset x rhyme x tone (the tone on the rhyme's first vowel)."""
    import unicodedata

    out = []
    for onset in ONSETS:
        for rhyme in RHYMES:
            for tone in TONES:
                out.append(unicodedata.normalize("NFC", onset + rhyme[0] + tone + rhyme[1:]))
    return out


def keywords(n: int, vocab: list[str], rnd: random.Random) -> list[str]:
    """``n`` distinct keys (match keys, as stored), 1-4 syllables, a third with a number."""
    from feeds.text import match_key

    seen: set[str] = set()
    while len(seen) < n:
        words = [rnd.choice(vocab) for _ in range(rnd.choice((1, 2, 2, 3, 3, 4)))]
        if rnd.random() < 0.3:
            words.append(str(rnd.randint(1, 2030)))
        seen.add(match_key(" ".join(words)))
    return list(seen)


class MemoryRows:
    """``keyword_rows_after`` over a list, as the store pages through its primary key."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys  # the row of id i is (i, keys[i - 1])

    async def keyword_rows_after(self, after_id: int, limit: int) -> list[tuple[int, str]]:
        await asyncio.sleep(0)  # a query: the loop runs meanwhile
        page = self.keys[after_id : after_id + limit]
        return [(after_id + i + 1, k) for i, k in enumerate(page)]


class Ticker:
    """How late the event loop is: the worst delay of a 5 ms sleep."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, time.perf_counter() - started - 0.005)

    def __enter__(self) -> Ticker:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def rss_mb() -> float:
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20
    except OSError:  # not Linux: no memory figure
        return 0.0


def article(vocab: list[str], planted: list[str], rnd: random.Random, size: int) -> str:
    body = [rnd.choice(vocab) for _ in range(size)]
    for key in planted:
        at = rnd.randrange(len(body))
        body[at:at] = [". ", key.upper(), ","]  # another case and punctuation: still a match
    return " ".join(body)


async def run(args: argparse.Namespace, out: Outcome) -> None:
    from bot.polling.keywords import FollowedKeywords, Tags, tag
    from feeds.models import Source
    from feeds.topics import TopicIndex

    rnd = random.Random(21)
    vocab = vocabulary()
    n = args.chats * args.per_chat
    before = rss_mb()  # the keys' strings count: the index holds them, as it does the rows'
    keys = keywords(n + args.added, vocab, rnd)
    store = MemoryRows(keys[:n])  # a copy of the list (8 bytes a key), not of the strings
    # The bot holds no list of every key (it reads pages of rows); the collector would walk
    # these two at each full collection, a lag that is the bench's, not the index's.
    gc.collect()
    gc.freeze()
    followed = FollowedKeywords(store, clock=lambda: datetime.now(UTC))
    with Ticker() as build_lag:
        started, cpu = time.perf_counter(), time.process_time()
        index = await followed.index()
        build, build_cpu = time.perf_counter() - started, time.process_time() - cpu
    grown = rss_mb() - before
    out.check(len(index) == n, f"index holds {len(index)} keys, not {n}")
    store.keys = keys  # the follows added since
    started = time.perf_counter()
    index = await followed.index()
    update = time.perf_counter() - started
    out.check(len(index) == n + args.added, f"after the update: {len(index)} keys")
    times: list[float] = []
    source = Source(id="s", name="S", kind="rss", url="http://127.0.0.1/")
    topics = TopicIndex(())

    def timed(text: str) -> Tags:
        # CPU time of this thread: what matching costs, whatever else the machine runs
        started = time.thread_time()
        tagged = tag("Tin", text, source, topics, index)
        times.append(time.thread_time() - started)
        return tagged

    with Ticker() as match_lag:  # as the poller runs it: in a thread
        for i in range(args.articles):
            planted = rnd.sample(keys, 3) + ([keys[n + i % args.added]] if args.added else [])
            text = article(vocab, planted, rnd, 600)
            found = set((await asyncio.to_thread(timed, text)).keywords)
            missing = set(planted) - found
            out.check(not missing, f"article {i}: planted keywords not found: {missing}")
        long_text = article(vocab, rnd.sample(keys, 3), rnd, 20_000)[:100_000]
        await asyncio.to_thread(timed, long_text)
        long_ms = times.pop() * 1000
    times.sort()
    ms = [t * 1000 for t in times]
    out.figure(
        f"keywords: {args.per_chat} x {args.chats} chats = {n} keys; "
        f"build {build:.1f}s ({build_cpu:.1f} CPU-s, {n / build_cpu / 1000:.0f}k keys/CPU-s) "
        f"build_max_lag={build_lag.worst * 1000:.0f}ms "
        f"RSS={grown:+.0f}MB; update +{args.added} in {update * 1000:.1f}ms"
    )
    out.figure(
        f"match ({args.articles} articles of ~600 syllables): p50={statistics.median(ms):.2f}ms "
        f"p95={ms[int(len(ms) * 0.95) - 1]:.2f}ms max={ms[-1]:.2f}ms; "
        f"100000-char article {long_ms:.1f}ms; match_max_lag={match_lag.worst * 1000:.0f}ms"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chats", type=int)
    ap.add_argument("--per-chat", type=int, default=50)
    ap.add_argument("--articles", type=int)
    ap.add_argument("--added", type=int, default=1000, help="follows added after the build")
    add_tiny(ap, "200 chats, 20 articles")
    args = ap.parse_args()
    apply_sizes(args, {"chats": (50_000, 200), "articles": (200, 20)})
    out = Outcome("bench/keywords.py")
    asyncio.run(run(args, out))
    return out.finish()


if __name__ == "__main__":
    sys.exit(main())
