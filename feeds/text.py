"""Vietnamese text normalisation, match keys and sentence splitting.

(Interim version; see the summaries issue for the full splitter.)
"""

from __future__ import annotations

import re
import unicodedata

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\s*\n\s*\n\s*")


def normalize(s: str) -> str:
    """NFC, zero-width characters removed, all whitespace collapsed to single spaces."""
    s = unicodedata.normalize("NFC", _ZERO_WIDTH.sub("", s))
    return " ".join(s.split())


def normalize_block(s: str) -> str:
    """Like :func:`normalize` but keeps paragraph breaks as blank lines."""
    s = unicodedata.normalize("NFC", _ZERO_WIDTH.sub("", s))
    paras = [" ".join(p.split()) for p in _BLANK_LINES.split(s.replace("\r", ""))]
    return "\n\n".join(p for p in paras if p)


def match_key(s: str) -> str:
    """Case-folded normalised text for comparisons."""
    return normalize(s).lower()


def fold_key(s: str) -> str:
    """Diacritic-free match key (``đ`` -> ``d``)."""
    s = unicodedata.normalize("NFD", match_key(s).replace("đ", "d"))
    return unicodedata.normalize("NFC", "".join(c for c in s if not unicodedata.combining(c)))


def split_sentences(text: str) -> list[str]:
    """Split into sentences, paragraphs first."""
    out: list[str] = []
    for para in normalize_block(text).split("\n\n"):
        out.extend(p for p in re.split(r"(?<=[.!?…])\s+(?=[A-ZÀ-Ỹ“\"])", para) if p)
    return out
