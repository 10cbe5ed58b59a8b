"""The error tree of the ``feeds`` package, defined once so every module shares the same bases.

FeedError                 root: anything feeds/ raises on purpose
 ├── FetchError           feeds.fetch: the bytes could not be had; the message names the URL
 │    ├── HTTPStatusError the server answered 4xx/5xx (or an unfollowable 3xx): .status
 │    ├── TooLarge        the body passed max_bytes (announced, raw, or decompressed)
 │    ├── FetchTimeout    connect/read/overall deadline passed
 │    ├── Refused         the outbound policy forbids the URL or the address it resolves to
 │    └── NetworkError    DNS, refused connection, reset, broken or unknown compression, ...
 ├── ParseError           the bytes are not what the source promised: not a feed, no article
 ├── RulesError           a configured selector or pattern is invalid (fix the config)
 ├── WorkerFailure        feeds.parsepool: the parser crashed on a document (a bug it hit)
 │    └── ParseTimeout    the document took longer than the time limit; the worker was killed
 └── SourceFailure        feeds.reader: a source's listing could not be fetched or parsed
"""

from __future__ import annotations


class FeedError(Exception):
    """Root of every error the feeds package raises on purpose."""


class ParseError(FeedError):
    """A document could not be read as what it should be (not a feed, a page without an article)."""


class RulesError(FeedError):
    """A selector or regex from the source configuration is invalid."""


class FetchError(FeedError):
    """Root of fetch failures. ``url`` is the URL that was asked for."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class HTTPStatusError(FetchError):
    """The server answered with an error status. ``retry_after`` is in seconds when it said so."""

    def __init__(
        self, message: str, *, url: str, status: int, retry_after: float | None = None
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.retry_after = retry_after


class TooLarge(FetchError):
    """The body is bigger than the caller's ``max_bytes``."""


class FetchTimeout(FetchError):
    """A connect, read or overall deadline passed."""


class Refused(FetchError):
    """The outbound policy forbids this URL (host not allowed, private address): never sent."""


class NetworkError(FetchError):
    """The transport failed: DNS, connection refused or reset, undecodable compression."""


class WorkerFailure(FeedError):
    """Parsing a document failed unexpectedly (an exception that is not a :class:`FeedError`,
    or a worker that died): the document fails its entry, or its source for a listing."""


class ParseTimeout(WorkerFailure):
    """A document took longer than the parse time limit; its worker process was killed."""
