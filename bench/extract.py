"""Article extraction on the shared development set: our extractor against trafilatura alone.

Usage: ``.venv/bin/python bench/extract.py [--limit N] [--worst N] [--only ours|trafilatura]``.
Score per page = share of its ``with`` snippets found in the main text plus its ``without``
snippets absent, over all its snippets; averaged over pages. Also median ms/page, CPU time
(steady on a shared machine) and wall time, the extractors interleaved page by page. The pages
are third-party (``shared/research-samples/extraction-dev``), read in place, never copied.
First line: our own golden Vietnamese pages (tests/data), which our rules were written
against, so a check of the rules rather than a fair contest.

Exit status 3 (no figure) when the set is absent; 1 (no figure, errors on stderr) when an
extractor raised on a page, trafilatura is missing, or there is no page or golden page.
``--tiny``: the first 5 pages.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.outcome import Outcome, add_tiny, no_samples  # noqa: E402
from feeds.charset import decode_html  # noqa: E402
from feeds.errors import ParseError  # noqa: E402
from feeds.extract import extract_article  # noqa: E402

SET_NAME = "extraction-dev"
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Page:
    """One page of the set: its HTML and the snippets its main text must (not) contain."""

    name: str
    url: str
    html: str
    with_: tuple[str, ...]
    without: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    name: str
    score: float
    ms: float  # CPU time of this process: stable when other jobs share the cores
    wall_ms: float
    error: str = ""


def set_path() -> Path:
    """``$BANTIN_SAMPLES_DIR/extraction-dev`` if set, else ``../shared/research-samples/...``."""
    root = os.environ.get("BANTIN_SAMPLES_DIR")
    if root:
        return Path(root) / SET_NAME
    return Path(__file__).resolve().parents[2] / "shared" / "research-samples" / SET_NAME


def load(path: Path, limit: int | None = None) -> Iterator[Page]:
    spec = json.loads((path / "expected.json").read_text(encoding="utf-8"))
    for i, (name, entry) in enumerate(sorted(spec.items())):
        if limit is not None and i >= limit:
            break
        raw = gzip.decompress((path / "pages" / f"{name}.gz").read_bytes())
        yield Page(
            name,
            entry["url"],
            decode_html(raw, None),
            tuple(entry["with"]),
            tuple(entry["without"]),
        )


def _norm(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def score(text: str, page: Page) -> float:
    """Share of the page's snippets handled right (``with`` present, ``without`` absent)."""
    text = _norm(text)
    good = sum(_norm(s) in text for s in page.with_)
    good += sum(_norm(s) not in text for s in page.without)
    return good / max(len(page.with_) + len(page.without), 1)


def ours(page: Page) -> str:
    try:
        return extract_article(page.html, url=page.url).body
    except ParseError:
        return ""


def trafilatura_alone(page: Page) -> str:
    import trafilatura

    return trafilatura.extract(page.html, url=page.url) or ""


def _timed(extractor: Callable[[Page], str], page: Page) -> Result:
    started, wall = time.process_time(), time.perf_counter()
    error = ""
    try:
        text = extractor(page)
    except Exception as exc:  # the bench reports it; the target is that none happens
        text, error = "", f"{type(exc).__name__}: {exc}"
    cpu, wall = time.process_time() - started, time.perf_counter() - wall
    return Result(page.name, score(text, page), 1000 * cpu, 1000 * wall, error)


def run(extractors: dict[str, Callable[[Page], str]], pages: list[Page]) -> dict[str, list[Result]]:
    """Every extractor on every page, interleaved page by page so that a busy machine slows
    them alike."""
    out: dict[str, list[Result]] = {name: [] for name in extractors}
    for page in pages:
        for name, extractor in extractors.items():
            out[name].append(_timed(extractor, page))
    return out


def _line(name: str, results: list[Result]) -> str:
    mean = statistics.fmean(r.score for r in results)
    median = statistics.median(r.ms for r in results)
    wall = statistics.median(r.wall_ms for r in results)
    raised = sum(1 for r in results if r.error)
    return (
        f"{name:<12} score {mean:.4f}  median {median:6.2f} ms/page CPU ({wall:6.2f} wall)"
        f"  raised {raised}"
    )


GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "data"


def golden(out: Outcome) -> str:
    """Our golden Vietnamese pages (tests/data): bodies right (start, must/must-not snippets)
    and dates right (local day), ours against trafilatura alone."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    cases = []
    for spec_path in sorted(GOLDEN.glob("*.expected.json")):
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        if spec["kind"] != "article" or "raises" in spec:
            continue
        page = spec_path.with_name(spec_path.name.replace(".expected.json", ".html"))
        cases.append((spec, decode_html(page.read_bytes(), spec.get("content_type"))))

    def body_ok(body: str, spec: dict[str, object]) -> bool:
        must = spec.get("must_contain", [])
        must_not = spec.get("must_not_contain", [])
        assert isinstance(must, list) and isinstance(must_not, list)
        return (
            body.startswith(str(spec.get("generic_body_startswith", spec["body_startswith"])))
            and all(m in body for m in must)
            and not any(m in body for m in must_not)
        )

    def day(spec: dict[str, object]) -> str:
        value = spec.get("published_at")
        return datetime.fromisoformat(str(value)).astimezone(tz).date().isoformat() if value else ""

    import trafilatura

    ours_body = ours_date = their_body = their_date = 0
    for spec, html in cases:
        now = datetime.fromisoformat(spec["now"]) if "now" in spec else None
        mine = extract_article(html, url=spec["url"], now=now)
        ours_body += body_ok(mine.body, spec)
        when = mine.published_at.astimezone(tz).date().isoformat() if mine.published_at else ""
        ours_date += when == day(spec)
        doc = trafilatura.bare_extraction(html, url=spec["url"], with_metadata=True)
        their_body += body_ok(trafilatura.extract(html, url=spec["url"]) or "", spec)
        their_date += (getattr(doc, "date", None) or "") == day(spec)
    n = len(cases)
    out.check(n > 0, f"no golden article page in {GOLDEN}")
    return (
        f"golden Vietnamese pages ({n}): bodies right ours {ours_body}/{n}, trafilatura "
        f"{their_body}/{n}; dates right ours {ours_date}/{n}, trafilatura {their_date}/{n}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    parser.add_argument("--worst", type=int, default=0, help="list our N worst pages")
    parser.add_argument("--only", choices=("ours", "trafilatura"), default=None)
    add_tiny(parser, "the first 5 pages")
    args = parser.parse_args(argv)
    if args.tiny and args.limit is None:
        args.limit = 5
    path = set_path()
    if not (path / "expected.json").is_file():
        return no_samples("bench/extract.py", "the extraction development set", path)
    out = Outcome("bench/extract.py")
    try:
        import trafilatura  # noqa: F401
    except ImportError as exc:  # a dependency of the bot: its absence is a broken install
        out.error(f"trafilatura cannot be imported ({exc})")
        return out.finish()
    out.figure(golden(out))
    pages = list(load(path, args.limit))
    out.check(bool(pages), f"no page in {path}")
    out.figure(f"{len(pages)} pages from {path}")
    extractors: dict[str, Callable[[Page], str]] = {}
    if args.only in (None, "ours"):
        extractors["ours"] = ours
    if args.only in (None, "trafilatura"):
        extractors["trafilatura"] = trafilatura_alone
    runs = run(extractors, pages)
    for name, results in runs.items():
        if results:
            out.figure(_line(name, results))
        for r in results:
            if r.error:
                out.error(f"{name} raised on {r.name}: {r.error}")
    if args.worst and "ours" in runs:
        other = {r.name: r.score for r in runs.get("trafilatura", [])}
        for r in sorted(runs["ours"], key=lambda r: r.score - other.get(r.name, 0))[: args.worst]:
            theirs = other.get(r.name, float("nan"))
            out.figure(f"  {r.score:.2f} (trafilatura {theirs:.2f}) {r.name}")
    return out.finish()


if __name__ == "__main__":
    sys.exit(main())
