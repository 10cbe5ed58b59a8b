"""Vietnamese text at the door: normalisation, match keys, words and sentence splitting.

Pure functions; every other module compares and cuts Vietnamese text through these.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "cap_text",
    "clean_body",
    "clean_title",
    "fold_key",
    "match_key",
    "normalize",
    "normalize_block",
    "split_paragraphs",
    "split_sentences",
    "words",
]

# Invisible characters that survive copy-paste from CMS editors and split words for search;
# control characters (NUL, ESC, BEL, C1...) a database, a terminal or a chat would choke on,
# but not the whitespace ones (tab, line breaks, \x1c-\x1f, NEL): those separate words;
# bidi overrides and isolates, which can reorder what a reader sees; lone surrogates and
# the two non-characters.
_INVISIBLE = re.compile(
    "[\u200b\u200c\u200d\u2060\ufeff\u00ad"
    "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
    "\u202a-\u202e\u2066-\u2069\ufff9-\ufffb\ud800-\udfff\ufffe\uffff]"
)
#: longest title kept (characters); longer ones are cut on a word with an ellipsis
MAX_TITLE_CHARS = 300
#: longest body kept before indexing (characters)
MAX_BODY_CHARS = 100_000
_WORD = re.compile(r"\w+")


def normalize(s: str) -> str:
    """NFC, invisible and control characters removed, every whitespace run one space."""
    # Invisible characters go first: one between a letter and its combining mark would
    # keep NFC from composing them.
    return " ".join(unicodedata.normalize("NFC", _INVISIBLE.sub("", s)).split())


def cap_text(s: str, limit: int, *, ellipsis: str = "…") -> str:
    """``s`` cut to at most ``limit`` characters on a word boundary, ``ellipsis`` appended.

    A text without a space in its last fifth is cut mid-word rather than losing most of it.
    """
    if len(s) <= limit:
        return s
    room = max(limit - len(ellipsis), 0)
    cut = s[: room + 1]
    space = cut.rfind(" ")
    cut = cut[:space] if space >= room * 4 // 5 else cut[:room]
    return cut.rstrip(" ,;:-–—") + ellipsis


def clean_title(s: str, limit: int = MAX_TITLE_CHARS) -> str:
    """A title at the door: :func:`normalize`, then at most ``limit`` characters."""
    return cap_text(normalize(s), limit)


def clean_body(s: str, limit: int = MAX_BODY_CHARS) -> str:
    """A body at the door: :func:`normalize_block`, then at most ``limit`` characters."""
    return cap_text(normalize_block(s), limit)


def normalize_block(s: str) -> str:
    """Like :func:`normalize`, but paragraphs survive, separated by ``"\\n\\n"``.

    Every line break ends a paragraph (a caption or a byline is usually its own line), except
    a hard wrap: a line that does not end a sentence, followed by one starting in lower case,
    continues the same paragraph.
    """
    return "\n\n".join(split_paragraphs(s))


def split_paragraphs(s: str) -> list[str]:
    """The normalised, non-empty paragraphs of ``s`` (see :func:`normalize_block`)."""
    paras: list[str] = []
    joinable = False
    for raw in unicodedata.normalize("NFC", _INVISIBLE.sub("", s)).splitlines():
        line = " ".join(raw.split())
        if not line:
            joinable = False
            continue
        if joinable and line[0].islower():
            paras[-1] += " " + line
        else:
            paras.append(line)
        joinable = line[-1] not in _LINE_END
    return paras


# A line ending with one of these is complete, so a lower-case next line starts a new one.
_LINE_END = frozenset('.!?…:;"”’»)]')


def words(s: str) -> list[str]:
    """The ``\\w+`` tokens of ``s`` (syllables and numbers), as they are spelt."""
    return _WORD.findall(s)


# -- match keys -----------------------------------------------------------------------------

# The old orthography puts the tone of the open rhymes oa, oe, uy on the first vowel (hòa,
# khỏe, thủy), the new one on the second (hoà, khoẻ, thuỷ); portals use both. Only those
# three rhymes are ambiguous: with a final consonant (hoàn, thuyền) or another vowel (hoài)
# both styles mark the same letter, and in quý the u belongs to the onset "qu". Keys use the
# new style.
_ONSET = frozenset(
    "bcdđghklmnprstvx"
)  # no q: "qu" + y is the rhyme y, marked on the y in both styles
# Scanning for the marked vowel first keeps the common case (nothing to move) cheap; the
# onset is checked only for the few hits.
_OLD_STYLE = re.compile(r"[òóỏõọùúủũụ][aey](?!\w)")
_TONES = "\u0300\u0301\u0309\u0303\u0323"  # grave, acute, hook above, tilde, dot below
# "ò" + "a" -> "o" + "à", "ù" + "y" -> "u" + "ỳ": the same tone moved to the second vowel.
_MOVE = {
    (unicodedata.normalize("NFC", first + tone), second): first
    + unicodedata.normalize("NFC", second + tone)
    for tone in _TONES
    for first, seconds in (("o", "ae"), ("u", "y"))
    for second in seconds
}


def _new_style(m: re.Match[str]) -> str:
    pair = m.group()
    moved = _MOVE.get((pair[0], pair[1]))
    if moved is None:
        return pair  # "ủa" in "của", "óe"... no oa/oe/uy
    text, start = m.string, m.start()
    while start > 0 and text[start - 1] in _ONSET:
        start -= 1
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        return pair  # more than an onset before it ("qúy"): no open oa/oe/uy syllable
    return moved


def match_key(s: str) -> str:
    """Key for comparisons: normalised, lower case, tone marks placed in the new style.

    ``match_key("Hòa Bình") == match_key("HOÀ BÌNH") == "hoà bình"``; accents still count
    (``"hoa"`` is a different key). Idempotent.
    """
    return _OLD_STYLE.sub(_new_style, normalize(s).lower())


_MARKS = re.compile("[\u0300-\u036f]")


def fold_key(s: str) -> str:
    """:func:`match_key` without any diacritic (``đ`` -> ``d``): ``"dan van"`` for "Dân vận"."""
    bare = _MARKS.sub("", unicodedata.normalize("NFD", match_key(s)))
    return unicodedata.normalize("NFC", bare).replace("đ", "d")


# -- sentences ------------------------------------------------------------------------------

# Terminal punctuation, the closing quotes/brackets glued to it (they stay with the sentence
# they close), then the whitespace that makes it a candidate boundary. "TP.HCM", "1.234,5",
# "27.12.2017" and "PGS.TS" have no whitespace after their dots, so they never get here.
# Runs are matched whole from their first character, possessively: a 50,000-dot line must
# not make the scan quadratic.
_CANDIDATE = re.compile(r"(?<![.!?…])([.!?…]++)([\"”’'»)\]]*+)\s+")
_OPENERS = "\"“‘'«([-–—"
# Titles and place words written with a dot before a name: "TP. HCM", "GS. TS. Trần B".
# Enumerations (v.v., vv.) are not here: before a capital they do end the sentence.
_ABBREVIATIONS = frozenset(
    (
        "tp",
        "tx",
        "tt",
        "gs",
        "pgs",
        "ts",
        "ths",
        "th.s",
        "bs",
        "bsck",
        "ck",
        "ckii",
        "cki",
        "ks",
        "ncs",
        "ls",
        "lm",
        "nxb",
        "cty",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
    )
)
_ENUMERATOR = re.compile(r"(?:\d{1,3}|[ivxlc]{1,5}|[a-zđ])", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, paragraphs first (see :func:`normalize_block`).

    A sentence ends at ``.``, ``!``, ``?``, ``…`` or ``...`` (with any closing quote or
    bracket glued to it) followed by a space and a capital, a digit or an opening quote
    before one. Not after a title abbreviation ("TP. HCM", "GS. TS. Trần B", "ThS. Lê C"),
    an initial of a Western name ("George W. Bush") or a list number ("1. Nội dung").
    """
    out: list[str] = []
    for para in split_paragraphs(text):
        out.extend(_split_paragraph(para))
    return out


