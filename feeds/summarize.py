"""Extractive summary of a Vietnamese article: a few of its own sentences, in order. Pure.

Why it works. A good news summary, and the VietNews reference, is the article's lead
paragraph: one or two sentences restating the headline's event. The body's first sentence
is often not that sentence (it is the single best one in only 21% of the sample's articles;
the first three together in 48%), so each of the first 15 sentences of the story (captions,
credits, bylines, crossheads and related-article lists removed first) is scored on what lead
sentences have: overlap with the title (the share of the title's content syllables and
syllable pairs it repeats; the strongest signal), centrality (how many of its content
syllables recur in the other opening sentences, so the main event beats a side detail or a
quote) and a position prior (1/(i+1), with the second and third sentence nearly level with
the first); very short and number-heavy sentences lose a little. The best sentence is taken,
then the next best while the summary is under a quarter of ``max_chars`` (100 characters of
the default 400), skipping one that mostly repeats what is chosen, and they are put back in
article order. Stopping near the length of a real lead (about 160 characters) rather than
filling the budget matters as much as choosing well: ROUGE F1 punishes padding, which is why
Lead-3 scores below Lead-2. The weights are a least-squares fit of per-sentence ROUGE on one
half of the sample, rounded and checked on the other half. The first sentence keeps more
weight than the fit asks (-0.10, not -0.20) so that a body that still opens with the
portal's own lead paragraph gets that paragraph back (R1 81 instead of 67 with the reference
put in front of the body) at a cost of 0.4 R1 / 0.2 R2 on the sample. No model, no
dependency, about 1 ms per article.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from feeds.text import fold_key, match_key, normalize, split_paragraphs, split_sentences

__all__ = ["summarize"]

ELLIPSIS = "…"

# -- what is not article text -----------------------------------------------------------------

# The heading of a related-articles list: it and everything after it go.
_RELATED_HEAD = re.compile(
    r"(?:cac )?(?:bai viet|bai|tin|tin bai) (?:lien quan|khac|cung chuyen muc)"
    r"|xem them|doc them|co the ban quan tam|cac tin khac|tin moi hon|tin cu hon"
)
# "Xem thêm: <title>", one related link inside the text: only that line goes.
_RELATED_LINK = re.compile(r"(?:xem them|doc them|tin lien quan|bai lien quan)\s*:")
# Captions and credits: "Ảnh: TTXVN", "(Ảnh: Nguyễn Hà)", "Ảnh minh hoạ", "Video: ...".
# On match keys: accents count, so "Anh Nguyễn Văn A cho biết" is no caption.
_CAPTION = re.compile(
    r"[(\[]?\s*(?:(?:ảnh|nguồn|nguồn ảnh|video|clip|đồ hoạ|infographic|photo)\s*:"
    r"|ảnh minh hoạ|ảnh chụp)"
)
_CREDIT_END = re.compile(r"[(\[]?\s*(?:ảnh|video|đồ hoạ)\s*:[^.!?]{0,60}[)\]]?\s*$")
_SOURCE = re.compile(r"[(\[]?\s*(?:theo|nguồn)\b")
# "(Chinhphu.vn) - ", "HÀ NỘI – ", "VOV.VN - ": a dateline before the first sentence. A lone
# capitalised word ("WHO - Tổ chức Y tế Thế giới ...") is more often the subject than a dateline.
_DATELINE = re.compile(r"(\([^()]{1,40}\)|[^\s()][^()]{0,29}?)\s+[-–—]\s+")
_CLOSERS = "\"”’'»)]"
# A byline or sign-off is short: "PV", "Nguyễn Văn A", "Minh Anh (tổng hợp)", "Theo TTXVN".
_BYLINE_WORDS = 6
_HEADING_WORDS = 12

# -- scoring ----------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
# Function words carry no topic; overlap on them says nothing about a sentence.
_STOP = frozenset(
    (
        "và",
        "của",
        "là",
        "có",
        "được",
        "cho",
        "các",
        "những",
        "một",
        "trong",
        "với",
        "này",
        "đã",
        "đến",
        "không",
        "về",
        "người",
        "để",
        "từ",
        "thì",
        "khi",
        "theo",
        "tại",
        "như",
        "cũng",
        "nhiều",
        "ra",
        "vào",
        "sẽ",
        "lại",
        "đó",
        "nên",
        "nhưng",
        "vì",
        "do",
        "bị",
        "trên",
        "năm",
        "ông",
        "bà",
        "anh",
        "chị",
        "ngày",
        "đang",
        "rất",
        "còn",
        "mà",
        "thể",
        "hơn",
        "nhất",
        "sau",
        "trước",
        "qua",
        "nay",
        "nói",
        "biết",
        "tháng",
        "giờ",
    )
)
_CANDIDATES = 15
# Per-feature weights (see the module docstring for where they come from).
_W_POS = 0.30
_W_FIRST = -0.10
_W_SECOND = -0.06
_W_LEN = 0.05
_W_TITLE = 0.29
_W_TITLE_BIGRAM = 0.25
_W_CENTRAL = 0.47
_W_DIGITS = -0.04
_TARGET = 0.25  # stop adding sentences once the summary fills this share of max_chars
_REDUNDANT = 0.6


def summarize(text: str, *, title: str | None = None, max_chars: int = 400) -> str:
    """Extractive summary of ``text``: whole sentences in article order, at most ``max_chars``.

    Captions, photo credits, bylines and related-article lists are skipped. When the best
    sentence alone is longer than ``max_chars`` it is cut on a word boundary and ends with
    "…". An empty body gives "".
    """
    sentences = _content_sentences(text)
    if not sentences or max_chars <= 0:
        return ""
    if len(sentences) == 1:
        return _fit(sentences[0], max_chars)
    pool = sentences[:_CANDIDATES]
    scores = _scores(pool, title or "")
    return _select(pool, scores, max_chars)


def _content_sentences(text: str) -> list[str]:
    """The sentences of the story: captions, credits, bylines, headings and lists removed."""
    kept: list[str] = []
    for para in split_paragraphs(text):
        key = match_key(para[:60])
        folded = fold_key(key)
        if _RELATED_HEAD.fullmatch(folded.strip(" .:>»-–—")):
            break
        if (
            _RELATED_LINK.match(folded)
            or _CAPTION.match(key)
            or _CREDIT_END.search(match_key(para[-80:]))
        ):
            continue
        kept.append(para)
    while len(kept) > 1 and _is_byline(kept[-1]):
        kept.pop()
    if kept:
        dateline = _DATELINE.match(kept[0])
        if dateline and _is_dateline(dateline.group(1)) and dateline.end() < len(kept[0]):
            kept[0] = kept[0][dateline.end() :]
    # Crossheads ("Khởi tố vụ án") are not sentences of the story, unless nothing else is.
    prose = [p for p in kept if not _is_heading(p)] or kept
    out: list[str] = []
    for para in prose:
        out.extend(split_sentences(para))
    return out


def _is_dateline(prefix: str) -> bool:
    if prefix.startswith("("):
        return True
    return (
        prefix.upper() == prefix
        and any(c.isalpha() for c in prefix)
        and any(c in " ." for c in prefix)
    )


def _is_byline(para: str) -> bool:
    words = _WORD.findall(para)
    if len(words) > _BYLINE_WORDS:
        return False
    if _SOURCE.match(match_key(para[:20])) or not _ends_sentence(para):
        return True
    # "Nguyễn Văn A.", "PV.": a name signed with a full stop.
    return all(w[0].isupper() for w in words)


def _is_heading(para: str) -> bool:
    return not _ends_sentence(para) and len(_WORD.findall(para)) <= _HEADING_WORDS


def _ends_sentence(para: str) -> bool:
    return para.rstrip(_CLOSERS)[-1:] in (".", "!", "?", "…")


def _bigrams(tokens: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(tokens, tokens[1:], strict=False))


def _scores(sentences: Sequence[str], title: str) -> list[float]:
    toks = [_WORD.findall(s.lower()) for s in sentences]
    content = [set(t) - _STOP for t in toks]
    title_toks = _WORD.findall(normalize(title).lower())
    title_set = set(title_toks) - _STOP
    title_bigrams = _bigrams(title_toks)
    df = Counter(w for c in content for w in c)
    others = max(len(sentences) - 1, 1)
    out: list[float] = []
    for i, (t, c) in enumerate(zip(toks, content, strict=True)):
        n = len(t) or 1
        central = sum(df[w] - 1 for w in c) / (len(c) or 1) / others
        title_hit = len(c & title_set) / len(title_set) if title_set else 0.0
        bigram_hit = len(_bigrams(t) & title_bigrams) / len(title_bigrams) if title_bigrams else 0.0
        digits = sum(1 for w in t if w.isdigit()) / n
        out.append(
            _W_POS / (i + 1)
            + _W_FIRST * (i == 0)
            + _W_SECOND * (i == 1)
            + _W_LEN * math.log(n + 1)
            + _W_TITLE * title_hit
            + _W_TITLE_BIGRAM * bigram_hit
            + _W_CENTRAL * central
            + _W_DIGITS * digits
        )
    return out


def _select(sentences: Sequence[str], scores: Sequence[float], max_chars: int) -> str:
    order = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    best = order[0]
    if len(sentences[best]) > max_chars:
        # Cutting the best sentence beats a weaker one that fits (measured on the bench).
        return _fit(sentences[best], max_chars)
    chosen = [best]
    seen = set(_WORD.findall(sentences[best].lower()))
    size = len(sentences[best])
    target = _TARGET * max_chars
    for i in order[1:]:
        if size >= target:
            break
        s = sentences[i]
        if size + 1 + len(s) > max_chars:
            continue
        w = set(_WORD.findall(s.lower()))
        if len(w & seen) > _REDUNDANT * len(w):
            continue
        chosen.append(i)
        seen |= w
        size += 1 + len(s)
    return " ".join(sentences[i] for i in sorted(chosen))


def _fit(sentence: str, max_chars: int) -> str:
    """``sentence`` if it fits, else its longest word-boundary prefix that fits with "…".

    "" when even the first word does not fit: never a cut inside a word.
    """
    if len(sentence) <= max_chars:
        return sentence
    # A space at index k < max_chars ends a prefix of k characters, leaving room for "…".
    space = sentence.rfind(" ", 0, max_chars)
    cut = sentence[:space].rstrip(" ,;:-–—(“\"'") if space > 0 else ""
    return cut + ELLIPSIS if cut else ""
