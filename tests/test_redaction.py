"""No secret in any output: :func:`bot.ops.redact.redact` on its own, in the log formatter and
in the send outcomes; then the whole bot against Bot APIs that echo the token in their error
pages, with /healthz, /metrics, every database row, the admins' alerts and the log searched
for it."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
from conftest import Clock
from fake_telegram import FakeTelegram
from fake_zalo import FakeZalo
from helpers import eventually, wait_for
from sqlalchemy import inspect, text
from telegram.error import InvalidToken

from bot.app import App
from bot.channels.base import ChannelDown, RetryLater
from bot.channels.telegram import outcome
from bot.config import Config, load_settings
from bot.ops.admins import AdminAlerts
from bot.ops.health import Health
from bot.ops.leader import Lease
from bot.ops.logs import RedactingFormatter
from bot.ops.metrics import Metrics
from bot.ops.redact import REDACTED, redact, register_secret, registered
from storage.store import Store

TG_TOKEN = "7012345678:AAH-echo-token-abcdefghijklmnopqrstu"
#: not shaped like a Bot API token: only its registration can hide it
ZALO_TOKEN = "zalo-echo-secret-0123456789abcdef"
METRICS_TOKEN = "metrics-bearer-0123456789"
ADMIN = "100"


def pieces(secret: str) -> list[str]:
    """The secret and its part after the colon, either of which must never be shown."""
    return [secret, secret.partition(":")[2] or secret]


def assert_clean(shown: str, *secrets: str) -> None:
    for secret in secrets:
        for piece in pieces(secret):
            assert piece not in shown


# ------------------------------------------------------------------------------------------
# The function


def test_redact_removes_registered_secrets_and_token_shapes_then_caps() -> None:
    register_secret("a-registered-secret-value")
    assert redact("x a-registered-secret-value y") == f"x {REDACTED} y"
    # Token shapes need no registration: a bare token, one in a Bot API path (however
    # short), one whose colon an echoed URL percent-encoded.
    bare = "token 123456789:AAabcdefghijklmnopqrstuvwxyz0123456 leaked"
    assert redact(bare) == f"token {REDACTED} leaked"
    assert (
        redact("Cannot POST /bot42:short/sendMessage") == f"Cannot POST /bot{REDACTED}/sendMessage"
    )
    assert "%3A" not in redact("GET /bot123456789%3AAAabcdefghijklmnopqrstuvwxyz012/getMe")
    # The cap comes after redaction, so no cut leaves half a secret.
    long = "é" * 600 + " a-registered-secret-value"
    capped = redact(long, limit=100)
    assert len(capped) == 100 and capped.endswith("…")
    assert redact("kept whole", limit=None) == "kept whole"
    # Ordinary text is left alone: times, addresses, ids.
    plain = "12:30:45 at 127.0.0.1:8080, chat -1001234567, host:id:1234"
    assert redact(plain) == plain


def test_short_values_are_not_registered_but_named_secrets_always_go() -> None:
    register_secret("abc")  # would mangle every word containing it
    assert "abc" not in registered()
    assert redact("abcdef") == "abcdef"
    assert redact("key=abc", secrets=["abc"]) == f"key={REDACTED}"
    register_secret("with space&colon:value")
    assert redact("/x/with%20space%26colon%3Avalue/") == f"/x/{REDACTED}/"


def test_send_outcomes_are_redacted_as_they_are_made() -> None:
    register_secret(ZALO_TOKEN)
    assert_clean(str(RetryLater(f"Zalo said {ZALO_TOKEN}")), ZALO_TOKEN)
    echoed = InvalidToken(
        f"Not Found (404). Parsing the server response b'Cannot POST /bot{TG_TOKEN}/sendMessage'"
        " failed"
    )
    down = outcome(echoed)
    assert isinstance(down, ChannelDown)
    assert "Cannot POST /bot***/sendMessage" in str(down)
    assert_clean(str(down), TG_TOKEN)
    assert len(str(RetryLater("x" * 5000))) == 500


def test_the_log_formatter_redacts_tracebacks_of_chained_errors() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter())
    log = logging.getLogger("test_redaction.traceback")
    log.addHandler(handler)
    try:
        try:
            try:  # as PTB raises it, and the adapter translates it
                raise InvalidToken(f"Cannot POST /bot{TG_TOKEN}/sendMessage")
            except InvalidToken as exc:
                raise outcome(exc) from exc
        except ChannelDown:
            log.exception("sending failed for %s", f"https://api.example/bot{TG_TOKEN}/getMe")
        for as_json in (False, True):
            handler.setFormatter(RedactingFormatter(as_json=as_json))
            log.error("ten thousand: %s", "x" * 10_000)
    finally:
        log.removeHandler(handler)
    shown = stream.getvalue()
    assert "Traceback" in shown and "InvalidToken" in shown and REDACTED in shown
    assert_clean(shown, TG_TOKEN)
    assert all(len(line) < 8200 for line in shown.splitlines())


class _TalkativeJob:
    """A background job whose problem quotes a token (a reason made without redaction)."""

    name = "talkative"

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def problems(self) -> dict[str, str]:
        return {"sender:telegram": f"parked: Cannot POST /bot{TG_TOKEN}/sendMessage"}


async def test_health_and_alerts_redact_what_they_are_handed(store: Store, clock: Clock) -> None:
    # Each layer on its own, although the send outcomes come redacted already.
    health = Health(
        store,
        Metrics(),
        jobs=[_TalkativeJob()],
        poll_lease=Lease(store, "poll", "me", clock=clock),
        send_leases={},
        instance_id="me",
        clock=clock,
    )
    healthy, body = await health.check()
    assert not healthy and REDACTED in str(body)
    assert_clean(str(body), TG_TOKEN)
    alerts = AdminAlerts(
        store,
        frozenset({("telegram", ADMIN)}),
        ["telegram"],
        tz=UTC,
        clock=clock,
        on_queued=lambda: None,
    )
    await alerts.register()
    await alerts("alert_channel_down", {"channel": "telegram", "reason": f"x {TG_TOKEN} y"})
    texts = await alert_texts(store)
    assert texts and all(REDACTED in t for t in texts)
    assert_clean("\n".join(texts), TG_TOKEN)


# ------------------------------------------------------------------------------------------
# The whole bot against echoing Bot APIs


@contextmanager
def captured_log() -> Iterator[io.StringIO]:
    """Every record at DEBUG, formatted as the bot writes its log (secrets registered at
    start, token shapes; nothing passed in)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def everything_stored(store: Store) -> str:
    """Every row of every table, as text."""
    out: list[str] = []
    async with store.engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        for name in names:
            rows = (await conn.execute(text(f'SELECT * FROM "{name}"'))).all()
            out.extend(f"{name}: {tuple(row)}" for row in rows)
    return "\n".join(out)


