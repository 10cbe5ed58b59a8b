"""Hostile input at the fetch level: bombs, drips, private addresses, odd spellings, control
characters, lying charsets. Peers are loopback servers (tests/hostile_server.py) or mocks."""

from __future__ import annotations

import asyncio
import socket
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hostile_server import (
    HostileServer,
    Reply,
    deflate_bomb,
    gzip_bomb,
    stacked_gzip_bomb,
)

from bot.config import ConfigError, parse_sources_toml
from bot.polling.check import escape_controls
from feeds.charset import decode_html
from feeds.fetch import (
    FetchError,
    FetchTimeout,
    NetworkError,
    Refused,
    TooLarge,
    fetch,
    make_client,
    refusal_counts,
)
from feeds.models import Source
from feeds.netpolicy import OutboundPolicy, article_policy, listing_policy
from feeds.rss import parse_feed
from feeds.text import MAX_TITLE_CHARS, clean_title, normalize, normalize_block

MB = 1 << 20
PRIVATE = OutboundPolicy(allow_private=True, label="test-private")
STRICT = OutboundPolicy(label="test-strict")


# --- bounded decoding ------------------------------------------------------------------------


async def _fetch_from(server: HostileServer, path: str, **kw: Any) -> Any:
    async with make_client() as client:
        return await fetch(client, server.base_url + path, policy=PRIVATE, **kw)


async def test_gzip_bomb_is_cut_at_the_cap_without_inflating_it() -> None:
    bomb = gzip_bomb(64 * MB)
    assert len(bomb) < 100_000
    routes = {"/b": Reply(headers=(("Content-Encoding", "gzip"),), body=bomb)}
    async with HostileServer(routes).running() as server:
        tracemalloc.start()
        try:
            with pytest.raises(TooLarge, match="once decompressed"):
                await _fetch_from(server, "/b", max_bytes=MB)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 8 * MB  # the cap plus a few steps, not 64 MB


async def test_stacked_gzip_is_refused() -> None:
    routes = {
        "/b": Reply(headers=(("Content-Encoding", "gzip, gzip"),), body=stacked_gzip_bomb(64 * MB))
    }
    async with HostileServer(routes).running() as server:
        with pytest.raises(NetworkError, match="stacked Content-Encoding"):
            await _fetch_from(server, "/b")


@pytest.mark.parametrize("raw", [False, True], ids=["zlib", "raw"])
async def test_deflate_bomb_is_cut_at_the_cap(raw: bool) -> None:
    bomb = deflate_bomb(32 * MB, raw=raw)
    routes = {"/b": Reply(headers=(("Content-Encoding", "deflate"),), body=bomb)}
    async with HostileServer(routes).running() as server:
        with pytest.raises(TooLarge):
            await _fetch_from(server, "/b", max_bytes=MB)


@pytest.mark.parametrize("coding", ["gzip", "deflate-zlib", "deflate-raw", "identity"])
async def test_small_compressed_bodies_decode(coding: str) -> None:
    import zlib

    text = "<p>Đảng ủy Khối</p>".encode() * 1000
    header, body = {
        "gzip": ("gzip", zlib.compress(text, wbits=31)),
        "deflate-zlib": ("deflate", zlib.compress(text)),
        "deflate-raw": ("deflate", zlib.compress(text, wbits=-15)),
        "identity": ("identity", text),
    }[coding]
    routes = {"/p": Reply(headers=(("Content-Encoding", header),), body=body, chunk=7)}
    async with HostileServer(routes).running() as server:
        result = await _fetch_from(server, "/p")
    assert result.content == text


@pytest.mark.parametrize("coding", ["zstd", "compress", "br;q=1", "x-bomb"])
async def test_unknown_encoding_is_refused(coding: str) -> None:
    routes = {"/b": Reply(headers=(("Content-Encoding", coding),), body=b"\x28\xb5\x2f\xfd" * 10)}
    async with HostileServer(routes).running() as server:
        with pytest.raises(NetworkError, match="unsupported Content-Encoding"):
            await _fetch_from(server, "/b")


