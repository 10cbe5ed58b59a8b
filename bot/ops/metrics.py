"""Prometheus metrics of one instance, served at ``/metrics`` on the bot's HTTP server.

Counters and histograms are recorded where things happen (polls, sends); gauges that
describe shared state (outbox by channel and status, queue depth, leases) are read from the
database at scrape time, so every instance reports the same truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class PollOutcome(Protocol):
    """What :meth:`Metrics.record_poll_report` reads of ``bot.polling.poller.PollReport``."""

    @property
    def source_id(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def not_modified(self) -> bool: ...
    @property
    def new(self) -> int: ...
    @property
    def refused(self) -> int: ...
    @property
    def failed_entries(self) -> int: ...


class Metrics:
    """All metrics of one App, in a registry of their own (tests run several Apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._polling(self.registry)
        self._sending(self.registry)
        self._state(self.registry)

    def _polling(self, r: CollectorRegistry) -> None:
        """What polls count: outcomes, new articles, refused links, failed entries."""
        self.polls = Counter(
            "bantin_polls_total",
            "Polls by source and outcome (ok, not_modified, error).",
            ["source", "outcome"],
            registry=r,
        )
        self.articles = Counter(
            "bantin_articles_stored_total",
            "New articles stored, by source.",
            ["source"],
            registry=r,
        )
        self.refused = Counter(
            "bantin_links_refused_total",
            "Entry links dropped: a non-public address in a source without allow_private.",
            ["source"],
            registry=r,
        )
        self.entry_failures = Counter(
            "bantin_entry_failures_total",
            "Entries that failed on their own (parser crash or time limit, refused save).",
            ["source"],
            registry=r,
        )

    def _sending(self, r: CollectorRegistry) -> None:
        """What sends count: outcomes, the platform's time, flood-control answers."""
        self.sends = Counter(
            "bantin_sends_total",
            "Send attempts by channel and outcome.",
            ["channel", "outcome"],
            registry=r,
        )
        self.send_seconds = Histogram(
            "bantin_send_seconds",
            "Time the platform took to accept a message.",
            ["channel"],
            registry=r,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.rate_limited = Counter(
            "bantin_rate_limited_total",
            "Flood-control answers (HTTP 429) by channel.",
            ["channel"],
            registry=r,
        )
        self.updates_skipped = Counter(
            "bantin_updates_skipped_total",
            "Incoming updates the platform library could not parse, logged and skipped.",
            ["channel"],
            registry=r,
        )
        self.rationed = Counter(
            "bantin_replies_rationed_total",
            "Messages on a quota channel answered short or not at all, by channel and reason "
            "(full, allowance, replies_share, unreadable, cut).",
            ["channel", "reason"],
            registry=r,
        )

    def _state(self, r: CollectorRegistry) -> None:
        """Shared state read at scrape time, leases, background jobs' errors, parked channels."""
        self.deliveries = Gauge(
            "bantin_deliveries",
            "Outbox rows by channel and status.",
            ["channel", "status"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "bantin_queue_depth",
            "Deliveries due now and not yet sent, by channel.",
            ["channel"],
            registry=r,
        )
        self.leader = Gauge(
            "bantin_leader",
            "1 when this instance holds the lease (poll, send:<channel>).",
            ["lease"],
            registry=r,
        )
        self.job_errors = Counter(
            "bantin_job_errors_total",
            "Exceptions caught in background jobs (poll, sender, housekeeping, retention, "
            "broadcasts), by component and name; the job was retried or restarted.",
            ["component", "name"],
            registry=r,
        )
        self.channel_down = Gauge(
            "bantin_channel_down",
            "1 while a channel's token is refused and its sending is parked.",
            ["channel"],
            registry=r,
        )
        self.last_poll_age = Gauge(
            "bantin_last_successful_poll_age_seconds",
            "Seconds since the most recent successful poll of any source.",
            registry=r,
        )

    def record_poll(self, source_id: str, ok: bool, not_modified: bool, new: int) -> None:
        outcome = "error" if not ok else ("not_modified" if not_modified else "ok")
        self.polls.labels(source_id, outcome).inc()
        if new:
            self.articles.labels(source_id).inc(new)

    def record_poll_report(self, report: PollOutcome) -> None:
        """Everything a poll report counts: the poll, new articles, refusals, entry failures."""
        self.record_poll(report.source_id, report.ok, report.not_modified, report.new)
        if report.refused:
            self.refused.labels(report.source_id).inc(report.refused)
        if report.failed_entries:
            self.entry_failures.labels(report.source_id).inc(report.failed_entries)

    def record_send(self, channel: str, outcome: str, seconds: float | None = None) -> None:
        self.sends.labels(channel, outcome).inc()
        if outcome == "rate_limited":
            self.rate_limited.labels(channel).inc()
        if seconds is not None and outcome == "sent":
            self.send_seconds.labels(channel).observe(seconds)

    def skipped_update(self, channel: str) -> Callable[[], None]:
        """A callable counting one skipped update of ``channel`` (handed to the adapter)."""
        return self.updates_skipped.labels(channel).inc

    def record_job_error(self, component: str, name: str) -> None:
        self.job_errors.labels(component, name).inc()

    def set_outbox(
        self, rows: Iterable[tuple[str, str, int]], due: Iterable[tuple[str, int]]
    ) -> None:
        self.deliveries.clear()
        for channel, status, count in rows:
            self.deliveries.labels(channel, status).set(count)
        self.queue_depth.clear()
        for channel, count in due:
            self.queue_depth.labels(channel).set(count)

    def set_leases(self, held: dict[str, bool]) -> None:
        for lease, is_held in held.items():
            self.leader.labels(lease).set(1 if is_held else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
