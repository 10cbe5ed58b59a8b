"""Keys and ids that fit their columns: a 2,000-character link is stored, deduplicated,
pushed once and recorded as an entry failure on PostgreSQL (``VARCHAR(500)`` keys), and an
instance id built from a 200-character host name claims the outbox (``VARCHAR(64)``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest

from bot.config import ConfigError, parse_sources_toml
from bot.ops.leader import MAX_INSTANCE_ID, instance_id
from bot.polling.poller import Poller, PollReport
from feeds.fetch import make_client
from feeds.models import Source, Topic
from feeds.urls import MAX_KEY_CHARS, article_key, canonical_url
from storage.records import SubscriptionKind
from storage.store import Store

PORTAL = "http://portal.test"
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
#: A Vietnamese slug, raw and as feeds percent-encode it (each letter is 2-3 bytes, 6-9 chars).
SLUG = "-".join(["thủ-tướng-chỉ-đạo-đẩy-mạnh-giải-ngân-vốn-đầu-tư-công"] * 13)
LONG_RAW = f"{PORTAL}/thoi-su/{SLUG}.html"
LONG = f"{PORTAL}/thoi-su/{quote(SLUG)}.html"


def rss(items: list[tuple[str, str]]) -> bytes:
    """``items``: (url, title), newest first."""
    out = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>']
    for i, (url, title) in enumerate(items):
        when = (T0 - timedelta(minutes=i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        link = url.replace("&", "&amp;")
        out.append(
            f"<item><title>{title}</title><link>{link}</link><pubDate>{when}</pubDate>"
            f"<description>Tin {title} có đủ chữ để làm tóm tắt.</description></item>"
        )
    return ("".join(out) + "</channel></rss>").encode()


def page(title: str) -> bytes:
    para = f"{title} là một bài viết thử nghiệm có đủ chữ để trích xuất nội dung."
    body = "".join(f"<p>{para} Đoạn {i} nói thêm vài câu nữa.</p>" for i in range(4))
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}"
        "</article></body></html>".encode()
    )


class Rig:
    """One RSS source on ``portal.test`` (a mock transport) polled by the real poller."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.feed = rss([(f"{PORTAL}/old.html", "Tin cũ")])
        self.now = T0
        self.source = Source("s", "S", "rss", f"{PORTAL}/feed.rss", topics=("thoi-su",))
        self.client = make_client(transport=httpx.MockTransport(self.handler))
        topics = (Topic("thoi-su", "Thời sự", ()),)
        self.poller = Poller(store, self.client, topics, clock=lambda: self.now)

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/feed.rss":
            headers = {"Content-Type": "application/rss+xml"}
            return httpx.Response(200, content=self.feed, headers=headers)
        return httpx.Response(200, content=page("Trang"), headers={"Content-Type": "text/html"})

    async def poll(self) -> PollReport:
        self.now += timedelta(hours=1)
        return await self.poller.poll(self.source)


@pytest.fixture
async def rig(store: Store) -> AsyncIterator[Rig]:
    r = Rig(store)
    await store.sync_sources([r.source], r.now)
    chat = await store.upsert_chat("console", "local", r.now)
    await store.subscribe(chat, SubscriptionKind.TOPIC, "thoi-su", "thoi-su", r.now)
    yield r
    r.poller.close()
    await r.client.aclose()


def test_long_keys_are_bounded_stable_and_distinct() -> None:
    assert len(LONG) >= 2000
    key = article_key(LONG)
    assert key.startswith("url:sha256:") and len(key) == len("url:sha256:") + 64
    # One article whatever the spelling: raw or encoded slug, http or https, www. or not.
    assert article_key(LONG_RAW) == key
    assert article_key(LONG.replace("http://", "https://www.")) == key
    assert article_key(LONG + "?utm_source=x") == key
    assert article_key(LONG.replace("thoi-su", "kinh-te")) != key
    # Short keys are unchanged; the longest kept as is is exactly the column's width.
    assert article_key(f"{PORTAL}/a.html") == "url:portal.test/a.html"
    edge = f"{PORTAL}/" + "a" * (MAX_KEY_CHARS - len("url:portal.test/"))
    assert article_key(edge) == "url:" + canonical_url(edge).removeprefix("http://")
    assert len(article_key(edge)) == MAX_KEY_CHARS
    assert article_key(edge + "a").startswith("url:sha256:")


def test_long_id_captures_guids_and_hosts_are_bounded() -> None:
    by_id = article_key(f"{PORTAL}/a?id={'9' * 900}", id_pattern=r"id=(\d+)")
    assert by_id.startswith("portal.test:id:sha256:") and len(by_id) <= MAX_KEY_CHARS
    assert by_id != article_key(f"{PORTAL}/a?id={'9' * 901}", id_pattern=r"id=(\d+)")
    by_guid = article_key("", guid="g" * 700, guid_unique=True, source_id="s")
    assert by_guid.startswith("guid:s:sha256:") and len(by_guid) <= MAX_KEY_CHARS
    long_host = ".".join(["a" * 60] * 9) + ".vn"
    by_host = article_key(f"http://{long_host}/x-duk12.aspx")
    assert by_host.startswith("id:sha256:") and len(by_host) <= MAX_KEY_CHARS


