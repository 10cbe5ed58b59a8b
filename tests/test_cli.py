"""run_bot.py as a newcomer runs it: subprocesses against the fake portal on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fake_portal import ScriptedPortal

from bot.config import Config, load_settings
from bot.demo.portal import demo_config_text, load_site
from bot.ops.httpserver import RunningServer, serve

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(
    r"^(?P<id>[\w-]+) (?P<status>ok|error) new=(?P<new>\d+)"
    r" (?P<secs>\d+\.\d+)s(?: (?P<reason>.+))?$"
)


@pytest.fixture(autouse=True)
def _database(database_url: str) -> None:
    _url[0] = database_url


_url = [""]


def env_for(tmp_path: Path, config: Path | None = None, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BANTIN_", "TELEGRAM_", "ZALO_"))
    }
    env.update(
        BANTIN_DATABASE_URL=_url[0],
        BANTIN_DATA_DIR=str(tmp_path / "data"),
        PYTHONUNBUFFERED="1",
    )
    if config is not None:
        env["BANTIN_CONFIG"] = str(config)
    env.update(extra)
    return env


async def run_cli(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 60
) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_bot.py"),
        *args,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def portal_server() -> AsyncIterator[tuple[ScriptedPortal, RunningServer]]:
    portal = ScriptedPortal(load_site())
    server = await serve(portal.app)
    yield portal, server
    await server.stop()


def test_help_lists_subcommands() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in ("run", "poll-once", "check-source", "demo", "db"):
        assert name in out


async def test_poll_once_end_to_end(tmp_path: Path, portal_server) -> None:  # type: ignore[no-untyped-def]
    portal, server = portal_server
    config = tmp_path / "bantin.toml"
    text = (
        demo_config_text(server.base_url)
        + f"""
[[sources]]
id = "dead"
name = "Không tồn tại"
kind = "rss"
url = "{server.base_url}/rss/khong-co.rss"
allow_private = true
"""
    )
    config.write_text(text, encoding="utf-8")
    env = env_for(tmp_path, config)
    code, out, err = await run_cli("poll-once", env=env, cwd=tmp_path)
    assert code == 0, err
    lines = [LINE.match(line) for line in out.splitlines()]
    assert all(lines), out
    by_id = {m["id"]: m for m in lines if m}
    assert by_id["dead"]["status"] == "error" and "404" in by_id["dead"]["reason"]
    assert all(m["status"] == "ok" for sid, m in by_id.items() if sid != "dead")
    assert all(m["new"] == "0" for m in by_id.values())  # first sight is silent

    portal.publish_all()
    code, out, _ = await run_cli("poll-once", env=env, cwd=tmp_path)
    assert code == 0
    news = {m["id"]: int(m["new"]) for m in (LINE.match(line) for line in out.splitlines()) if m}
    assert sum(news.values()) == 4

    code, out, _ = await run_cli("poll-once", env=env, cwd=tmp_path)  # nothing new, and no requeue
    assert sum(int(m["new"]) for m in (LINE.match(line) for line in out.splitlines()) if m) == 0


async def test_bad_configuration_exits_2_with_file_key_reason(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        '[[sources]]\nid = "x"\nname = "X"\nkind = "rss"\nurl = "https://x.example/"\nspeed = 3\n',
        encoding="utf-8",
    )
    code, _, err = await run_cli("poll-once", env=env_for(tmp_path, config), cwd=tmp_path)
    assert code == 2
    assert f"{config}: sources[0].speed: unknown key" in err
    code, _, err = await run_cli(
        "poll-once", env=env_for(tmp_path, config, BANTIN_FETCH_CONCURENCY="3"), cwd=tmp_path
    )
    assert code == 2 and "BANTIN_FETCH_CONCURENCY: unknown setting" in err


TOPICS_OF_DEMO = '[[topics]]\nslug = "kiem-tra"\nname = "Kiểm tra"\n'


async def test_check_source_prints_what_it_extracted(tmp_path: Path, portal_server) -> None:  # type: ignore[no-untyped-def]
    _, server = portal_server
    config = tmp_path / "bantin.toml"
    config.write_text(demo_config_text(server.base_url), encoding="utf-8")
    code, out, err = await run_cli(
        "check-source", "demo-dan-van", "--limit", "2", env=env_for(tmp_path, config), cwd=tmp_path
    )
    assert code == 0, err
    newest = next(
        a
        for a in sorted(load_site(), key=lambda a: a.published, reverse=True)
        if a.section == "dan-van" and a.appear_after == 0
    )
    assert (
        newest.title in out
        and "date:" in out
        and "body:" in out
        and newest.paragraphs[0].split()[0] in out
    )
    # Where each field came from, so the admin knows which selector to add.
    assert "[title: " in out and "[generic]" in out or "[selector]" in out
    if _url[0].startswith("sqlite"):
        assert not Path(_url[0].split("///", 1)[1]).exists()  # nothing stored
    # A URL that is not configured: guessed as a portal listing.
    code, out, _ = await run_cli(
        "check-source",
        f"{server.base_url}/kiem-tra.aspx",
        env=env_for(tmp_path, config),
        cwd=tmp_path,
    )
    assert code == 0 and "guessed kind=html" in out
    # A ready [[sources]] block with the link pattern proposed from the page's own links.
    block = out.split("proposed source", 1)[1].split("\n\n")[1]
    assert block.startswith("[[sources]]") and "link_pattern = '" in block
    # Pasted as it is, it is a valid source: the typed 127.0.0.1 address says allow_private.
    pasted = Config(load_settings({}), (), (), config).with_sources_text(
        block.replace("topics = []", 'topics = ["kiem-tra"]') + "\n" + TOPICS_OF_DEMO,
        filename="pasted.toml",
    )
    assert [s.allow_private for s in pasted.sources] == [True]
    assert pasted.sources[0].list is not None and pasted.sources[0].list.link_pattern
    code, _, err = await run_cli(
        "check-source", "nope", env=env_for(tmp_path, config), cwd=tmp_path
    )
    assert code == 2 and "no source 'nope'" in err


async def test_db_upgrade(tmp_path: Path) -> None:
    code, out, err = await run_cli(
        "db", "upgrade", env=env_for(tmp_path, ROOT / "bantin.toml"), cwd=tmp_path
    )
    assert code == 0, err
    head = max(p.stem[:4] for p in (ROOT / "storage/migrations/versions").glob("0*.py"))
    assert f"revision {head}" in out


async def test_run_stops_cleanly_on_sigterm(tmp_path: Path, portal_server) -> None:  # type: ignore[no-untyped-def]
    _, server = portal_server
    config = tmp_path / "bantin.toml"
    config.write_text(demo_config_text(server.base_url), encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_bot.py"),
        "run",
        env=env_for(tmp_path, config, BANTIN_LOG_LEVEL="INFO"),
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    # Wait until it runs (it logs once started), then ask for /help on the console.
    deadline = time.monotonic() + 30
    seen = b""
    while b"bantin running" not in seen and time.monotonic() < deadline:
        seen += await asyncio.wait_for(proc.stderr.readline(), 30)
    assert b"bantin running" in seen
    proc.stdin.write(b"/help\n")  # type: ignore[union-attr]
    await proc.stdin.drain()  # type: ignore[union-attr]
    await asyncio.sleep(1.0)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0
    assert time.monotonic() - started < 5
    assert "/subscribe" in out.decode()  # the console answered /help
