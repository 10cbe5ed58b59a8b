"""Benchmark: archive search and /latest on 100,000 articles.

Fills a fresh database with synthetic Vietnamese articles (a vocabulary written for this
bench, Zipf-distributed so some words are everywhere and some are rare), then times 200
varied queries (1-3 words, with and without accents, common and rare, some matching
nothing) through ``Store.search`` and 200 ``Store.latest`` calls. Prints p50/p95.

No figure is printed (errors on stderr, exit status 1) when the articles are not all stored,
when no query finds anything, when a query with a word in no article finds something, or
when ``/latest`` comes back empty.

Usage: .venv/bin/python bench/search.py [--articles 100000] [--pg URL] [--tiny]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.outcome import Outcome, add_tiny, apply_sizes  # noqa: E402

PHRASES = (
    "Đảng ủy Khối",
    "chi bộ",
    "đảng viên",
    "công tác dân vận",
    "tuyên giáo",
    "xây dựng Đảng",
    "kiểm tra, giám sát",
    "kỷ luật đảng",
    "nghị quyết",
    "hội nghị",
    "tổng kết",
    "sơ kết",
    "chuyển đổi số",
    "cải cách hành chính",
    "phòng, chống tham nhũng",
    "học tập và làm theo",
    "tư tưởng Hồ Chí Minh",
    "cơ sở",
    "nhiệm kỳ",
    "đại hội",
    "báo cáo viên",
    "thanh niên",
    "công đoàn",
    "phụ nữ",
    "cựu chiến binh",
    "an sinh xã hội",
    "biển đảo",
    "quốc phòng",
    "kinh tế",
    "văn hóa",
    "giáo dục",
    "y tế",
    "khoa học",
    "công nghệ",
    "môi trường",
    "nông thôn mới",
    "Hà Nội",
    "TP. Hồ Chí Minh",
    "Đà Nẵng",
    "Cần Thơ",
    "Hải Phòng",
    "Huế",
    "Quảng Ninh",
    "lãnh đạo",
    "chỉ đạo",
    "triển khai",
    "quán triệt",
    "đánh giá",
    "khen thưởng",
    "thi đua",
    "bồi dưỡng",
    "lý luận chính trị",
    "tổ chức",
    "cán bộ",
    "quy hoạch",
    "luân chuyển",
    "bầu cử",
    "an toàn thông tin",
    "mạng xã hội",
    "dư luận",
    "đấu tranh",
    "quan điểm sai trái",
    "bảo vệ nền tảng",
)
FILLER = [
    "năm",
    "nay",
    "các",
    "đơn",
    "vị",
    "đã",
    "thực",
    "hiện",
    "tốt",
    "nhiệm",
    "vụ",
    "được",
    "giao",
    "và",
    "đạt",
    "nhiều",
    "kết",
    "quả",
    "quan",
    "trọng",
]


def make_article(rng: random.Random, i: int, now: datetime):  # type: ignore[no-untyped-def]
    from storage.records import NewArticle

    def pick() -> str:
        return (
            PHRASES[min(int(rng.paretovariate(1.2)) - 1, len(PHRASES) - 1)]
            if rng.random() < 0.6
            else rng.choice(PHRASES)
        )

    title = f"{pick().capitalize()} {pick()}: {pick()} {rng.randint(1, 999)}"
    sentences = []
    for _ in range(rng.randint(4, 9)):
        words = [
            pick() if rng.random() < 0.3 else rng.choice(FILLER) for _ in range(rng.randint(10, 22))
        ]
        sentences.append(" ".join(words).capitalize() + ".")
    return NewArticle(
        source_id="bench",
        key=f"bench:{i}",
        url=f"https://portal.example/bai-{i}-duk{i}.aspx",
        title=title,
        published_at=now - timedelta(minutes=i * 7),
        body=" ".join(sentences),
        summary=sentences[0],
        topics=(rng.choice(("dan-van", "tuyen-giao", "xay-dung-dang", "kiem-tra")),),
    )


def queries(rng: random.Random, n: int) -> list[str]:
    from feeds.text import fold_key

    out = []
    for _ in range(n):
        k = rng.choice((1, 1, 2, 2, 3))
        words = " ".join(rng.choice(PHRASES) for _ in range(k))
        kind = rng.random()
        if kind < 0.4:
            words = fold_key(words)  # typed without accents
        elif kind < 0.5:
            words += " xyzzy"  # matches nothing
        elif kind < 0.6:
            words = str(rng.randint(1, 999)) + " " + words.split()[0]  # a number from a title
        out.append(words)
    return out


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else values[0]


async def run(url: str, n_articles: int, out: Outcome) -> None:
    from storage.store import open_store

    store = await open_store(url)
    from feeds.models import Source

    now = datetime(2026, 11, 26, tzinfo=UTC)
    await store.sync_sources([Source("bench", "Bench", "rss", "https://portal.example/rss")], now)
    rng = random.Random(20261126)
    t0 = time.perf_counter()
    batch = 2000
    for start in range(0, n_articles, batch):
        arts = [make_article(rng, i, now) for i in range(start, min(start + batch, n_articles))]
        await store.save_articles(arts, now, seeded=True)
    fill = time.perf_counter() - t0

    qs = queries(random.Random(7), 200)
    for q in qs[:10]:  # warm caches
        await store.search(q)
    times, hits = [], []
    for q in qs:
        t = time.perf_counter()
        found = await store.search(q, 10)
        times.append((time.perf_counter() - t) * 1000)
        hits.append(len(found))
    latest, empty = [], 0
    topics = (None, "dan-van", "kiem-tra")
    for i in range(200):
        t = time.perf_counter()
        got = await store.latest(topics[i % 3], 5 + i % 16)
        latest.append((time.perf_counter() - t) * 1000)
        empty += topics[i % 3] is None and not got
    backend = store.dialect
    stored = await store.article_count()
    await store.close()
    out.check(stored == n_articles, f"{backend}: {stored} of {n_articles} articles stored")
    out.check(any(hits), f"{backend}: none of the {len(qs)} queries found anything")
    from storage.search import search_words

    # (a query keeps its first MAX_SEARCH_WORDS words: a late "xyzzy" is not searched for)
    wrong = [q for q, h in zip(qs, hits, strict=True) if h and "xyzzy" in search_words(q)]
    out.check(
        not wrong, f"{backend}: queries with a word in no article found articles: {wrong[:3]}"
    )
    out.check(not empty, f"{backend}: /latest without a topic came back empty {empty} times")
    out.figure(
        f"{backend}: articles={n_articles} fill={fill:.1f}s search p50={pct(times, 50):.1f}ms "
        f"p95={pct(times, 95):.1f}ms max={max(times):.1f}ms "
        f"(queries with hits: {sum(1 for h in hits if h)}/200) "
        f"latest p50={pct(latest, 50):.1f}ms p95={pct(latest, 95):.1f}ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=None, help="default 100000 (--tiny: 500)")
    parser.add_argument(
        "--pg", help="also run on this PostgreSQL URL (a scratch database: tables are created)"
    )
    add_tiny(parser, "500 articles")
    args = parser.parse_args()
    apply_sizes(args, {"articles": (100_000, 500)})
    out = Outcome("bench/search.py")
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(f"sqlite+aiosqlite:///{tmp}/search.sqlite3", args.articles, out))
    if args.pg:
        asyncio.run(run(args.pg, args.articles, out))
    return out.finish()


if __name__ == "__main__":
    sys.exit(main())