async def test_a_2000_character_link_is_stored_once_and_pushed_once(rig: Rig) -> None:
    first = await rig.poll()
    assert first.ok and first.seeded
    rig.feed = rss([(LONG, "Tin dài"), (f"{PORTAL}/old.html", "Tin cũ")])
    second = await rig.poll()
    assert second.ok and second.new == 1 and second.queued == 1, second.line()
    # Polled again, in the other spelling too: no failure, nothing new, nothing queued again.
    for link in (LONG, LONG_RAW):
        rig.feed = rss([(link, "Tin dài"), (f"{PORTAL}/old.html", "Tin cũ")])
        again = await rig.poll()
        assert again.ok and again.new == 0 and again.queued == 0, again.line()
    assert await rig.store.entry_failures() == []
    state = await rig.store.source_state("s")
    assert state is not None and state.consecutive_failures == 0
    stored = [a.url for a in await rig.store.latest(limit=10)]
    assert sorted(stored) == sorted([LONG, f"{PORTAL}/old.html"])
    jobs = await rig.store.claim_due("console", rig.now + timedelta(minutes=1), limit=10)
    assert [j.article.url for j in jobs if j.article] == [LONG]


async def test_an_entry_failure_of_a_2000_character_link_is_recorded(store: Store) -> None:
    await store.sync_sources([Source("s", "S", "rss", f"{PORTAL}/feed.rss")], T0)
    key = article_key(LONG)
    for n in (1, 2, 3):
        assert await store.record_entry_failure("s", key, LONG, "parser crashed", T0) == n
    assert await store.given_up_keys([key, article_key(f"{PORTAL}/b")], 3) == {key}
    (failure,) = await store.entry_failures("s")
    assert failure.key == key and failure.url == LONG and failure.attempts == 3
    await store.clear_entry_failures([key])
    assert await store.entry_failures("s") == []


def test_instance_id_fits_its_column_and_keeps_pid_and_suffix() -> None:
    host = "build-" + "x" * 194
    iid = instance_id(host, 4242, "a1b2c3")
    assert len(iid) == MAX_INSTANCE_ID and iid.endswith("-4242-a1b2c3") and iid.startswith("build-")
    assert instance_id("web1", 7, "abcdef") == "web1-7-abcdef"
    assert len(instance_id()) <= MAX_INSTANCE_ID


async def test_an_instance_on_a_200_character_host_claims_the_outbox(store: Store) -> None:
    owner = instance_id("h" * 200, 99999, "ffffff")
    chat = await store.upsert_chat("console", "local", T0)
    assert chat.active
    queued = await store.enqueue_message("broadcast", "Xin chào", T0)
    assert queued.deliveries == 1
    jobs = await store.claim_due("console", T0 + timedelta(seconds=1), owner=owner)
    assert len(jobs) == 1
    assert await store.release_claims(owner, T0 + timedelta(seconds=2)) == 1
    assert await store.acquire_lease("send:console", owner, T0, 20)
    assert (await store.lease_holders(T0))["send:console"] == owner


def test_a_source_id_or_topic_slug_longer_than_its_column_is_a_config_error() -> None:
    ok = '[[sources]]\nid = "{id}"\nname = "X"\nkind = "rss"\nurl = "https://x.example/"\n'
    parse_sources_toml(ok.replace("{id}", "s" * 100))
    with pytest.raises(ConfigError, match="sources"):
        parse_sources_toml(ok.replace("{id}", "s" * 101))
    with pytest.raises(ConfigError, match="topics"):
        parse_sources_toml(f'[[topics]]\nslug = "{"t" * 101}"\nname = "T"\n')


async def test_text_from_outside_is_cut_to_its_column(store: Store) -> None:
    """A long source name is cut, a long platform message id does not fail the mark."""
    await store.sync_sources([Source("s", "Tên " * 200, "rss", f"{PORTAL}/feed.rss")], T0)
    await store.sync_sources([Source("s", "Tên " * 201, "rss", f"{PORTAL}/feed.rss")], T0)
    state = await store.source_state("s")
    assert state is not None and state.name == ("Tên " * 201)[:300]
    await store.upsert_chat("console", "local", T0)
    await store.enqueue_message("broadcast", "Xin chào", T0)
    (job,) = await store.claim_due("console", T0, owner="me")
    await store.mark_sent(job.ids, T0, platform_message_id="m" * 300)
    assert await store.claim_due("console", T0 + timedelta(hours=1)) == []
