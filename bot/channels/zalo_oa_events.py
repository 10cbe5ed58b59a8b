"""OA webhook events: the signature check and what an event means for bantin.

The signature (``../shared/zalo-oa-api.md`` section 6) is ``X-ZEvent-Signature: mac=<hex>``,
the plain SHA-256 (not an HMAC) of ``app_id + body + timestamp + key``, where the body is
the raw bytes as received and the timestamp the body's own ``timestamp`` field [official:
Java ``MacUtils.buildMac``]. The key is the OA Secret Key by most sources, the App Secret by
one; some working code puts ``oa_id`` first. Both keys and both first terms are accepted,
compared in constant time, and the variant that matched is logged once, so an operator can
narrow it down. Imports nothing of the bot.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import unicodedata
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-ZEvent-Signature"
#: events that count as the member interacting with the OA (section 3.2)
INTERACTIONS = frozenset(
    {
        "user_send_text",
        "user_send_image",
        "user_send_file",
        "user_send_sticker",
        "user_send_gif",
        "user_send_audio",
        "user_send_video",
        "user_send_location",
        "user_send_link",
        "user_send_business_card",
        "user_submit_info",
        "follow",
    }
)


def mac(first: str, body: bytes, timestamp: str, key: str) -> str:
    """The hex digest Zalo signs an event with."""
    data = first.encode() + body + timestamp.encode() + key.encode()
    return hashlib.sha256(data).hexdigest()


class Verifier:
    """Checks ``X-ZEvent-Signature`` against the documented variants."""

    def __init__(self, app_id: str, *, oa_secret_key: str, app_secret: str) -> None:
        self.app_id = app_id
        self._keys = [
            (name, key)
            for name, key in (("oa_secret_key", oa_secret_key), ("app_secret", app_secret))
            if key
        ]
        self._logged: set[str] = set()

    def variant(self, header: str, body: bytes, event: dict[str, Any]) -> str | None:
        """The variant that matched (``"app_id+oa_secret_key"``...), or None: not signed by Zalo."""
        given = header.strip()
        if given.lower().startswith("mac="):
            given = given[4:]
        if not given:
            return None
        timestamp = str(event.get("timestamp", ""))
        firsts = [("app_id", self.app_id)]
        oa_id = oa_of(event)
        if oa_id:
            firsts.append(("oa_id", oa_id))
        found = None
        for first_name, first in firsts:
            for key_name, key in self._keys:
                # Every variant is computed, so the time taken says nothing about which matched.
                if hmac.compare_digest(
                    given.lower().encode(), mac(first, body, timestamp, key).encode()
                ):
                    found = found or f"{first_name}+{key_name}"
        if found is not None and found not in self._logged:
            self._logged.add(found)
            log.info("zalo_oa: webhook signatures match the variant %s", found)
        return found


def oa_of(event: dict[str, Any]) -> str:
    """The OA an event is about: ``oa_id``, or the recipient of a member's message."""
    if event.get("oa_id"):
        return str(event["oa_id"])
    recipient = event.get("recipient")
    return str(recipient.get("id") or "") if isinstance(recipient, dict) else ""


@dataclass(frozen=True)
class Event:
    """One event as bantin reads it."""

    name: str
    user_id: str
    #: what deduplicates Zalo's retries: the msg_id, or a key made of the event
    key: str
    #: the member's message (empty for a follow or unfollow): replies quote it
    msg_id: str = ""
    text: str = ""
    display_name: str = ""
    timestamp_ms: int = 0


def parse(body: bytes) -> dict[str, Any] | None:
    """The JSON object of a webhook body, or None."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def read(event: dict[str, Any]) -> Event | None:
    """The event if bantin acts on it (an interaction or an unfollow), else None."""
    name = str(event.get("event_name") or "")
    if name not in INTERACTIONS and name != "unfollow":
        return None  # echoes of our own sends, receipts, seen marks
    who = event.get("follower") if name in ("follow", "unfollow") else event.get("sender")
    user_id = str(who.get("id") or "") if isinstance(who, dict) else ""
    if not user_id:
        return None
    raw_ts = str(event.get("timestamp") or "")
    timestamp = int(raw_ts) if raw_ts.isdigit() else 0
    message = event.get("message")
    message = message if isinstance(message, dict) else {}
    msg_id = str(message.get("msg_id") or "")
    key = msg_id or f"{name}:{user_id}:{raw_ts}"
    text = message.get("text") if name == "user_send_text" else ""
    return Event(
        name=name,
        user_id=user_id,
        key=key,
        msg_id=msg_id,
        text=unicodedata.normalize("NFC", text.strip()) if isinstance(text, str) else "",
        display_name=str((who or {}).get("display_name") or "") if isinstance(who, dict) else "",
        timestamp_ms=timestamp,
    )