async def last_errors(store: Store) -> list[str]:
    async with store.engine.connect() as conn:
        query = "SELECT last_error FROM deliveries WHERE last_error IS NOT NULL"
        return [row[0] for row in (await conn.execute(text(query))).all()]


async def alert_texts(store: Store) -> list[str]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(text("SELECT text FROM messages WHERE kind = 'alert'"))
        return [row[0] for row in rows.all()]


@asynccontextmanager
async def running_app(env: dict[str, str], database_url: str) -> AsyncIterator[App]:
    env = {
        "BANTIN_DATABASE_URL": database_url,
        "BANTIN_HTTP_HOST": "127.0.0.1",
        "BANTIN_HTTP_PORT": "0",
        "BANTIN_METRICS_TOKEN": METRICS_TOKEN,
        **env,
    }
    config = Config(load_settings(env), (), (), Path("t.toml"))
    app = App(config)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def served(app: App) -> str:
    """/healthz (public and with the token, with details) and /metrics, as one text."""
    assert app.http is not None
    base = f"http://127.0.0.1:{app.http.port}"
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with httpx.AsyncClient() as client:
        answers = [
            await client.get(f"{base}/healthz"),
            await client.get(f"{base}/healthz", headers=bearer),
            await client.get(f"{base}/healthz?details", headers=bearer),
            await client.get(f"{base}/metrics", headers=bearer),
        ]
    assert answers[0].status_code == 503  # the parked sender is named
    return "\n".join(a.text for a in answers)


async def queue(app: App, chat_id: str, body: str) -> None:
    now = datetime.now(UTC)
    await app.store.enqueue_message("broadcast", body, now, chats=[(app_channel(app), chat_id)])
    app.worker.wake()


