"""Summariser quality and speed on the shared VietNews sample, against lead baselines.

Usage: ``.venv/bin/python bench/summarize.py [--limit N] [--max-chars N]``. Prints ROUGE-1/2/L
F1 x 100 for Lead-2, Lead-3 and ``feeds.summarize``, and our milliseconds per article.
Exit status 3 (no figure) when the sample is absent, 1 (no figure, errors on stderr) when it
holds no document or a summary comes out empty; ``--tiny``: the first 20 documents.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.outcome import Outcome, add_tiny, no_samples  # noqa: E402
from bench.rouge import Rouge, mean, rouge  # noqa: E402
from bench.vietnews import load, sample_path  # noqa: E402
from feeds.summarize import summarize  # noqa: E402


def _line(name: str, score: Rouge, extra: str = "") -> str:
    return (
        f"{name:<8} R1 {100 * score.r1:5.2f}  R2 {100 * score.r2:5.2f}"
        f"  RL {100 * score.rl:5.2f}{extra}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N documents")
    parser.add_argument("--max-chars", type=int, default=400, help="summary budget (default 400)")
    parser.add_argument(
        "--lead-in-body",
        action="store_true",
        help="put the reference in front of the body, as a portal page"
        " that keeps its lead paragraph",
    )
    add_tiny(parser, "the first 20 documents")
    args = parser.parse_args(argv)
    if args.tiny and args.limit is None:
        args.limit = 20
    path = sample_path()
    if not path.is_file():
        return no_samples("bench/summarize.py", "the VietNews sample", path)
    out = Outcome("bench/summarize.py")
    docs = list(load(path, args.limit))
    out.check(bool(docs), f"no document in {path}")
    empty: list[str] = []
    lead2, lead3, ours = [], [], []
    elapsed = 0.0
    for doc in docs:
        # The baselines take the dataset's own first lines, as the reference figures do.
        lead2.append(rouge(" ".join(doc.sentences[:2]), doc.reference))
        lead3.append(rouge(" ".join(doc.sentences[:3]), doc.reference))
        started = time.perf_counter()
        body = f"{doc.reference}\n\n{doc.body}" if args.lead_in_body else doc.body
        summary = summarize(body, title=doc.title, max_chars=args.max_chars)
        elapsed += time.perf_counter() - started
        if not summary.strip():
            empty.append(doc.id)
        ours.append(rouge(summary, doc.reference))
    out.check(not empty, f"{len(empty)} empty summaries (documents {', '.join(empty[:5])})")
    lead = ", lead paragraph in the body" if args.lead_in_body else ""
    if docs:
        out.figure(f"{len(docs)} documents, max_chars={args.max_chars}{lead}")
        out.figure(_line("Lead-2", mean(lead2)))
        out.figure(_line("Lead-3", mean(lead3)))
        ms = f"  {1000 * elapsed / len(docs):.2f} ms/article"
        out.figure(_line("ours", mean(ours), ms))
    return out.finish()


if __name__ == "__main__":
    sys.exit(main())
