"""Keywords and mutes per chat (issue 21): the caps and their replies, the caps of an import,
and the poller's keyword index kept up to date in place (new follows are matched, removed
ones cost nothing, late commits are read again)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fake_portal import ScriptedPortal
from sqlalchemy import insert

from bot.app import known_channels
from bot.channels.base import Incoming
from bot.chat.commands import Commands
from bot.chat.keyword_rules import KeywordLimits
from bot.config import Config, ConfigError, load_settings
from bot.demo.portal import demo_config_text, load_site
from bot.ops.importing import ImportProblem, validate_export
from bot.polling.keywords import FollowedKeywords
from bot.polling.poller import Poller
from storage.records import SubscriptionKind
from storage.store import Store, open_store
from storage.tables import SubscriptionRow


@pytest.fixture
async def commands(database_url: str, clock) -> AsyncIterator[Commands]:  # type: ignore[no-untyped-def]
    store = await open_store(database_url)
    yield Commands(
        store,
        (),
        admins=frozenset(),
        tz=ZoneInfo("Asia/Ho_Chi_Minh"),
        clock=clock,
        keyword_limits=KeywordLimits(keywords=3, mutes=2),
    )
    await store.close()


async def say(commands: Commands, text: str, chat_id: str = "7") -> str:
    msg = Incoming(channel="telegram", chat_id=chat_id, user_id=chat_id, text=text)
    return "\n".join(m.text for m in await commands.handle(msg))


async def held(commands: Commands, kind: SubscriptionKind, chat_id: str = "7") -> list[str]:
    chat = await commands.store.get_chat("telegram", chat_id)
    assert chat is not None
    return [s.value for s in await commands.store.subscriptions(chat) if s.kind == kind]


async def test_follow_stops_at_the_cap_with_a_reply_naming_it(commands: Commands) -> None:
    for word in ("dân vận", "kiểm tra", "chuyển đổi số"):
        assert "Sẽ gửi cho bạn tin có từ khóa" in await say(commands, f"/follow {word}")
    full = await say(commands, "/follow an ninh")
    assert "đã theo dõi 3 từ khóa, mức tối đa" in full and "/unfollow" in full
    assert await held(commands, SubscriptionKind.KEYWORD) == [
        "dân vận",
        "kiểm tra",
        "chuyển đổi số",
    ]
    # One already held is no addition: the usual answer, not the cap.
    assert "đã theo dõi từ khóa «Dân Vận» rồi" in await say(commands, "/follow Dân Vận")
    # Another chat has its own cap.
    assert "Sẽ gửi cho bạn" in await say(commands, "/follow an ninh", chat_id="8")
    # Removing one makes room again.
    await say(commands, "/unfollow kiểm tra")
    assert "Sẽ gửi cho bạn tin có từ khóa «an ninh»" in await say(commands, "/follow an ninh")
    await say(commands, "/lang en")
    assert "already follows 3 keywords" in await say(commands, "/follow giáo dục")


async def test_mute_stops_at_its_own_cap(commands: Commands) -> None:
    await say(commands, "/follow dân vận")
    for word in ("bão lũ", "tai nạn"):
        assert "Đã chặn «" in await say(commands, f"/mute {word}")
    full = await say(commands, "/mute giá vàng")
    assert "Đã chặn 2 từ khóa, mức tối đa" in full and "/unmute" in full
    assert await held(commands, SubscriptionKind.MUTE) == ["bão lũ", "tai nạn"]
    # Mutes and keywords are counted apart: one keyword followed, room for two more.
    assert "Sẽ gửi cho bạn" in await say(commands, "/follow kiểm tra")
    await say(commands, "/lang en")
    assert "already mutes 2 keywords" in await say(commands, "/mute giá vàng")


async def test_keyword_length_is_capped(commands: Commands) -> None:
    assert "tối đa 60 ký tự" in await say(commands, "/follow " + "a" * 61)
    assert "Cách dùng: /mute" in await say(commands, "/mute " + "a" * 61)
    assert await say(commands, "/follow " + "a" * 60)  # 60 is allowed
    assert await held(commands, SubscriptionKind.KEYWORD) == ["a" * 60]


def test_the_caps_are_settings() -> None:
    settings = load_settings({"BANTIN_MAX_KEYWORDS": "10", "BANTIN_MAX_MUTES": "5"})
    assert (settings.delivery.max_keywords, settings.delivery.max_mutes) == (10, 5)
    defaults = load_settings({})
    assert (defaults.delivery.max_keywords, defaults.delivery.max_mutes) == (50, 50)
    with pytest.raises(ConfigError, match="BANTIN_MAX_KEYWORDS"):
        load_settings({"BANTIN_MAX_KEYWORDS": "0"})


def _export(kind: str, n: int) -> dict[str, object]:
    subs = [{"kind": kind, "value": f"từ {i}", "key": f"từ {i}"} for i in range(n)]
    return {
        "bantin_export": 1,
        "chats": [{"channel": "telegram", "chat_id": "7", "subscriptions": subs}],
    }


def test_import_refuses_a_chat_over_the_caps() -> None:
    limits = KeywordLimits(keywords=3, mutes=2)
    assert validate_export(_export("keyword", 3), known_channels(), limits)
    assert validate_export(_export("mute", 2), known_channels(), limits)
    with pytest.raises(ImportProblem, match=r"chats\[0\]\.subscriptions: .*4 keywords: .* 3"):
        validate_export(_export("keyword", 4), known_channels(), limits)
    with pytest.raises(ImportProblem, match=r"3 mutes: one chat holds at most 2"):
        validate_export(_export("mute", 3), known_channels(), limits)
    # The default caps (50 each) when none are given.
    assert validate_export(_export("keyword", 50), known_channels())
    with pytest.raises(ImportProblem, match="51 keywords"):
        validate_export(_export("keyword", 51), known_channels())


# -- the poller's index -------------------------------------------------------------------


async def _follow(store: Store, chat_id: str, keyword: str, clock, kind=SubscriptionKind.KEYWORD):  # type: ignore[no-untyped-def]
    chat = await store.upsert_chat("telegram", chat_id, clock())
    await store.subscribe(chat, kind, keyword, keyword, clock())
    return chat


async def test_index_follows_new_subscriptions_in_place(database_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    store = await open_store(database_url)
    try:
        followed = FollowedKeywords(store, clock=clock, page=2)  # several pages per read
        for i, word in enumerate(("dân vận", "kiểm tra", "an ninh")):
            await _follow(store, str(i), word, clock)
        first = await followed.index()
        assert first.match("", "Công tác dân vận và an ninh") == {"dân vận", "an ninh"}
        # A new follow is added to the same index; an unfollow stays until the rebuild.
        chat = await _follow(store, "9", "bão lũ", clock, SubscriptionKind.MUTE)
        await store.unsubscribe(await store.upsert_chat("telegram", "1", clock()), None, None)
        again = await followed.index()
        assert again is first
        assert again.match("", "kiểm tra bão lũ") == {"kiểm tra", "bão lũ"}
        clock.advance(3600)
        rebuilt = await followed.index()
        assert rebuilt is not first and len(rebuilt) == 3
        assert rebuilt.match("", "kiểm tra bão lũ") == {"bão lũ"}
        # A row committed late below the highest id read (PostgreSQL) is read again.
        ids = [i for i, _ in await store.keyword_rows_after(0, 100)]
        late = min(set(range(1, max(ids))) - set(ids))  # the unfollowed row's id, now free
        async with store.engine.begin() as conn:
            await conn.execute(
                insert(SubscriptionRow).values(
                    id=late,
                    chat_id=chat.id,
                    kind="keyword",
                    value="giá vàng",
                    key="giá vàng",
                    created_at=clock(),
                )
            )
        assert (await followed.index()).match("Giá vàng", "") == {"giá vàng"}
    finally:
        await store.close()


class PortalClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_poller_matches_follows_made_between_polls(database_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    base = "http://portal.test"
    pclock = PortalClock()
    portal = ScriptedPortal(load_site(), clock=pclock)
    settings = load_settings({"BANTIN_DATABASE_URL": database_url})
    config = Config(settings, (), (), Path("demo.toml")).with_sources_text(
        demo_config_text(base), filename="demo.toml"
    )
    store = await open_store(database_url)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=portal.app), base_url=base)
    poller = Poller(store, client, config.topics, clock=clock)
    try:
        await store.sync_sources(config.sources, clock())
        await poller.poll_all(config.sources)  # first sight: seeded, nothing matched
        await _follow(store, "1", "to dan van so", clock)  # no accents: matches "Tổ dân vận số"
        pclock.t += 20  # "Ra mắt Tổ dân vận số ..." appears
        clock.advance(60)
        await poller.poll_all(config.sources)
        await _follow(store, "2", "phong cách Hồ Chí Minh", clock)  # after the index was built
        pclock.t += 30  # "... tư tưởng, đạo đức, phong cách Hồ Chí Minh ..." appears
        clock.advance(60)
        await poller.poll_all(config.sources)
        got: dict[str, list[str]] = {}
        for job in await store.claim_due("telegram", clock()):
            assert job.article is not None
            got.setdefault(job.chat.chat_id, []).append(job.article.title)
        assert sorted(got) == ["1", "2"]
        assert [t.startswith("Ra mắt Tổ dân vận số") for t in got["1"]] == [True]
        assert ["phong cách Hồ Chí Minh" in t for t in got["2"]] == [True]
    finally:
        poller.close()
        await client.aclose()
        await store.close()


def test_a_removed_keyword_leaves_the_index_after_a_discard() -> None:
    from feeds.topics import KeywordIndex

    index = KeywordIndex(["dân vận", "Dân Vận", "dan van"])
    assert len(index) == 3
    assert index.discard(["Dân Vận", "không có"]) == 1 and len(index) == 2
    assert index.match("", "Công tác Dân vận") == {"dân vận", "dan van"}
    assert index.add(["dân vận", "an ninh"]) == 1 and len(index) == 3
    assert index.discard(["dân vận", "dan van", "an ninh"]) == 3 and len(index) == 0
    assert index.match("", "Công tác dân vận, an ninh") == set()
