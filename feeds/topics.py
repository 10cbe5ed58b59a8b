"""Topic and keyword matching of articles on syllable match keys. Pure.

A keyword matches a run of whole syllables of the title or the body, compared on match keys
(case and tone placement never matter). Accents count when the keyword has any; a keyword
typed without a single accent ("dan van") matches accent-insensitively ("Dân vận").
Punctuation between syllables is ignored ("TP. HCM" matches "tp hcm"), and a keyword never
spans the title and the body. Keywords are literal text, never patterns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from feeds.models import Topic
from feeds.text import fold_key, match_key, words

__all__ = ["ArticleKeys", "KeywordIndex", "TopicIndex", "classify", "keyword_matches"]

# Title and body are joined with this between them; no keyword contains it.
_FIELD_BREAK = "\n"


@lru_cache(maxsize=1 << 16)
def _fold_syllable(syllable: str) -> str:
    # Per distinct syllable: a language has a few thousand, an article repeats them a lot.
    return fold_key(syllable)


def _runs(fields: Iterable[Sequence[str]]) -> str:
    # Spaces around every syllable make "is this run here" a plain substring test.
    return " " + f" {_FIELD_BREAK} ".join(" ".join(f) for f in fields) + " "


@dataclass(frozen=True)
class ArticleKeys:
    """An article's title and body reduced once to syllable keys, for any number of matchers."""

    exact: str
    folded: str
    exact_syllables: frozenset[str]
    folded_syllables: frozenset[str]

    @classmethod
    def of(cls, title: str, body: str) -> ArticleKeys:
        """Keys of ``title`` and ``body`` (raw or normalised text)."""
        fields = [words(match_key(title)), words(match_key(body))]
        fold = {s: _fold_syllable(s) for s in {s for f in fields for s in f}}
        folded = [[fold[s] for s in f] for f in fields]
        return cls(
            exact=_runs(fields),
            folded=_runs(folded),
            exact_syllables=frozenset(s for f in fields for s in f),
            folded_syllables=frozenset(s for f in folded for s in f),
        )


@dataclass(frozen=True)
class _Keyword:
    given: str
    syllables: tuple[str, ...]
    run: str
    folded: bool


class KeywordIndex:
    """Keywords compiled once; each article is then matched in one pass over its keys."""

    def __init__(self, keywords: Iterable[str]) -> None:
        compiled = []
        for given in dict.fromkeys(keywords):  # unique, first spelling order kept
            key = match_key(given)
            folded = fold_key(key)
            accented = folded != key
            syllables = tuple(words(key if accented else folded))
            if syllables:
                compiled.append(
                    _Keyword(given, syllables, f" {' '.join(syllables)} ", not accented)
                )
        self._keywords: tuple[_Keyword, ...] = tuple(compiled)

    def __len__(self) -> int:
        return len(self._keywords)

    def matches(self, keys: ArticleKeys) -> set[str]:
        """The keywords (as given) that occur in the article."""
        found: set[str] = set()
        for kw in self._keywords:
            present, runs = (
                (keys.folded_syllables, keys.folded)
                if kw.folded
                else (keys.exact_syllables, keys.exact)
            )
            # The set test rejects almost every keyword before any substring search.
            if present.issuperset(kw.syllables) and (len(kw.syllables) == 1 or kw.run in runs):
                found.add(kw.given)
        return found

    def match(self, title: str, body: str) -> set[str]:
        """:meth:`matches` for raw title and body text."""
        return self.matches(ArticleKeys.of(title, body)) if self._keywords else set()


class TopicIndex:
    """The configured topics with all their keywords compiled into one :class:`KeywordIndex`."""

    def __init__(self, topics: Sequence[Topic]) -> None:
        self.topics: tuple[Topic, ...] = tuple(topics)
        self._keywords = KeywordIndex(k for t in self.topics for k in t.keywords)

    def classify(self, keys: ArticleKeys, source_topics: Iterable[str] = ()) -> tuple[str, ...]:
        """Slugs in configuration order: topics the source lists or whose keyword occurs."""
        return self._slugs(self._keywords.matches(keys), source_topics)

    def classify_text(
        self, title: str, body: str, source_topics: Iterable[str] = ()
    ) -> tuple[str, ...]:
        """:meth:`classify` for raw title and body text."""
        return self._slugs(self._keywords.match(title, body), source_topics)

    def _slugs(self, hits: set[str], source_topics: Iterable[str]) -> tuple[str, ...]:
        own = set(source_topics)
        return tuple(
            t.slug for t in self.topics if t.slug in own or any(k in hits for k in t.keywords)
        )


@lru_cache(maxsize=8)
def _keyword_index(keywords: tuple[str, ...]) -> KeywordIndex:
    return KeywordIndex(keywords)


@lru_cache(maxsize=8)
def _topic_index(topics: tuple[Topic, ...]) -> TopicIndex:
    return TopicIndex(topics)


def keyword_matches(title: str, body: str, keywords: Iterable[str]) -> set[str]:
    """The keywords (as given) that occur in the title or body as whole syllable runs."""
    return _keyword_index(tuple(keywords)).match(title, body)


def classify(
    title: str, body: str, source_topics: Iterable[str], topics: Sequence[Topic]
) -> tuple[str, ...]:
    """Slugs of the topics an article belongs to, in configuration order.

    A topic matches when the source lists it or one of its keywords occurs in the title or
    body (see the module docstring for how keywords match).
    """
    return _topic_index(tuple(topics)).classify_text(title, body, source_topics)