def app_channel(app: App) -> str:
    return next(iter(app.channels))


async def test_a_bot_api_echoing_the_token_never_gets_it_shown(database_url: str) -> None:
    fake = FakeTelegram(TG_TOKEN)
    with captured_log() as log:
        async with (
            fake.running() as url,
            running_app(
                {
                    "BANTIN_ADMINS": f"telegram:{ADMIN}",
                    "TELEGRAM_BOT_TOKEN": TG_TOKEN,
                    "TELEGRAM_API_BASE_URL": url,
                },
                database_url,
            ) as app,
        ):
            now = datetime.now(UTC)
            for chat in ("7", "8", "9"):
                await app.store.upsert_chat("telegram", chat, now)
            # A 400 rejects the message, a 502 is retried later, a 404 parks the channel
            # ("the token is refused") and alerts the admins: each quotes the echo.
            fake.echo_path("sendMessage", status=400, chat_id=7)
            fake.echo_path("sendMessage", status=502, chat_id=8)
            await queue(app, "7", "Thông báo một")
            await queue(app, "8", "Thông báo hai")

            async def two_errors() -> bool:
                return len(await last_errors(app.store)) >= 2

            await eventually(two_errors)
            # A member's command whose answer meets the echo too (logged, not raised).
            fake.echo_path("sendMessage", status=400, chat_id=10)
            fake.push_message(10, "/help")
            await wait_for(lambda: "reply to 10 not sent" in log.getvalue())
            fake.echo_path("sendMessage", status=404, times=100)
            await queue(app, "9", "Thông báo ba")
            sender = app.worker.senders["telegram"]
            await wait_for(lambda: sender.down is not None)

            async def alerted() -> bool:
                return any("Cannot POST" in t for t in await alert_texts(app.store))

            await eventually(alerted)
            shown = await served(app)
            stored = await everything_stored(app.store)
            errors = await last_errors(app.store)
            alerts = await alert_texts(app.store)
    assert any("Cannot POST /bot***/sendMessage" in e for e in errors)
    assert "Cannot POST /bot***/sendMessage" in shown  # the reasons, behind the token
    for output in (shown, stored, log.getvalue(), *alerts):
        assert_clean(output, TG_TOKEN, METRICS_TOKEN)


async def test_a_zalo_api_echoing_the_token_never_gets_it_shown(database_url: str) -> None:
    fake = FakeZalo(ZALO_TOKEN)
    echo = f"Cannot POST /bot{ZALO_TOKEN}/sendMessage"
    with captured_log() as log:
        async with (
            fake.running() as url,
            running_app(
                {
                    "BANTIN_ADMINS": "zalo:admin-1",
                    "ZALO_BOT_TOKEN": ZALO_TOKEN,
                    "ZALO_API_BASE_URL": url,
                },
                database_url,
            ) as app,
        ):
            now = datetime.now(UTC)
            for chat in ("u-1", "u-2", "u-3"):
                await app.store.upsert_chat("zalo", chat, now)
            html = {"content-type": "text/html"}
            fake.script("sendMessage", 400, {"ok": False, "description": echo}, chat_id="u-1")
            fake.script("sendMessage", 502, echo, chat_id="u-2", headers=html)
            await queue(app, "u-1", "Thông báo một")
            await queue(app, "u-2", "Thông báo hai")

            async def two_errors() -> bool:
                return len(await last_errors(app.store)) >= 2

            await eventually(two_errors)
            fake.script(
                "sendMessage", 401, {"ok": False, "error_code": 401, "description": echo}, times=50
            )
            await queue(app, "u-3", "Thông báo ba")
            sender = app.worker.senders["zalo"]
            await wait_for(lambda: sender.down is not None)

            async def alerted() -> bool:
                return any("Cannot POST" in t for t in await alert_texts(app.store))

            await eventually(alerted)
            shown = await served(app)
            stored = await everything_stored(app.store)
            alerts = await alert_texts(app.store)
    assert "Cannot POST /bot***/sendMessage" in stored
    for output in (shown, stored, log.getvalue(), *alerts):
        assert_clean(output, ZALO_TOKEN, METRICS_TOKEN)
