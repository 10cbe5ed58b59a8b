"""Every bench in bench/ runs in its tiny mode and prints figures that parse; a broken run
prints none and exits non-zero (issue 18: benchmarks that cannot rot).

Each bench runs as its own process, as a person would run it, from the repository root.
The figures are checked for shape and for the counts that do not depend on the machine
(sources, deliveries, errors), never for speed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import PG_URL, pg_skip_reason

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120  # seconds per bench run; a tiny run takes a few


def samples_dir() -> Path:
    """Where the benches look for the third-party samples (as bench/vietnews.py does)."""
    env = os.environ.get("BANTIN_SAMPLES_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "research-samples"


def bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``bench/<args>`` with this interpreter, from the repository root."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BANTIN_") or k == "BANTIN_SAMPLES_DIR"
    }
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=clean,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def ok(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The figure lines of a run that must have succeeded."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "FAILED" not in result.stderr, result.stderr
    lines = result.stdout.splitlines()
    assert lines, f"no figure printed\n{result.stderr}"
    return lines


def fields(line: str) -> dict[str, str]:
    """``name=value`` pairs of a figure line."""
    return dict(re.findall(r"([\w/>-]+)=(\S+)", line))


def number(text: str) -> float:
    return float(re.sub(r"[^\d.]", "", text))


def test_poll() -> None:
    lines = ok(bench("bench/poll.py", "--tiny"))
    assert [line.split(":")[0] for line in lines] == [
        "pass 1 (all new, first sight)",
        "pass 2 (all unchanged, 304)",
        "pass 3 (all new on seeded sources, fan-out to 3 chats)",
    ]
    first, unchanged, fresh = (fields(line) for line in lines)
    for f in (first, unchanged, fresh):
        assert f["sources"] == "4" and f["errors"] == "0"
    assert first["articles_stored"] == unchanged["articles_stored"] == "20"
    assert fresh["articles_stored"] == "40"
    assert first["queued"] == "0" and fresh["queued"] == "60"  # 20 new items x 3 chats
    assert number(first["items/s"]) > 0 and number(fresh["items/s"]) > 0
    assert "items/s" not in unchanged


def test_poll_errors_are_fatal() -> None:
    """Sources pointed at a closed port: every one errors, so no figure and a non-zero exit."""
    result = bench("bench/poll.py", "--tiny", "--break")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    assert "bench/poll.py: FAILED" in result.stderr
    assert "source s0 errored" in result.stderr


def test_fanout() -> None:
    ingest, line = ok(bench("bench/fanout.py", "--tiny"))
    assert ingest.startswith("ingest: 1 article -> 20 deliveries queued")
    f = fields(line)
    assert f["chats"] == "20" and f["kills"] == "0"
    assert f["missing"] == "0" and f["duplicates"] == "0"
    assert float(f["ratio"]) >= 0 and number(f["first->last"]) >= 0


def test_fanout_survives_a_kill() -> None:
    ingest, line = ok(
        bench("bench/fanout.py", "--tiny", "--rate", "10", "--kill", "1", "--lease", "3")
    )
    assert ingest.startswith("ingest: 1 article -> 20 deliveries queued")
    f = fields(line)
    assert f["kills"] == "1" and f["missing"] == "0"
    assert int(f["duplicates"]) <= 16  # at most the send concurrency per kill


def test_retention() -> None:
    alone, pruning, summary = ok(bench("bench/retention.py", "--tiny"))
    assert re.match(r"fan-out +alone: 20 sends in [\d.]+s", alone), alone
    assert re.match(r"fan-out while pruning: 20 sends in [\d.]+s", pruning), pruning
    assert "pruned 2000 rows" in pruning
    assert re.match(r"retention: added delay -?[\d.]+ ms per send", summary), summary


def test_search() -> None:
    (line,) = ok(bench("bench/search.py", "--tiny"))
    f = fields(line)
    assert line.startswith("sqlite: ") and f["articles"] == "500"
    hits = re.search(r"queries with hits: (\d+)/200", line)
    assert hits and 0 < int(hits[1]) < 200  # some queries match nothing on purpose
    search = re.search(r"search p50=([\d.]+)ms p95=([\d.]+)ms max=([\d.]+)ms", line)
    assert search and 0 <= float(search[1]) <= float(search[2]) <= float(search[3]), line
    assert re.search(r"latest p50=[\d.]+ms p95=[\d.]+ms$", line), line


def test_keywords() -> None:
    build, match = ok(bench("bench/keywords.py", "--tiny"))
    assert build.startswith("keywords: 50 x 200 chats = 10000 keys; build "), build
    assert re.search(r"build_max_lag=\d+ms RSS=[+-]\d+MB; update \+1000 in [\d.]+ms$", build)
    assert match.startswith("match (20 articles of ~600 syllables): p50="), match
    assert re.search(r"100000-char article [\d.]+ms; match_max_lag=\d+ms$", match), match


def _check_scale(lines: list[str], backend: str) -> None:
    figures, console = lines
    assert figures.startswith(f"{backend}: chats=200 articles=500 ")
    assert "enqueue 1 article -> 200 deliveries in" in figures
    assert "claim 500 of them" in figures and "(200)" in figures
    assert number(fields(figures)["RSS"]) > 0
    assert console.startswith("console pages: /admin/ first=")
    assert len(re.findall(r" first=\d+ms p50=\d+ms p95=\d+ms", console)) == 11


def test_scale_sqlite() -> None:
    _check_scale(ok(bench("bench/scale.py", "--tiny", "--sqlite")), "sqlite")


def test_scale_postgresql() -> None:
    reason = pg_skip_reason()
    if reason:
        pytest.skip(f"bench/scale.py on PostgreSQL: {reason} (set BANTIN_TEST_PG_URL)")
    scratch = f"bantin_scale_test_{uuid.uuid4().hex[:8]}"
    result = bench("bench/scale.py", "--tiny", "--pg", PG_URL, "--scratch", scratch, "--drop")
    _check_scale(ok(result), "postgresql")


def test_summarize() -> None:
    if not (samples_dir() / "vietnews_test_sample2000.jsonl").is_file():
        pytest.skip(f"the VietNews sample is not in {samples_dir()} (set BANTIN_SAMPLES_DIR)")
    head, *scores = ok(bench("bench/summarize.py", "--tiny"))
    assert head.startswith("20 documents, max_chars=400")
    assert [s.split()[0] for s in scores] == ["Lead-2", "Lead-3", "ours"]
    for line in scores:
        r1, r2, rl = (float(x) for x in re.findall(r"R[12L] +([\d.]+)", line))
        assert 0 < r2 < r1 < 100 and 0 < rl < 100
    assert re.search(r"[\d.]+ ms/article$", scores[-1])


def test_extract() -> None:
    if not (samples_dir() / "extraction-dev" / "expected.json").is_file():
        pytest.skip(f"the extraction set is not in {samples_dir()} (set BANTIN_SAMPLES_DIR)")
    golden, pages, *results = ok(bench("bench/extract.py", "--tiny"))
    assert re.match(r"golden Vietnamese pages \(\d+\): bodies right ours \d+/\d+", golden)
    assert pages.startswith("5 pages from ")
    assert [r.split()[0] for r in results] == ["ours", "trafilatura"]
    for line in results:
        found = re.search(r"score ([\d.]+) .* raised (\d+)$", line)
        assert found and 0 < float(found[1]) <= 1 and found[2] == "0", line


@pytest.mark.parametrize("script", ["bench/summarize.py", "bench/extract.py"])
def test_absent_samples_are_an_error(script: str, tmp_path: Path) -> None:
    result = bench(script, "--tiny", env={"BANTIN_SAMPLES_DIR": str(tmp_path)})
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout == ""
    assert "not found at" in result.stderr and str(tmp_path) in result.stderr


def test_hostile_bot() -> None:
    *sources, line = ok(bench("bench/hostile.py", "--tiny"))
    assert len(sources) == 10
    assert all(re.match(r"  \w+ +.* poll1=(ok|error) new=\d+", s) for s in sources)
    f = fields(line)
    assert line.startswith("hostile-bot: 10 sources x 1 polls")
    assert f["private_requests"] == "0" and f["good_entries_stored"] == "True"
    assert number(f["peak_rss"]) > 0 and number(f["max_lag"]) >= 0


def test_hostile_fetch_level() -> None:
    (line,) = ok(bench("bench/hostile.py", "--fetch-only", "--tiny"))
    f = fields(line)
    assert re.match(r"hostile: 17 fetches \[", line), line
    assert f["secret_hits"] == "0" and "private:Refused=9" in line
    assert number(f["peak_rss"]) > 0


def test_zalo_flood() -> None:
    one, month, share = ok(bench("bench/zalo_flood.py", "--tiny"))
    assert one.startswith("one member, 60 commands: messages=10 (allowance 10) notices=1 ")
    assert number(fields(one)["cut"]) >= 1
    f = fields(month)
    assert f["pushes_after_flood"] == "5/5" and f["reserve_untouched"] == "True"
    assert f["replies"] == "10/1200"
    g = fields(share)
    assert g["replies"] == "16/16" and g["pushes"] == "6/6" and g["reserve_untouched"] == "True"
