"""Issue 12: supervised jobs, a refused token parks a channel, one claim one send, the strict
window limiter, and the bounded HTTP server."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from test_delivery import FakeChannel, Mono, add_chat, make_worker, publish

from bot.channels.base import ChannelDown, RetryLater
from bot.delivery.worker import Limits, RateLimiter
from bot.ops.httpserver import ServerLimits, serve
from bot.ops.leader import LeaseState
from bot.ops.metrics import Metrics
from bot.polling.scheduling import PollScheduler
from storage.records import DeliveryStatus
from storage.store import open_store


async def statuses(store, clock) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return (await store.stats(clock())).deliveries_by_status


async def prepared(sqlite_url: str, clock, chats: int):  # type: ignore[no-untyped-def]
    store = await open_store(sqlite_url)
    await store.sync_sources(
        [type("S", (), {"id": "s", "name": "S", "kind": "rss", "url": "https://p/"})()], clock()
    )
    for i in range(chats):
        await add_chat(store, f"c{i}", clock)
    await publish(store, "a", clock)
    return store


async def test_a_long_channel_wide_429_gives_one_send_per_row(sqlite_url: str, clock: Any) -> None:
    store = await prepared(sqlite_url, clock, 10)
    try:
        channel = FakeChannel()
        channel.delay = 0.005
        channel.script["c0"] = [RetryLater("429", after=300, scope="channel")]
        worker = make_worker(store, channel, clock, limits={"fake": Limits(rate=20)})
        async with asyncio.timeout(10):  # nothing sleeps 300 s holding its claim
            await worker.drain()
        # No row is left 'sending' for a claim to expire on, so nothing is sent twice.
        clock.advance(61)
        assert await store.requeue_expired(clock()) == 0
        clock.advance(300)
        worker.senders["fake"].limiter = RateLimiter(Limits(rate=1000, private_interval=0))
        await worker.drain()
        sent = sorted(c for c, _ in channel.sent)
        assert sent == sorted(f"c{i}" for i in range(10))
        assert await statuses(store, clock) == {DeliveryStatus.SENT: 10}
    finally:
        await store.close()


async def test_a_refused_token_parks_the_channel_and_it_resumes(
    sqlite_url: str, clock: Any
) -> None:
    store = await prepared(sqlite_url, clock, 5)
    alerts: list[str] = []

    async def alert(key: str, values: dict[str, Any]) -> None:
        alerts.append(key)

    try:
        channel = FakeChannel()
        for i in range(5):
            channel.script[f"c{i}"] = [ChannelDown("401 Unauthorized", after=30)] * 2
        worker = make_worker(store, channel, clock, alert=alert)
        sender = worker.senders["fake"]
        await worker.drain()
        assert channel.sent == []
        assert await statuses(store, clock) == {DeliveryStatus.PENDING: 5}  # nothing failed
        assert sender.down is not None and alerts == ["alert_channel_down"]
        assert "sender:fake" in worker.problems()
        assert sender.limiter.departure_wait() > 20  # paused, with backoff
        # A second refusal (the probe) is not announced again; the pause doubles.
        sender.limiter = RateLimiter(Limits(rate=1000, private_interval=0))
        clock.advance(31)
        await worker.drain()
        assert alerts == ["alert_channel_down"] and sender.limiter.departure_wait() > 50
        # The token works again: everything goes, once, and the admins hear of it.
        for i in range(5):
            channel.script[f"c{i}"] = []
        sender.limiter = RateLimiter(Limits(rate=1000, private_interval=0))
        clock.advance(61)
        await worker.drain()
        assert sorted(c for c, _ in channel.sent) == [f"c{i}" for i in range(5)]
        assert sender.down is None and alerts == ["alert_channel_down", "alert_channel_up"]
        assert await statuses(store, clock) == {DeliveryStatus.SENT: 5}
    finally:
        await store.close()


async def test_a_dead_sender_is_restarted_and_health_names_it(sqlite_url: str, clock: Any) -> None:
    store = await prepared(sqlite_url, clock, 1)
    try:
        metrics = Metrics()
        worker = make_worker(store, FakeChannel(), clock, metrics=metrics)
        await worker.start()
        loop = worker.senders["fake"].loop
        assert loop.task is not None
        loop.task.cancel()  # as if it died
        await asyncio.sleep(0.01)
        assert worker.problems() == {"sender:fake": "not running"}
        async with asyncio.timeout(5):  # restarted after a backoff of ~0.5 s
            while worker.problems():
                await asyncio.sleep(0.05)
        assert loop.running
        assert b'bantin_job_errors_total{component="sender",name="fake"} 1.0' in metrics.render()
        await worker.stop()
    finally:
        await store.close()


class _Lease:
    ttl = 20.0

    async def check(self) -> LeaseState:
        return LeaseState(held=True, acquired=False)

    async def release(self) -> None:
        pass


class _BrokenPoller:
    async def poll(self, source):  # type: ignore[no-untyped-def]
        raise RuntimeError("OperationalError: the database went away")


async def test_a_failing_poll_job_is_planned_again(sqlite_url: str, clock: Any) -> None:
    store = await open_store(sqlite_url)
    source = type(
        "S", (), {"id": "x", "name": "X", "kind": "rss", "url": "https://p/", "enabled": True}
    )()
    metrics = Metrics()
    sched = PollScheduler(
        store,
        _BrokenPoller(),
        [source],
        _Lease(),
        clock=clock,
        on_queued=lambda: None,
        metrics=metrics,
    )  # type: ignore[arg-type]
    try:
        sched._scheduler.start()
        for _ in range(3):
            await sched._job("x")
            job = sched._scheduler.get_job("poll:x")
            assert job is not None  # planned again, never lost
        assert sched.problems() == {"poll:x": "job failing (3 in a row)"}
        assert b'bantin_job_errors_total{component="poll",name="x"} 3.0' in metrics.render()
    finally:
        await sched.stop()
        await store.close()


# -- the strict window -------------------------------------------------------------------


async def test_departures_never_exceed_the_rate_in_any_second() -> None:
    mono = Mono()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        mono.t += seconds

    limiter = RateLimiter(Limits(rate=30, private_interval=0), clock=mono, sleep=sleep)
    times = []
    for i in range(300):
        wait = limiter.reserve(f"c{i}", group=False)
        if i % 7 == 0:
            mono.t += 0.2  # this send leaves late, the next ones on time
        elif wait > 0:
            await sleep(wait)
        await limiter.depart()
        times.append(mono.t)
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u < t + 1.0) <= 30
    # Throughput kept: only the late sends' own delay (43 x 0.2 s) is lost.
    assert times[-1] - times[0] < 300 / 30 + 43 * 0.2 + 0.5


# -- the HTTP server ---------------------------------------------------------------------


async def _echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


async def test_http_server_caps_bodies_and_drops_slow_headers() -> None:
    app = Starlette(routes=[Route("/in", _echo, methods=["POST"])])
    limits = ServerLimits(request_timeout=1, idle_timeout=1, max_connections=50, max_body=1000)
    server = await serve(app, limits=limits)
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            assert (await client.post("/in", content=b"x" * 1000)).text == "1000"
            assert (await client.post("/in", content=b"x" * 1001)).status_code == 413

            async def chunks():  # type: ignore[no-untyped-def]
                for _ in range(5):
                    yield b"x" * 400  # no Content-Length: the cap holds while reading

            try:
                refused = (await client.post("/in", content=chunks())).status_code == 413
            except httpx.TransportError:  # answered and closed while we were still sending
                refused = True
            assert refused
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(b"POST /in HTTP/1.1\r\nHost: x\r\n")  # half the headers, then nothing
        await writer.drain()
        async with asyncio.timeout(3):
            assert await reader.read() == b""  # closed by the server
        writer.close()
    finally:
        await server.stop()


# -- replies -----------------------------------------------------------------------------


async def test_a_reply_that_meets_a_429_waits_and_goes_out(database_url: str) -> None:
    from fake_telegram import FakeTelegram
    from test_ops import TOKEN, make_app

    fake = FakeTelegram(TOKEN)
    async with fake.running() as url:
        app = make_app(database_url, url)
        await app.start()
        try:
            fake.push_message(7, "/start")  # answered with a greeting and the topic menu
            await _until(lambda: len(fake.sent_to(7)) >= 2)
            await asyncio.sleep(0.3)  # nothing more is coming for /start
            assert len(fake.sent_to(7)) == 2
            fake.flood(7, retry_after=1)  # the next answer meets flood control
            asked_at = fake.clock()
            fake.push_message(7, "/topics")
            await _until(lambda: len(fake.sent_to(7)) >= 3)
            await asyncio.sleep(0.3)
            sent = fake.sent_to(7)
            assert len(sent) == 3  # refused once, then sent once, after the wait it was told
            assert sent[-1].at - asked_at >= 0.9
            assert sent[-1].text == sent[-2].text  # the same topic menu
        finally:
            await app.stop()


async def test_a_chat_over_its_command_budget_hears_once(database_url: str) -> None:
    from fake_telegram import FakeTelegram
    from test_ops import TOKEN, make_app

    fake = FakeTelegram(TOKEN)
    async with fake.running() as url:
        app = make_app(database_url, url, BANTIN_REPLY_RATE_PER_MINUTE="3")
        await app.start()
        try:
            for _ in range(8):
                fake.push_message(9, "/help")
            await _until(lambda: any("nhanh quá" in (s.text or "") for s in fake.sent_to(9)))
            await asyncio.sleep(0.5)
            texts = [s.text or "" for s in fake.sent_to(9)]
            assert len(texts) == 4 and "nhanh quá" in texts[-1]  # 3 answers, one polite "no"
        finally:
            await app.stop()


async def _until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


# -- group settings ----------------------------------------------------------------------


async def test_group_settings_are_for_group_admins(sqlite_url: str, clock: Any) -> None:
    from zoneinfo import ZoneInfo

    from bot.channels.base import Incoming
    from bot.chat.commands import Commands
    from feeds.models import Topic

    store = await open_store(sqlite_url)

    async def no() -> bool:
        return False

    async def yes() -> bool:
        return True

    async def poll_now():  # type: ignore[no-untyped-def]
        return []

    commands = Commands(
        store,
        (Topic("dan-van", "Dân vận"),),
        admins=frozenset(),
        tz=ZoneInfo("Asia/Ho_Chi_Minh"),
        clock=clock,
        poll_now=poll_now,
    )

    async def say(text: str, admin: bool) -> str:
        msg = Incoming(
            "telegram",
            "-5",
            text,
            user_id="1",
            chat_kind="group",
            chat_admin_check=yes if admin else no,
        )
        return "\n".join(m.text for m in await commands.handle(msg))

    try:
        await say("/start", admin=True)
        assert "quản trị viên của nhóm" not in await say("/stop", admin=True)
        assert "quản trị viên của nhóm" in await say("/start", admin=False)  # no undoing it
        assert (await store.get_chat("telegram", "-5")).paused  # type: ignore[union-attr]
        for command in ("/lang en", "/digest 07:00", "/quiet on", "/stop"):
            assert "quản trị viên của nhóm" in await say(command, admin=False), command
        chat = await store.get_chat("telegram", "-5")
        assert chat is not None and chat.language == "vi" and chat.digest_time is None
        assert "quản trị viên của nhóm" not in await say("/start", admin=True)
        assert not (await store.get_chat("telegram", "-5")).paused  # type: ignore[union-attr]
    finally:
        await store.close()


# -- import ------------------------------------------------------------------------------


def _export(**chat: object) -> dict[str, object]:
    entry: dict[str, object] = {"channel": "telegram", "chat_id": "7", **chat}
    return {"bantin_export": 1, "chats": [{"channel": "zalo", "chat_id": "ok"}, entry]}


def test_import_names_the_entry_and_field_of_every_mistake() -> None:
    import pytest

    from bot.app import known_channels
    from bot.ops.importing import ImportProblem, validate_export

    cases = {
        "chats[1].subscriptions": _export(subscriptions=None),
        "chats[1].digest_time": _export(digest_time="99:99"),
        "chats[1].active": _export(active="yes"),
        "chats[1].language": _export(language="fr"),
        "chats[1].chat_id": _export(chat_id=["7"]),
        # the channels and chat kinds are those the adapters declare
        "chats[1].channel": _export(channel="signal"),
        "chats[1].kind": _export(kind="supergroup"),
        "chats[1].subscriptions[0].kind": _export(subscriptions=[{"kind": "x", "key": "a"}]),
        "chats[1].subscriptions ": _export(
            subscriptions=[{"kind": "keyword", "value": "x" * 100, "key": "x" * 100}]
        ),
        "chats": {"bantin_export": 1, "chats": None},
    }
    for where, data in cases.items():
        with pytest.raises(ImportProblem, match=rf"^{re.escape(where.strip())}:"):
            validate_export(data, known_channels())
    ok = validate_export(_export(chat_id=7, digest_time="7:05"), known_channels())
    assert ok[1]["chat_id"] == "7" and ok[1]["digest_time"] == "07:05"


def test_a_bad_import_writes_nothing(sqlite_url: str, tmp_path: Any) -> None:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(_export(digest_time="99:99")), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANTIN_", "TELEGRAM_"))}
    env.update(BANTIN_DATABASE_URL=sqlite_url, BANTIN_CONFIG=str(root / "bantin.toml"))
    done = subprocess.run(
        [sys.executable, str(root / "run_bot.py"), "import", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
    )
    assert done.returncode != 0 and "chats[1].digest_time" in done.stderr
    assert "Traceback" not in done.stderr

    async def count() -> int:
        store = await open_store(sqlite_url)
        try:
            return len(await store.export_chats())
        finally:
            await store.close()

    assert asyncio.run(count()) == 0  # the good first entry was not written either


# -- retention ---------------------------------------------------------------------------


async def test_retention_deletes_old_finished_rows_and_keeps_the_figures(
    database_url: str, clock: Any
) -> None:
    from zoneinfo import ZoneInfo

    from bot.delivery.retention import Retention

    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    store = await prepared(database_url, clock, 30)
    try:
        worker = make_worker(store, FakeChannel(), clock)
        await worker.drain()  # 30 sent, at "day 0"
        for i in range(30, 35):  # five more chats whose deliveries stay pending
            await add_chat(store, f"c{i}", clock, paused=False)
        clock.advance(3600)
        await publish(store, "b", clock)  # 35 more: sent at day 0 + 1 h, but 5 new stay due
        paused = await store.get_chat("fake", "c34")
        assert paused is not None
        await store.update_chat(paused, clock(), paused=True)
        before_stats = (await store.stats(clock())).deliveries_by_status
        clock.advance(40 * 86400)
        before_chart = await store.daily_activity(clock() - timedelta(days=40), tz, days=3)
        retention = Retention(store, 30, clock=clock, batch=7, pause=0)
        pruned = await retention.prune()
        assert pruned == before_stats.get(DeliveryStatus.SENT, 0) > 0
        assert (await store.stats(clock())).deliveries_by_status == before_stats
        after_chart = await store.daily_activity(clock() - timedelta(days=40), tz, days=3)
        assert after_chart == before_chart and sum(d[2] for d in after_chart) == pruned
        assert await retention.prune() == 0  # nothing left to do; pending rows stay
    finally:
        await store.close()
