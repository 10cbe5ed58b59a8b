"""Operations: /healthz and /metrics on the bot's HTTP server, leases, export/import."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fake_telegram import FakeTelegram

from bot.app import App
from bot.config import Config, load_settings
from storage.store import open_store

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
TOPICS = '[[topics]]\nslug = "dan-van"\nname = "Dân vận"\n'


def make_app(database_url: str, url: str, **extra: str) -> App:
    env = {
        "BANTIN_DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": url,
        "BANTIN_HTTP_HOST": "127.0.0.1",
        "BANTIN_HTTP_PORT": "0",
        **extra,
    }
    return App(
        Config(load_settings(env), (), (), Path("t.toml")).with_sources_text(
            TOPICS, filename="t.toml"
        )
    )


async def test_healthz_and_metrics(database_url: str) -> None:
    fake = FakeTelegram(TOKEN)
    async with fake.running() as url:
        app = make_app(database_url, url)
        await app.start()
        try:
            assert app.http is not None
            base = f"http://127.0.0.1:{app.http.port}"
            async with httpx.AsyncClient() as client:
                health = await client.get(f"{base}/healthz")
                assert health.status_code == 200
                body = health.json()
                assert body["database"] == "ok" and body["scheduler"] == "running"
                assert "last_successful_poll_age_seconds" in body
                fake.push_message(7, "/start")
                for _ in range(100):
                    if fake.sent_to(7):
                        break
                    await __import__("asyncio").sleep(0.05)
                metrics = (await client.get(f"{base}/metrics")).text
                assert "bantin_queue_depth" in metrics or "bantin_deliveries" in metrics
                assert 'bantin_leader{lease="send:telegram"} 1.0' in metrics
                assert "bantin_polls_total" in metrics and "bantin_send_seconds" in metrics
                # The database going away turns health red.
                await app.store.engine.dispose()
                app.store.ping = _false  # type: ignore[method-assign]
                assert (await client.get(f"{base}/healthz")).status_code == 503
        finally:
            await app.stop()


async def _false() -> bool:
    return False


@pytest.mark.parametrize(
    ("job", "key"),
    [("retention", "retention:deliveries"), ("broadcast_dispatcher", "broadcasts:scheduled")],
)
async def test_a_dead_background_job_turns_health_red(
    database_url: str, job: str, key: str
) -> None:
    fake = FakeTelegram(TOKEN)
    async with fake.running() as url:
        app = make_app(database_url, url)
        await app.start()
        try:
            assert app.http is not None
            healthz = f"http://127.0.0.1:{app.http.port}/healthz"
            async with httpx.AsyncClient() as client:
                assert (await client.get(healthz)).status_code == 200
                loop = getattr(app, job).loop
                loop.task.cancel()  # as if it died of a bug past every except
                await asyncio.sleep(0.01)
                health = await client.get(healthz)
                assert health.status_code == 503
                # Names only: a reason may quote a platform's answer (no token configured,
                # so no one sees reasons over HTTP).
                assert health.json()["problems"] == [key] and "reasons" not in health.json()
        finally:
            await app.stop()


async def test_health_reasons_only_for_the_bearer_of_the_token(database_url: str) -> None:
    fake = FakeTelegram(TOKEN)
    async with fake.running() as url:
        app = make_app(database_url, url, BANTIN_METRICS_TOKEN="ops-token")
        await app.start()
        try:
            assert app.http is not None
            healthz = f"http://127.0.0.1:{app.http.port}/healthz"
            app.retention.loop.task.cancel()
            await asyncio.sleep(0.01)
            key = "retention:deliveries"
            async with httpx.AsyncClient() as client:
                public = await client.get(healthz)
                assert public.status_code == 503 and public.json()["problems"] == [key]
                assert "reasons" not in public.json()
                wrong = await client.get(healthz, headers={"Authorization": "Bearer nope"})
                assert "reasons" not in wrong.json()
                assert (await client.get(f"{healthz}?details")).status_code == 401
                bearer = {"Authorization": "Bearer ops-token"}
                operator = (await client.get(f"{healthz}?details", headers=bearer)).json()
                assert operator["problems"] == [key]
                assert operator["reasons"] == {key: "not running"}
                assert "instance" in operator
        finally:
            await app.stop()


async def test_one_lease_holder_at_a_time(database_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    store = await open_store(database_url)
    try:
        assert await store.acquire_lease("poll", "a", clock(), 20)
        assert not await store.acquire_lease("poll", "b", clock(), 20)
        assert await store.acquire_lease("poll", "a", clock(), 20)  # renewal
        clock.advance(21)
        assert await store.acquire_lease("poll", "b", clock(), 20)  # a died: b takes over
        assert not await store.acquire_lease("poll", "a", clock(), 20)
        assert await store.lease_holders(clock()) == {"poll": "b"}
        await store.release_lease("poll", "b")
        assert await store.acquire_lease("poll", "a", clock(), 20)
    finally:
        await store.close()


def run_cli(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


async def test_export_import_round_trip(database_url: str, tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    store = await open_store(database_url)
    now = clock()
    a = await store.upsert_chat("telegram", "7", now, title="An", language="en")
    await store.subscribe(a, "topic", "dan-van", "dan-van", now)
    await store.subscribe(a, "keyword", "Chuyển đổi số", "chuyển đổi số", now)
    await store.update_chat(a, now, digest_time="07:30", quiet_hours=False)
    g = await store.upsert_chat("zalo", "grp-1", now, kind="group")
    await store.subscribe(g, "topic", "kiem-tra", "kiem-tra", now)
    exported = await store.export_chats()
    await store.close()

    import os

    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BANTIN_", "TELEGRAM_", "ZALO_"))
    }
    env.update(BANTIN_DATABASE_URL=database_url, BANTIN_CONFIG=str(ROOT / "bantin.toml"))
    out = run_cli("export", "-o", str(tmp_path / "backup.json"), env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "backup.json").read_text(encoding="utf-8"))
    assert data["bantin_export"] == 1 and data["chats"] == exported

    target = f"sqlite+aiosqlite:///{tmp_path / 'restored.sqlite3'}"
    env["BANTIN_DATABASE_URL"] = target
    first = run_cli("import", str(tmp_path / "backup.json"), env=env)
    assert first.returncode == 0, first.stderr
    assert "imported 2 chats and 3 new subscriptions" in first.stdout
    again = run_cli(
        "import", "-", env=env, stdin=(tmp_path / "backup.json").read_text(encoding="utf-8")
    )
    assert "imported 2 chats and 0 new subscriptions" in again.stdout  # idempotent
    restored = await open_store(target)
    try:
        assert await restored.export_chats() == exported
    finally:
        await restored.close()
    bad = run_cli("import", "-", env=env, stdin='{"chats": []}')
    assert bad.returncode == 2 and "not a bantin export" in bad.stderr
