"""The job protocol's supervisor: a loop body that raises is logged, counted in
``bantin_job_errors_total``, backed off and run again; a loop that dies is restarted."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.jobs import LoopJob, Retry, Supervisor
from bot.ops.metrics import Metrics


@dataclass(frozen=True)
class _Recorded(Retry):
    """The backoff of the job, with every delay it gave."""

    given: list[float] = field(default_factory=list)

    def delay(self, failures: int) -> float:
        seconds = super().delay(failures)
        self.given.append(seconds)
        return seconds


class _Flaky(LoopJob):
    """A job whose first three rounds raise; it records what health would say of it."""

    def __init__(self, metrics: Metrics) -> None:
        self.retry = _Recorded(base=0.01, cap=0.04, jitter=0.0)
        self.loop = Supervisor("test", "flaky", self._round, retry=self.retry, metrics=metrics)
        self.rounds = 0
        self.seen: list[dict[str, str]] = []

    async def _round(self) -> float:
        self.rounds += 1
        self.seen.append(self.problems())
        if self.rounds <= 3:
            raise RuntimeError("OperationalError: the database went away")
        return 0.01


ERRORS = b'bantin_job_errors_total{component="test",name="flaky"}'


async def test_the_supervisor_counts_backs_off_and_runs_the_loop_again() -> None:
    metrics = Metrics()
    job = _Flaky(metrics)
    await job.start()
    try:
        async with asyncio.timeout(5):
            while job.rounds < 6:
                await asyncio.sleep(0.01)
        # Three failures, each counted and answered with a doubling wait; then it runs on.
        assert job.retry.given[:3] == [0.01, 0.02, 0.04]
        assert ERRORS + b" 3.0" in metrics.render()
        # Health sees the third failure in a row (as the fourth round starts), then all well.
        assert job.seen[3] == {"test:flaky": "failing (3 rounds in a row)"}
        assert job.seen[5] == {} and job.problems() == {}
    finally:
        await job.stop()


async def test_a_loop_that_dies_is_named_restarted_and_counted() -> None:
    metrics = Metrics()
    job = _Flaky(metrics)
    job.rounds = 3  # past its failures
    await job.start()
    try:
        assert job.loop.task is not None
        job.loop.task.cancel()  # as if it died of a bug past every except
        await asyncio.sleep(0)
        assert job.problems() == {"test:flaky": "not running"}
        async with asyncio.timeout(5):
            while not job.loop.running:
                await asyncio.sleep(0.005)
        assert job.problems() == {}
        assert ERRORS + b" 1.0" in metrics.render()
    finally:
        await job.stop()
    # Stopped on purpose: not restarted, and not a problem.
    await asyncio.sleep(0.05)
    assert not job.loop.running and job.problems() == {}


async def test_a_stop_ends_the_rest_at_once_and_waits_for_the_round() -> None:
    finished: list[str] = []

    async def body() -> float:
        await asyncio.sleep(0.1)  # a round under way (a transaction) is never cut short
        finished.append("round")
        return 3600.0  # a long rest, which a stop ends

    loop = Supervisor("test", "slow", body, retry=Retry(base=1.0, cap=1.0))
    loop.start()
    await asyncio.sleep(0.01)
    async with asyncio.timeout(2):
        await loop.stop(grace=5.0)
    assert finished == ["round"] and not loop.running