async def test_brotli_bomb_is_cut_when_brotli_is_installed() -> None:
    brotli = pytest.importorskip("brotli", reason="optional: br is offered only with brotli")
    from feeds.decompress import ACCEPT_ENCODING

    assert "br" in ACCEPT_ENCODING
    routes = {
        "/b": Reply(
            headers=(("Content-Encoding", "br"),), body=brotli.compress(bytes(64 * MB), quality=5)
        ),
        "/s": Reply(
            headers=(("Content-Encoding", "br"),), body=brotli.compress(b"tin " * 5000), chunk=5
        ),
    }
    async with HostileServer(routes).running() as server:
        assert (await _fetch_from(server, "/s")).content == b"tin " * 5000
        with pytest.raises(TooLarge, match="once decompressed"):
            await _fetch_from(server, "/b", max_bytes=MB)


async def test_broken_gzip_is_a_network_error() -> None:
    routes = {"/b": Reply(headers=(("Content-Encoding", "gzip"),), body=b"\x1f\x8b\x08\x00garbage")}
    async with HostileServer(routes).running() as server:
        with pytest.raises(NetworkError, match="broken|truncated"):
            await _fetch_from(server, "/b")


async def test_slow_drip_cannot_stretch_the_deadline() -> None:
    # One byte every 50 ms: each read is quick, so only the overall deadline stops it.
    routes = {"/drip": Reply(body=b"x" * 10_000, chunk=1, drip=0.05)}
    async with HostileServer(routes).running() as server:
        started = time.monotonic()
        with pytest.raises(FetchTimeout, match="within 0.5 s"):
            await _fetch_from(server, "/drip", timeout=0.5)
    assert time.monotonic() - started < 1.5


async def test_oversize_identity_body_without_length_is_cut() -> None:
    routes = {"/big": Reply(body=b"y" * 65536, repeat=200)}  # 13 MB, no Content-Length
    async with HostileServer(routes).running() as server:
        with pytest.raises(TooLarge, match="exceeds the limit of 1048576"):
            await _fetch_from(server, "/big", max_bytes=MB)


async def test_gzip_bomb_while_the_loop_stays_responsive() -> None:
    routes = {"/b": Reply(headers=(("Content-Encoding", "gzip"),), body=gzip_bomb(64 * MB))}
    worst = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not done.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - t - 0.005)

    async with HostileServer(routes).running() as server:
        tick = asyncio.create_task(ticker())
        with pytest.raises(TooLarge):
            await _fetch_from(server, "/b", max_bytes=20 * MB)
        done.set()
        await tick
    # Generous on a shared CI machine: a whole-bomb inflate on the loop takes seconds.
    assert worst < 0.25


async def test_accept_encoding_names_only_what_we_decode() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"ok")

    # Even a plain client (which would offer br and zstd) asks only for what fetch decodes.
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        await fetch(client, "https://portal.example/")
    offered = {c.strip() for c in seen[0].headers["Accept-Encoding"].split(",")}
    assert offered <= {"gzip", "deflate", "br"} and {"gzip", "deflate"} <= offered


# --- outbound policy -------------------------------------------------------------------------

PRIVATE_FORMS = [
    "http://127.0.0.1:{port}/secret",
    "http://localhost:{port}/secret",
    "http://[::1]:{port}/secret",
    "http://[::ffff:127.0.0.1]:{port}/secret",
    "http://[::ffff:7f00:1]:{port}/secret",
    "http://[::127.0.0.1]:{port}/secret",
    "http://2130706433:{port}/secret",
    "http://0177.0.0.1:{port}/secret",
    "http://0x7f.1:{port}/secret",
    "http://0x7f000001:{port}/secret",
    "http://127.1:{port}/secret",
    "http://127.0.0.1.:{port}/secret",
    "http://0:{port}/secret",
    "http://0.0.0.0:{port}/secret",
    "http://[::]:{port}/secret",
    "http://10.1.2.3/secret",
    "http://172.16.0.1/secret",
    "http://192.168.1.1/secret",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/secret",
    "http://224.0.0.1/secret",
    "http://240.0.0.1/secret",
    "http://255.255.255.255/secret",
    "http://[fe80::1]/secret",
    "http://[fc00::1]/secret",
    "http://[ff02::1]/secret",
    "http://[2002:7f00:1::]/secret",
    "http://[64:ff9b::7f00:1]/secret",
    "http://127.0.0.1:5432/",
]


