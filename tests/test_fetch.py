"""feeds.fetch against httpx.MockTransport, and decode_html on Vietnamese in legacy charsets."""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from feeds.charset import decode_html
from feeds.errors import FeedError
from feeds.fetch import (
    DEFAULT_USER_AGENT,
    FetchError,
    FetchResult,
    FetchTimeout,
    HTTPStatusError,
    NetworkError,
    TooLarge,
    fetch,
    make_client,
)

URL = "https://dukcqtw.dcs.vn/tin-tuc.aspx"
VIETNAMESE = "Đảng ủy Khối tổng kết công tác kiểm tra, giám sát; thuỷ lợi, hoà giải, Ở đâu, ữ"


def client_for(handler: Callable[[httpx.Request], object]) -> httpx.AsyncClient:
    return make_client(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


# --- fetch -------------------------------------------------------------------------------------


async def test_200_returns_body_validators_and_sends_user_agent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            content=b"<html>ok</html>",
            headers={
                "Content-Type": "text/html; charset=utf-8",
                "ETag": '"v1"',
                "Last-Modified": "Wed, 25 Nov 2026 10:00:00 GMT",
            },
        )

    async with client_for(handler) as client:
        result = await fetch(client, URL)
    assert result == FetchResult(
        url=URL,
        status=200,
        content=b"<html>ok</html>",
        content_type="text/html; charset=utf-8",
        etag='"v1"',
        last_modified="Wed, 25 Nov 2026 10:00:00 GMT",
    )
    assert not result.not_modified
    assert seen[0].headers["User-Agent"] == DEFAULT_USER_AGENT
    assert "If-None-Match" not in seen[0].headers


async def test_304_sends_conditional_headers_and_keeps_validators() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(304)  # many servers repeat neither validator

    async with client_for(handler) as client:
        result = await fetch(
            client, URL, etag='"v1"', last_modified="Wed, 25 Nov 2026 10:00:00 GMT"
        )
    assert seen[0].headers["If-None-Match"] == '"v1"'
    assert seen[0].headers["If-Modified-Since"] == "Wed, 25 Nov 2026 10:00:00 GMT"
    assert result.not_modified and result.status == 304 and result.content == b""
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 25 Nov 2026 10:00:00 GMT"


async def test_follows_redirects_and_reports_the_final_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            return httpx.Response(301, headers={"Location": URL.replace("tin-tuc", "tin-moi")})
        return httpx.Response(200, content=b"moved")

    # Even a client built elsewhere without follow_redirects gets them followed.
    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport) as client:
        result = await fetch(client, URL.replace("https", "http"))
    assert result.url == "https://dukcqtw.dcs.vn/tin-moi.aspx"
    assert result.content == b"moved"


async def test_redirect_loop_is_a_fetch_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": str(request.url)})

    async with client_for(handler) as client:
        with pytest.raises(FetchError, match="too many redirects"):
            await fetch(client, URL)


async def test_announced_size_over_the_cap_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 2000)

    async with client_for(handler) as client:
        with pytest.raises(TooLarge, match=URL):
            await fetch(client, URL, max_bytes=1000)


async def test_streamed_body_is_cut_off_past_the_cap() -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1
            yield b"y" * 1000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks())  # chunked: no Content-Length

    async with client_for(handler) as client:
        with pytest.raises(TooLarge) as info:
            await fetch(client, URL, max_bytes=10_000)
    assert info.value.url == URL
    assert sent < 20  # aborted early, not read to the end


async def test_body_at_the_cap_is_accepted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"z" * 1000)

    async with client_for(handler) as client:
        result = await fetch(client, URL, max_bytes=1000)
    assert len(result.content) == 1000


@pytest.mark.parametrize("status", [404, 500, 503])
async def test_error_status_raises_with_status_and_url(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=b"<h1>Server Error in '/' Application.</h1>")

    async with client_for(handler) as client:
        with pytest.raises(HTTPStatusError) as info:
            await fetch(client, URL)
    assert info.value.status == status
    assert URL in str(info.value) and str(status) in str(info.value)
    assert isinstance(info.value, FetchError) and isinstance(info.value, FeedError)


async def test_429_carries_retry_after() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "120"})

    async with client_for(handler) as client:
        with pytest.raises(HTTPStatusError) as info:
            await fetch(client, URL)
    assert info.value.retry_after == 120.0


async def test_transport_timeout_is_fetch_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    async with client_for(handler) as client:
        with pytest.raises(FetchTimeout, match=URL):
            await fetch(client, URL)


