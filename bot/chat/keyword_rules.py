"""What one chat may follow and mute: a keyword's shape (2 letters to 60 characters) and how
many keywords and mutes a chat holds (:class:`KeywordLimits`). ``/follow``, ``/mute`` and
``import`` check through here, so the poller's index stays bounded per chat."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from storage.records import Subscription, SubscriptionKind

#: longest keyword or mute, in characters
MAX_KEYWORD_CHARS = 60
#: fewest letters or digits in a keyword or mute
MIN_KEYWORD_LETTERS = 2
#: the default caps per chat (BANTIN_MAX_KEYWORDS, BANTIN_MAX_MUTES)
DEFAULT_MAX_KEYWORDS = 50
DEFAULT_MAX_MUTES = 50


def keyword_problem(text: str) -> str | None:
    """The catalogue key of what is wrong with ``text`` as a keyword (``keyword_too_short``,
    ``keyword_too_long``), or None when it will do."""
    if len(re.findall(r"\w", text)) < MIN_KEYWORD_LETTERS:
        return "keyword_too_short"
    if len(text) > MAX_KEYWORD_CHARS:
        return "keyword_too_long"
    return None


@dataclass(frozen=True)
class KeywordLimits:
    """How many keywords (``/follow``) and mutes (``/mute``) one chat may hold."""

    keywords: int = DEFAULT_MAX_KEYWORDS
    mutes: int = DEFAULT_MAX_MUTES

    def cap(self, kind: SubscriptionKind) -> int:
        """The cap of keywords or of mutes (``kind`` KEYWORD or MUTE)."""
        return self.mutes if kind == SubscriptionKind.MUTE else self.keywords

    def full(self, kind: SubscriptionKind, held: Sequence[Subscription], key: str) -> bool:
        """Whether adding ``key`` (a match key) as a ``kind`` to a chat that holds ``held``
        would go over the cap; one it already holds is never refused (nothing is added)."""
        same = [s.key for s in held if s.kind == kind]
        return key not in same and len(same) >= self.cap(kind)

    def reply_key(self, kind: SubscriptionKind) -> str:
        """The catalogue key of the answer when the cap is reached."""
        return "mutes_full" if kind == SubscriptionKind.MUTE else "keywords_full"
