"""The schema of ``import``: every entry of an export checked as on input from chat, with an
error naming the entry and the field, before anything is written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from bot.channels.base import Capabilities
from bot.chat.keyword_rules import MAX_KEYWORD_CHARS, KeywordLimits, keyword_problem
from bot.chat.timeofday import parse_hhmm
from bot.i18n import LANGUAGES
from feeds.text import match_key, normalize
from storage.records import SubscriptionKind

EXPORT_VERSION = 1


class ImportProblem(ValueError):
    """The file is not an export we can import; the message names the entry and field."""


class _Subscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: SubscriptionKind
    value: str = Field(min_length=1, max_length=200)
    key: str = Field(min_length=1, max_length=200)
    #: a forum topic the subscription posts into (Telegram's message_thread_id)
    thread_id: str | None = Field(default=None, max_length=20, pattern=r"^\d+$")

    @field_validator("thread_id", mode="before")
    @classmethod
    def _thread(cls, v: object) -> object:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("value", "key")
    @classmethod
    def _clean(cls, v: str) -> str:
        return normalize(v)


class _Chat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: one of the channels the bot has, and a kind of chat one of them has
    channel: str
    chat_id: str = Field(min_length=1, max_length=64, pattern=r"^[\w.:@-]+$")
    title: str = Field(default="", max_length=256)
    kind: str = "private"
    language: str = "vi"
    active: StrictBool = True
    paused: StrictBool = False
    digest_time: str | None = None
    quiet_hours: StrictBool = True
    format: Literal["full", "compact", "titles"] = "full"
    subscriptions: list[_Subscription] = Field(default_factory=list, max_length=1000)

    @field_validator("channel", "kind")
    @classmethod
    def _known(cls, v: str, info: ValidationInfo) -> str:
        channels: Mapping[str, Capabilities] = (info.context or {}).get("channels", {})
        if info.field_name == "channel":
            known = list(channels)
        else:
            known = list(dict.fromkeys(k for c in channels.values() for k in c.chat_kinds))
        if v not in known:
            raise ValueError(f"must be one of {', '.join(known)}")
        return v

    @field_validator("chat_id", mode="before")
    @classmethod
    def _id(cls, v: object) -> object:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("language")
    @classmethod
    def _language(cls, v: str) -> str:
        if v not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return v

    @field_validator("digest_time")
    @classmethod
    def _hhmm(cls, v: str | None) -> str | None:
        if v is None:
            return None
        when = parse_hhmm(v)  # ValueError names the problem, as /digest does
        return f"{when.hour:02d}:{when.minute:02d}"

    @field_validator("subscriptions")
    @classmethod
    def _keywords(cls, subs: list[_Subscription], info: ValidationInfo) -> list[_Subscription]:
        limits: KeywordLimits = (info.context or {}).get("limits", KeywordLimits())
        for kind in (SubscriptionKind.KEYWORD, SubscriptionKind.MUTE):
            held = len({sub.key for sub in subs if sub.kind == kind})
            if held > limits.cap(kind):
                raise ValueError(f"{held} {kind.value}s: one chat holds at most {limits.cap(kind)}")
        for sub in subs:
            # Keywords and mutes are both literal text matched by syllables.
            if sub.kind not in (SubscriptionKind.KEYWORD, SubscriptionKind.MUTE):
                continue
            if keyword_problem(sub.value):
                raise ValueError(f"keyword {sub.value!r}: 2 to {MAX_KEYWORD_CHARS} characters")
            if sub.key != match_key(sub.value):
                raise ValueError(f"keyword {sub.value!r}: key must be {match_key(sub.value)!r}")
        return subs


class _Export(BaseModel):
    bantin_export: Literal[1]
    chats: list[_Chat]


def validate_export(
    data: object, channels: Mapping[str, Capabilities], limits: KeywordLimits | None = None
) -> list[dict[str, Any]]:
    """The chats of an export, checked and normalised; :class:`ImportProblem` otherwise.

    ``channels`` are the channels the bot has, by name: a chat must be on one of them.
    ``limits``: the keywords and mutes one chat may hold (those of chat commands).
    """
    if not isinstance(data, dict) or data.get("bantin_export") != EXPORT_VERSION:
        raise ImportProblem(f"not a bantin export (version {EXPORT_VERSION})")
    if isinstance(data, dict):
        # Older exports left a subscription's value out: it is its key.
        for chat in data.get("chats") or []:
            for sub in (chat.get("subscriptions") or []) if isinstance(chat, dict) else []:
                if isinstance(sub, dict) and "value" not in sub and "key" in sub:
                    sub["value"] = sub["key"]
    try:
        context = {"channels": channels, "limits": limits or KeywordLimits()}
        export = _Export.model_validate(data, context=context)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ImportProblem(f"{where.lstrip('.') or 'file'}: {first['msg']}{more}") from None
    return [chat.model_dump() for chat in export.chats]