async def test_overall_deadline_is_fetch_timeout() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    async with client_for(slow) as client:
        with pytest.raises(FetchTimeout):
            await fetch(client, URL, timeout=0.05)


async def test_connection_failure_is_network_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Name or service not known", request=request)

    async with client_for(handler) as client:
        with pytest.raises(NetworkError, match="Name or service not known"):
            await fetch(client, URL)


async def test_unfetchable_url_is_a_fetch_error() -> None:
    async with client_for(lambda r: httpx.Response(200)) as client:
        with pytest.raises(FetchError):
            await fetch(client, "ftp://dukcqtw.dcs.vn/x")


# --- decode_html -------------------------------------------------------------------------------

_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def cp1258(text: str) -> bytes:
    """Encode as windows-1258 does in the wild: base letters precomposed, tone marks combining.

    Python's cp1258 codec has no precomposed toned letters (``"ộ".encode("cp1258")`` fails)
    and no combining circumflex/breve/horn either (full NFD fails on ``â``), so only the five
    tone marks are split off.
    """
    out = []
    for ch in text:
        parts = unicodedata.normalize("NFD", ch)
        base = "".join(c for c in parts if c not in _TONE_MARKS)
        out.append(
            unicodedata.normalize("NFC", base) + "".join(c for c in parts if c in _TONE_MARKS)
        )
    return "".join(out).encode("cp1258")


def test_python_cp1258_codec_needs_split_tone_marks() -> None:
    with pytest.raises(UnicodeEncodeError):
        "ộ".encode("cp1258")
    with pytest.raises(UnicodeEncodeError):
        unicodedata.normalize("NFD", "ộ").encode("cp1258")
    assert cp1258("ộ") == b"\xf4\xf2"  # ô + combining dot below


def page(charset_meta: str = "") -> str:
    return (
        f"<html><head>{charset_meta}<title>{VIETNAMESE}</title></head>"
        f"<body><p>{VIETNAMESE}</p></body></html>"
    )


def test_utf8_wins_over_a_wrong_header() -> None:
    raw = page().encode("utf-8")
    assert decode_html(raw, "text/html; charset=iso-8859-1") == page()


def test_windows_1258_from_the_header() -> None:
    text = decode_html(cp1258(page()), "text/html; charset=windows-1258")
    assert text == page()
    assert unicodedata.is_normalized("NFC", text)


def test_windows_1258_from_meta_only() -> None:
    html = page('<meta http-equiv="Content-Type" content="text/html; charset=windows-1258">')
    assert decode_html(cp1258(html), "text/html") == html
    assert decode_html(cp1258(html), None) == html


def test_html5_meta_charset_and_xml_declaration() -> None:
    html = page('<meta charset="windows-1258">')
    assert decode_html(cp1258(html), None) == html
    xml = f'<?xml version="1.0" encoding="windows-1258"?><rss><title>{VIETNAMESE}</title></rss>'
    assert decode_html(cp1258(xml), "application/xml") == xml


def test_windows_1258_without_any_declaration() -> None:
    assert decode_html(cp1258(page()), None) == page()


def test_lying_utf8_header_falls_through_to_meta() -> None:
    html = page('<meta http-equiv="Content-Type" content="text/html; charset=windows-1258">')
    assert decode_html(cp1258(html), "text/html; charset=utf-8") == html


def test_unknown_charset_names_fall_through() -> None:
    html = page('<meta charset="windows-1258">')
    assert decode_html(cp1258(html), "text/html; charset=x-no-such-codec") == html
    assert decode_html(cp1258(page()), "text/html; charset=base64") == page()


@pytest.mark.parametrize("label", ["iso-8859-1", "latin1", "us-ascii", "ISO_8859-1"])
def test_latin1_and_ascii_labels_decode_as_windows_1252(label: str) -> None:
    raw = b"\x93Tin m\xe0 \x80 \x81\x94"  # smart quotes, euro, one unassigned byte
    assert decode_html(raw, f"text/html; charset={label}") == "\u201cTin m\xe0 \u20ac \x81\u201d"


def test_byte_order_mark_wins() -> None:
    raw = b"\xef\xbb\xbf" + "<p>Đảng</p>".encode()
    assert decode_html(raw, "text/html; charset=windows-1258") == "<p>Đảng</p>"
    assert decode_html("<p>Đảng</p>".encode("utf-16"), None) == "<p>Đảng</p>"


def test_result_is_nfc_even_from_decomposed_utf8() -> None:
    raw = unicodedata.normalize("NFD", VIETNAMESE).encode("utf-8")
    assert decode_html(raw, None) == VIETNAMESE
