"""Topic and keyword matching of articles (interim version)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from feeds.models import Topic
from feeds.text import match_key


def _contains(haystack_key: str, needle: str) -> bool:
    key = match_key(needle)
    return bool(key) and re.search(r"(?<!\w)" + re.escape(key) + r"(?!\w)", haystack_key) is not None


def keyword_matches(title: str, body: str, keywords: Iterable[str]) -> set[str]:
    """The keywords (as given) that occur in the title or body as whole syllable runs."""
    hay = match_key(title) + "\n" + match_key(body)
    return {k for k in keywords if _contains(hay, k)}


def classify(title: str, body: str, source_topics: Iterable[str], topics: Sequence[Topic]) -> tuple[str, ...]:
    """Slugs of the topics an article belongs to, in configuration order."""
    own = set(source_topics)
    hay = match_key(title) + "\n" + match_key(body)
    return tuple(
        t.slug for t in topics if t.slug in own or any(_contains(hay, k) for k in t.keywords)
    )
