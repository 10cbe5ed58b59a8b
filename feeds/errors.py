"""The error tree of the ``feeds`` package, defined once so every module shares the same bases.

FeedError                 root: anything feeds/ raises on purpose
 ├── FetchError           feeds.fetch: the bytes could not be had (subclasses live there)
 ├── ParseError           the bytes are not what the source promised: not a feed, no article
 ├── RulesError           a configured selector or pattern is invalid (fix the config)
 └── SourceFailure        feeds.reader: a source's listing could not be fetched or parsed
"""

from __future__ import annotations


class FeedError(Exception):
    """Root of every error the feeds package raises on purpose."""


class ParseError(FeedError):
    """A document could not be read as what it should be (not a feed, a page without an article)."""


class RulesError(FeedError):
    """A selector or regex from the source configuration is invalid."""
