"""Summariser quality and speed on the shared VietNews sample, against lead baselines.

Usage: ``.venv/bin/python bench/summarize.py [--limit N] [--max-chars N]``. Prints ROUGE-1/2/L
F1 x 100 for Lead-2, Lead-3 and ``feeds.summarize``, and our milliseconds per article.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
    args = parser.parse_args(argv)
    path = sample_path()
    if not path.is_file():
        print(f"sample not found: {path} (set BANTIN_SAMPLES_DIR or put shared/ beside the repo)")
        return 2
    docs = list(load(path, args.limit))
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
        ours.append(rouge(summary, doc.reference))
    lead = ", lead paragraph in the body" if args.lead_in_body else ""
    print(f"{len(docs)} documents, max_chars={args.max_chars}{lead}")
    print(_line("Lead-2", mean(lead2)))
    print(_line("Lead-3", mean(lead3)))
    print(_line("ours", mean(ours), f"  {1000 * elapsed / max(len(docs), 1):.2f} ms/article"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
