"""Topic and keyword matching of articles on syllable match keys. Pure.

A keyword matches a run of whole syllables of the title or the body, compared on match keys
(case and tone placement never matter). Accents count when the keyword has any; a keyword
typed without a single accent ("dan van") matches accent-insensitively ("Dân vận").
Punctuation between syllables is ignored ("TP. HCM" matches "tp hcm"), and a keyword never
spans the title and the body. Keywords are literal text, never patterns.

Matching looks the article's syllable runs up in a hash index (:class:`KeywordIndex`), so
its cost grows with the article and the longest keyword, never with the number of keywords:
the index holds every keyword of every chat (issue 21: 50 keywords x 50,000 chats).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from feeds.models import Topic
from feeds.text import fold_key, match_key, words

__all__ = ["ArticleKeys", "KeywordIndex", "TopicIndex", "classify", "keyword_matches"]


@lru_cache(maxsize=1 << 16)
def _fold_syllable(syllable: str) -> str:
    # Per distinct syllable: a language has a few thousand, an article repeats them a lot.
    return fold_key(syllable)


@dataclass(frozen=True)
class ArticleKeys:
    """An article's title and body reduced once to syllable keys, for any number of matchers:
    per field (title, body), its syllables as match keys (``exact``) and without diacritics
    (``folded``)."""

    exact: tuple[tuple[str, ...], ...]
    folded: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, title: str, body: str) -> ArticleKeys:
        """Keys of ``title`` and ``body`` (raw or normalised text)."""
        fields = (tuple(words(match_key(title))), tuple(words(match_key(body))))
        return cls(
            exact=fields,
            folded=tuple(tuple(_fold_syllable(s) for s in f) for f in fields),
        )


#: the keywords (as given) one syllable run stands for: one string in the common case
_Given = str | tuple[str, ...]
#: the runs are spread over this many dictionaries (a power of two): growing one of a few
#: million entries would copy it all at once and hold the event loop that long
_SHARDS = 256


class _Runs:
    """Keywords of one comparison (exact or folded) by syllable run (syllables joined by
    one space), and per first syllable the most syllables a keyword starting with it has:
    a lookup from one position of an article stops there."""

    __slots__ = ("count", "longest", "shards")

    def __init__(self) -> None:
        self.shards: list[dict[str, _Given]] = [{} for _ in range(_SHARDS)]
        self.longest: dict[str, int] = {}
        self.count = 0  # runs held

    def add(self, syllables: Sequence[str], given: str) -> bool:
        joined = " ".join(syllables)
        run = given if joined == given else joined  # a stored match key is often its run
        by_run = self.shards[hash(run) & (_SHARDS - 1)]
        held = by_run.get(run)
        if held is None:
            by_run[run] = given
            self.count += 1
        elif held == given or (isinstance(held, tuple) and given in held):
            return False
        else:
            by_run[run] = (*((held,) if isinstance(held, str) else held), given)
        if self.longest.get(syllables[0], 0) < len(syllables):
            self.longest[syllables[0]] = len(syllables)
        return True

    def discard(self, syllables: Sequence[str], given: str) -> bool:
        run = " ".join(syllables)
        by_run = self.shards[hash(run) & (_SHARDS - 1)]
        held = by_run.get(run)
        if held is None or (held != given and not (isinstance(held, tuple) and given in held)):
            return False
        rest = tuple(g for g in held if g != given) if isinstance(held, tuple) else ()
        if not rest:
            del by_run[run]  # ``longest`` may now be too long: that only costs lookups
            self.count -= 1
        else:
            by_run[run] = rest[0] if len(rest) == 1 else rest
        return True

    def find(self, fields: Iterable[Sequence[str]], found: set[str]) -> None:
        shards, longest, mask = self.shards, self.longest, _SHARDS - 1
        for field in fields:
            end = len(field)
            for i, first in enumerate(field):
                most = longest.get(first)
                if most is None:
                    continue
                run = first
                for j in range(i, min(i + most, end)):
                    if j > i:
                        run = f"{run} {field[j]}"
                    hit = shards[hash(run) & mask].get(run)
                    if hit is not None:
                        found.update((hit,) if isinstance(hit, str) else hit)


def _compile(given: str) -> tuple[bool, list[str]]:
    """(folded, syllables): how ``given`` is compared, and what to."""
    key = match_key(given)
    folded = fold_key(key)
    accented = folded != key
    return not accented, words(key if accented else folded)


class KeywordIndex:
    """Keywords by syllable run, to add and remove in place; matching an article costs a
    few dictionary lookups per syllable of the article, whatever the number of keywords."""

    def __init__(self, keywords: Iterable[str] = ()) -> None:
        self._exact = _Runs()
        self._folded = _Runs()
        self._count = 0
        self.add(keywords)

    def __len__(self) -> int:
        return self._count

    def add(self, keywords: Iterable[str]) -> int:
        """Add ``keywords`` (as given; one without a syllable is ignored); how many were new."""
        added = 0
        for given in keywords:
            folded, syllables = _compile(given)
            if syllables and (self._folded if folded else self._exact).add(syllables, given):
                added += 1
        self._count += added
        return added

    def discard(self, keywords: Iterable[str]) -> int:
        """Remove ``keywords`` (as given); how many were there."""
        removed = 0
        for given in keywords:
            folded, syllables = _compile(given)
            if syllables and (self._folded if folded else self._exact).discard(syllables, given):
                removed += 1
        self._count -= removed
        return removed

    def matches(self, keys: ArticleKeys) -> set[str]:
        """The keywords (as given) that occur in the article."""
        found: set[str] = set()
        if self._exact.count:
            self._exact.find(keys.exact, found)
        if self._folded.count:
            self._folded.find(keys.folded, found)
        return found

    def match(self, title: str, body: str) -> set[str]:
        """:meth:`matches` for raw title and body text."""
        return self.matches(ArticleKeys.of(title, body)) if self._count else set()


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