def _split_paragraph(para: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in _CANDIDATE.finditer(para):
        if _is_boundary(para, start, m):
            sentence = para[start : m.end(2)].strip()
            if sentence:
                out.append(sentence)
            start = m.end()
    tail = para[start:].strip()
    if tail:
        out.append(tail)
    return out


def _next_start(para: str, pos: int) -> str:
    """The first character of the next sentence, past opening quotes, brackets and dashes."""
    n = len(para)
    while pos < n and (para[pos] in _OPENERS or para[pos].isspace()):
        pos += 1
    return para[pos] if pos < n else ""


def _is_boundary(para: str, start: int, m: re.Match[str]) -> bool:
    first = _next_start(para, m.end())
    # "… rồi sao?” anh hỏi", "v.v. đều tăng", "bà V. , 51 tuổi": the sentence goes on.
    if not (first.isupper() or first.isdigit()):
        return False
    punct = m.group(1)
    if punct == ".":
        return _period_ends(para, start, m.start(), first)
    if "!" in punct or "?" in punct:
        return True
    # An ellipsis ends a sentence only before a capital; "(...)" marks an omission inside one.
    return first.isupper() and not (m.start() > 0 and para[m.start() - 1] in "([")


def _period_ends(para: str, start: int, dot: int, first: str) -> bool:
    """Whether the single ``.`` at ``dot`` ends the sentence begun at ``start``."""
    if _ENUMERATOR.fullmatch(para, start, dot):
        return False
    prev = para[max(start, para.rfind(" ", start, dot) + 1) : dot].lstrip(_OPENERS)
    low = prev.lower()
    if low in _ABBREVIATIONS or low.rsplit(".", 1)[-1] in _ABBREVIATIONS:
        return False
    if len(prev) == 1 and prev.isupper():
        return _initial_ends(para, start, dot, first)
    return True


# Capitalised sentence openers spelt without diacritics, so "Thanh T. Sau đó" still splits.
_ASCII_OPENERS = frozenset(
    (
        "Anh",
        "Ba",
        "Cho",
        "Con",
        "Em",
        "Hai",
        "Khi",
        "Ngay",
        "Qua",
        "Sau",
        "Theo",
        "Tin",
        "Trong",
        "Tuy",
    )
)


def _initial_ends(para: str, start: int, dot: int, first: str) -> bool:
    """A capital letter and a dot: the end of "anh Nguyễn Văn T." or part of a name?"""
    if not first.isupper():
        return False  # "Q. 1": an address, or an initial before a number
    # Bounded slices: a paragraph full of initials must not make this quadratic.
    after = para[dot + 1 : dot + 40].split(None, 1)
    nxt = after[0] if after else ""
    if len(nxt) == 2 and nxt[1] == "." and nxt[0].isupper():
        return False  # "J. K. Rowling"
    before = para[max(start, dot - 40) : dot - 1].split()
    prev_word = before[-1] if before else ""
    if len(prev_word) == 2 and prev_word[1] == "." and prev_word[0].isupper():
        return False
    # Vietnamese news abbreviates the given name of a private person, which ends the name
    # ("Nguyễn Văn T. Sau đó"); a Western middle initial sits between two ASCII names.
    western = prev_word.isascii() and prev_word.istitle() and nxt.isascii() and nxt.istitle()
    return not western or nxt in _ASCII_OPENERS