def recording_client(seen: list[str]) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=b"database password is hunter2")

    return make_client(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("form", PRIVATE_FORMS)
async def test_private_address_forms_are_refused_and_never_requested(form: str) -> None:
    routes = {"/secret": Reply(body=b"database password is hunter2")}
    async with HostileServer(routes).running() as server:
        url = form.format(port=server.port)
        before = refusal_counts().get("test-strict", 0)
        # The real transport, and a recording mock: neither may see a request.
        seen: list[str] = []
        for client in (make_client(), recording_client(seen)):
            async with client:
                with pytest.raises(Refused, match="refused"):
                    await fetch(client, url, policy=STRICT)
        assert server.requests == [] and seen == []
        assert refusal_counts()["test-strict"] == before + 2


async def test_allow_private_reaches_loopback_with_host_kept() -> None:
    routes = {"/ok": Reply(body=b"intranet page")}
    async with HostileServer(routes).running() as server:
        result = await _fetch_from(server, "/ok")
    assert result.content == b"intranet page"
    assert server.requests == [(f"127.0.0.1:{server.port}", "/ok")]


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``*.evil.test`` resolves to 127.0.0.1; every lookup is recorded."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        if isinstance(host, str) and host.endswith("evil.test"):
            lookups.append(host)
            return real("127.0.0.1", port, *args, **kw)
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


async def test_name_resolving_to_loopback_is_refused_after_dns(fake_dns: list[str]) -> None:
    routes = {"/secret": Reply(body=b"database password is hunter2")}
    async with HostileServer(routes).running() as server, make_client() as client:
        with pytest.raises(Refused, match="resolves to a loopback address"):
            await fetch(client, f"http://db.evil.test:{server.port}/secret", policy=STRICT)
    assert fake_dns == ["db.evil.test"] and server.requests == []


async def test_allowed_name_connects_to_the_checked_address_keeping_host(
    fake_dns: list[str],
) -> None:
    routes = {"/ok": Reply(body=b"fine")}
    async with HostileServer(routes).running() as server, make_client() as client:
        result = await fetch(client, f"http://intra.evil.test:{server.port}/ok", policy=PRIVATE)
    assert result.content == b"fine"
    assert fake_dns == ["intra.evil.test"]  # resolved once, by us
    assert server.requests == [(f"intra.evil.test:{server.port}", "/ok")]


class Split(httpx.AsyncBaseTransport):
    """portal.test answers from a handler; every other host goes through the real transport."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.mock = httpx.MockTransport(handler)
        self.real = make_client()._transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "portal.test":
            return await self.mock.handle_async_request(request)
        return await self.real.handle_async_request(request)


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret",
        "http://db.evil.test:{port}/secret",
        "http://[::ffff:127.0.0.1]:{port}/secret",
    ],
)
async def test_redirect_to_loopback_is_refused(target: str, fake_dns: list[str]) -> None:
    routes = {"/secret": Reply(body=b"database password is hunter2")}
    async with HostileServer(routes).running() as server:
        location = target.format(port=server.port)
        hops: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            hops.append(request.url.path)
            if request.url.path == "/a":
                return httpx.Response(302, headers={"Location": "/b"})
            return httpx.Response(301, headers={"Location": location})

        async with make_client(transport=Split(handler)) as client:
            with pytest.raises(Refused):
                await fetch(client, "http://portal.test/a", policy=STRICT)
    assert hops == ["/a", "/b"] and server.requests == []


async def test_article_redirect_to_another_domain_is_followed_for_a_public_source() -> None:
    source = Source("s", "S", "rss", "https://portal.test/rss")
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if request.url.host == "portal.test":
            return httpx.Response(302, headers={"Location": "https://elsewhere.example/x"})
        return httpx.Response(200, content=b"the publisher's page")

    async with make_client(transport=httpx.MockTransport(handler)) as client:
        result = await fetch(client, "https://portal.test/a", policy=article_policy(source))
    assert result.content == b"the publisher's page" and result.url == "https://elsewhere.example/x"
    assert hosts == ["portal.test", "elsewhere.example"]


async def test_article_redirect_off_site_is_refused_for_an_allow_private_source() -> None:
    source = Source("s", "S", "rss", "https://portal.test/rss", allow_private=True)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "portal.test":
            return httpx.Response(302, headers={"Location": "https://elsewhere.example/x"})
        raise AssertionError("never asked")

    async with make_client(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(Refused, match="not the source's site"):
            await fetch(client, "https://portal.test/a", policy=article_policy(source))


async def test_too_many_redirects() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        n = int(request.url.path.strip("/") or 0)
        return httpx.Response(302, headers={"Location": f"/{n + 1}"})

    async with make_client(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(FetchError, match="too many redirects"):
            await fetch(client, "https://portal.test/0")


def test_public_source_fetches_article_pages_on_any_public_host() -> None:
    policy = article_policy(Source("s", "S", "rss", "https://portal.example/rss"))
    anywhere = [
        "https://portal.example/a",
        "https://sub.portal.example/a",
        "https://giaitri.portal.example/a",
        "https://feeds.feedburner.example/~r/x/1",
        "https://publisher.elsewhere.example:8080/a",
    ]
    assert [u for u in anywhere if policy.url_refusal(u)] == []
    # Public only: the address rule holds for every host, in every spelling.
    never = [
        "http://127.0.0.1/a",
        "http://[::ffff:10.0.0.1]/a",
        "http://2130706433/a",
        "http://localhost/a",
        "http://169.254.169.254/latest/meta-data",
        "ftp://portal.example/a",
    ]
    assert [u for u in never if not policy.url_refusal(u)] == []


def test_allow_private_article_pages_only_from_the_site_or_article_hosts() -> None:
    source = Source(
        "s",
        "S",
        "html",
        "https://portal.example/tin.aspx",
        article_hosts=("cdn.example.net", "*.img.example", "static.example:8443"),
        allow_private=True,
    )
    policy = article_policy(source)
    allowed = [
        "https://portal.example/a",
        "http://portal.example/a",  # http and https alike
        "https://www.portal.example/a",  # with or without www.
        "https://portal.example:443/a",
        "http://portal.example:80/a",
        "http://portal.example:443/a",  # the default ports count as one
        "https://cdn.example.net/a",
        "https://www.cdn.example.net/a",
        "https://a.img.example/x",
        "https://img.example/x",  # *.img.example: the host and its subdomains
        "https://static.example:8443/x",
    ]
    refused = [
        "https://evil.example/a",
        "https://portal.example.evil.example/a",
        "https://notportal.example/a",
        "https://portal.example:8080/a",  # another port is another site
        "https://sub.portal.example/a",
        "https://static.example/x",
        "ftp://portal.example/a",
    ]
    assert [u for u in allowed if policy.url_refusal(u)] == []
    assert [u for u in refused if not policy.url_refusal(u)] == []
    # The listing URL itself is the admin's: any host.
    assert listing_policy(source).url_refusal("https://feeds.elsewhere.example/rss") is None


def test_non_default_port_of_the_source_is_its_site() -> None:
    source = Source("s", "S", "rss", "http://www.portal.example:8080/rss", allow_private=True)
    policy = article_policy(source)
    assert policy.url_refusal("https://portal.example:8080/a") is None
    assert policy.url_refusal("https://portal.example/a") is not None


def test_private_listing_refused_unless_allowed() -> None:
    strict = Source("s", "S", "rss", "http://10.0.0.5/rss")
    assert listing_policy(strict).url_refusal(strict.url) is not None
    allowed = Source("s", "S", "rss", "http://10.0.0.5/rss", allow_private=True)
    assert listing_policy(allowed).url_refusal(allowed.url) is None
    assert article_policy(allowed).url_refusal("http://10.0.0.5/tin/1") is None
    assert article_policy(allowed).url_refusal("http://10.0.0.6/tin/1") is not None


def test_config_reads_allow_private_and_article_hosts() -> None:
    text = """
[[sources]]
id = "intra"
name = "Intranet"
kind = "rss"
url = "http://10.0.0.5/rss"
allow_private = true
article_hosts = ["cdn.example.vn", "*.img.example.vn"]
"""
    _, (source,) = parse_sources_toml(text)
    assert source.allow_private and source.article_hosts == ("cdn.example.vn", "*.img.example.vn")
    with pytest.raises(ConfigError, match="article_hosts"):
        parse_sources_toml(text.replace('"cdn.example.vn"', '"cdn.example.vn/path"'))
    default = parse_sources_toml(text.replace("allow_private = true\n", ""))[1][0]
    assert not default.allow_private


# --- text at the door ------------------------------------------------------------------------


def test_nul_esc_and_bidi_are_cleaned() -> None:
    dirty = "Tin\x00 nóng\x1b[31m đỏ\x07\u202egnp.exe\x9b"
    assert normalize(dirty) == "Tin nóng[31m đỏgnp.exe"
    block = normalize_block("Đoạn\x00 một\x1b.\n\nĐoạn\x08 hai\x7f.")
    assert block == "Đoạn một.\n\nĐoạn hai."


def test_rss_title_with_nul_entity_and_a_megabyte_is_cleaned_and_capped() -> None:
    long_title = "dài " * 250_000
    feed = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title>
<item><title>Tin &#0;một\x1b[2J</title><link>https://portal.example/1</link></item>
<item><title>{long_title}</title><link>https://portal.example/2</link>
<description>{"chữ " * 60_000}</description></item>
</channel></rss>""".encode()
    first, second = parse_feed(feed, url="https://portal.example/rss")
    assert "\x00" not in first.title and "\x1b" not in first.title
    assert first.title.startswith("Tin") and "một" in first.title
    assert len(second.title) <= MAX_TITLE_CHARS and second.title.endswith("…")
    assert len(second.summary) <= 100_000


def test_title_cap_cuts_on_a_word() -> None:
    capped = clean_title("Hội nghị " * 100)
    assert len(capped) <= MAX_TITLE_CHARS and capped.endswith("…")
    assert capped[:-1].split()[-1] in ("Hội", "nghị")


@pytest.mark.parametrize("label", ["undefined", "x-unknown", "base64", "unicode-escape", "utf-7"])
def test_unknown_or_odd_charset_never_raises(label: str) -> None:
    page = '<html><head><meta charset="windows-1258"></head><body>Đảng</body></html>'
    raw = page.encode("utf-8")
    assert "Đảng" in decode_html(raw, f"text/html; charset={label}")
    # Not UTF-8: the meta charset or the fallback, never an exception.
    legacy = b"<html><body>\xd0a\xecng \xff\xfe</body></html>"
    assert isinstance(decode_html(legacy, f"text/html; charset={label}"), str)
    meta = f'<meta charset="{label}"><p>\xe9\xff</p>'.encode("latin-1")
    assert isinstance(decode_html(meta, None), str)


def test_check_source_escapes_control_characters() -> None:
    shown = escape_controls("Tin\x1b]0;pwned\x07 mới\x00\u202e")
    assert shown == "Tin\\x1b]0;pwned\\x07 mới\\x00\\u202e"
    assert "\x1b" not in shown and "\x07" not in shown


def test_log_lines_escape_control_characters_plain_and_json() -> None:
    import json
    import logging

    from bot.ops.logs import RedactingFormatter

    link = "http://10.0.0.1/tin-1\x1b]0;pwned\x07.html"
    record = logging.LogRecord(
        "feeds.fetch",
        logging.WARNING,
        __file__,
        1,
        "refused GET %s: %s",
        (link, "x\r\nFAKE\u202e"),
        None,
    )
    plain = RedactingFormatter().format(record)
    shown = json.loads(RedactingFormatter(as_json=True).format(record))["message"]
    for line in (plain, shown):
        assert not any(c in line for c in "\x1b\x07\r\n\u202e"), line
        assert "tin-1\\x1b]0;pwned\\x07.html" in line and "x\\r\\nFAKE\\u202e" in line


async def test_check_source_logs_no_raw_control_characters(tmp_path: Any) -> None:
    import io
    import logging

    from bot.config import Config, load_settings
    from bot.ops.logs import RedactingFormatter
    from bot.polling.check import check_source

    links = "".join(
        f'<li><a href="http://10.0.0.{i}/tin-12345{i}\x1b]0;pwned\x07.html">Tin {i}</a></li>'
        for i in range(3)
    )
    page = f"<html><body><ul>{links}</ul></body></html>".encode()
    routes = {"/list": Reply(headers=(("Content-Type", "text/html"),), body=page)}
    env = {"BANTIN_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "BANTIN_PARSE_WORKERS": "0"}
    config = Config(load_settings(env), (), (), tmp_path / "t.toml")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(RedactingFormatter())
    logging.getLogger().addHandler(handler)
    try:
        async with HostileServer(routes).running() as server:
            await check_source(config, server.base_url + "/list")
    finally:
        logging.getLogger().removeHandler(handler)
    text = out.getvalue()
    assert "refused GET" in text and "\\x1b]0;pwned\\x07" in text
    assert "\x1b" not in text and "\x07" not in text
