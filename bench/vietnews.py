"""The shared VietNews evaluation sample: where it lives and how a document becomes input.

Third-party text, read at run time from ``shared/research-samples`` beside the repository
(or ``$BANTIN_SAMPLES_DIR``); nothing of it is copied into the project.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SAMPLE_NAME = "vietnews_test_sample2000.jsonl"


@dataclass(frozen=True)
class Doc:
    """One article: the summariser's input (title, body) and the reference summary."""

    id: str
    title: str
    body: str
    reference: str
    sentences: tuple[str, ...]


def sample_path() -> Path:
    """``$BANTIN_SAMPLES_DIR/<sample>`` if set, else ``../shared/research-samples/<sample>``."""
    env = os.environ.get("BANTIN_SAMPLES_DIR")
    base = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "research-samples"
    return base / SAMPLE_NAME


def load(path: Path, limit: int | None = None) -> Iterator[Doc]:
    """The first ``limit`` documents (all when None) of the JSON-lines sample.

    The body is the dataset's sentence lines as paragraphs (blank line between them); the
    reference is the article's lead paragraph, which the dataset keeps apart from the body.
    """
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if limit is not None and i >= limit:
                break
            row = json.loads(line)
            sentences = tuple(row["body_sentences"])
            yield Doc(
                id=row["id"],
                title=row["title"],
                body="\n\n".join(sentences),
                reference=row["summary"],
                sentences=sentences,
            )
