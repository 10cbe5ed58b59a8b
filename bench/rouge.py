"""ROUGE-1/2/L F1 on Vietnamese words (``\\w+`` after NFC and lower-casing).

rouge-score's default tokenizer keeps only ASCII letters and numbers, which throws away most
Vietnamese syllables; this is the small, exact replacement the bench and the tests share.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Rouge:
    """F1 scores in [0, 1]."""

    r1: float
    r2: float
    rl: float


def tokens(s: str) -> list[str]:
    """The words ROUGE compares: ``\\w+`` runs of the NFC, lower-cased text."""
    return _WORD.findall(unicodedata.normalize("NFC", s).lower())


def _f1(candidate_total: int, reference_total: int, overlap: int) -> float:
    if not candidate_total or not reference_total or not overlap:
        return 0.0
    precision, recall = overlap / candidate_total, overlap / reference_total
    return 2 * precision * recall / (precision + recall)


def _ngrams(words: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def _rouge_n(cand: Sequence[str], ref: Sequence[str], n: int) -> float:
    c, r = _ngrams(cand, n), _ngrams(ref, n)
    return _f1(sum(c.values()), sum(r.values()), sum((c & r).values()))


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge(candidate: str, reference: str) -> Rouge:
    """ROUGE-1, ROUGE-2 and ROUGE-L (longest common subsequence, not summary-level) F1."""
    cand, ref = tokens(candidate), tokens(reference)
    return Rouge(
        _rouge_n(cand, ref, 1), _rouge_n(cand, ref, 2), _f1(len(cand), len(ref), _lcs(cand, ref))
    )


def mean(scores: Sequence[Rouge]) -> Rouge:
    """Average of per-document scores (the usual macro average)."""
    n = len(scores) or 1
    return Rouge(
        sum(s.r1 for s in scores) / n, sum(s.r2 for s in scores) / n, sum(s.rl for s in scores) / n
    )
