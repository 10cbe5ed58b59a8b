"""The lock files are complete: every requirement of every locked distribution is locked too.

deploy/install-lock installs a lock with ``--no-deps``, so pip never fills a gap by asking the
index; a requirement the lock lacks would only show up as a broken install (``pip check``). This
walks each lock from its roots (pyproject.toml's dependencies, plus the test extra for the test
lock, plus the installer itself) through the metadata of the installed distributions, extras
included, and fails on any requirement that is not in the lock or whose locked version does not
satisfy it. Markers are evaluated for this machine (the locks are universal; entries for other
platforms are not installed here).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {"requirements.lock": False, "requirements-test.lock": True}  # lock -> with test extra
INSTALLER = ("pip", "setuptools", "wheel")  # written into both locks by `make lock`

_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def read_lock(path: Path) -> dict[str, Version]:
    """The lock's entries that apply to this machine: canonical name -> pinned version."""
    pinned: dict[str, Version] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _ENTRY.match(line)
        if not match:
            continue
        name, version, marker = match.groups()
        if marker and not Marker(marker).evaluate():
            continue
        pinned[canonicalize_name(name)] = Version(version)
    return pinned


def roots(with_test: bool) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project["dependencies"])
    if with_test:
        specs += project["optional-dependencies"]["test"]
    return [Requirement(spec) for spec in (*specs, *INSTALLER)]


def _applies(req: Requirement, extras: Iterable[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": extra}) for extra in ("", *extras))


def missing_requirements(
    locked: Mapping[str, Version],
    requires: Callable[[str], list[str]],
    start: Iterable[Requirement],
) -> list[str]:
    """Every requirement reachable from ``start`` that ``locked`` does not satisfy, as text.

    ``requires(name)`` gives a distribution's ``Requires-Dist`` lines. Extras are followed:
    ``lxml[html_clean]`` needs lxml's requirements under ``extra == "html_clean"`` too.
    """
    problems: list[str] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [(req, "pyproject.toml / installer") for req in start]
    while pending:
        req, wanted_by = pending.pop()
        name = canonicalize_name(req.name)
        version = locked.get(name)
        if version is None:
            problems.append(f"{req} (wanted by {wanted_by}) is not in the lock")
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req} (wanted by {wanted_by}): the lock pins {version}")
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        for line in requires(name):
            sub = Requirement(line)
            if _applies(sub, req.extras):
                sub_extras = ",".join(sorted(req.extras))
                pending.append((sub, f"{name}[{sub_extras}]" if sub_extras else name))
    return sorted(set(problems))


def installed_requires(name: str) -> list[str]:
    return metadata.requires(name) or []


@pytest.mark.parametrize("lock_name", sorted(LOCKS))
def test_the_lock_holds_every_requirement_of_what_it_locks(lock_name: str) -> None:
    locked = read_lock(ROOT / lock_name)
    # The metadata read is that of the locked versions: every entry is installed as pinned
    # (the test venv holds the test lock, which the runtime lock is a subset of).
    test_lock = read_lock(ROOT / "requirements-test.lock")
    for name, version in locked.items():
        assert test_lock.get(name) == version, f"{name}: {lock_name} and the test lock differ"
        assert Version(metadata.version(name)) == version, f"{name} is not installed as locked"
    assert missing_requirements(locked, installed_requires, roots(LOCKS[lock_name])) == []


def test_every_lock_pins_the_installer() -> None:
    for lock_name in LOCKS:
        locked = read_lock(ROOT / lock_name)
        assert set(INSTALLER) <= set(locked), lock_name


def test_a_missing_extra_requirement_is_found() -> None:
    """The case that broke fresh installs: justext wants lxml[html_clean]."""
    requires = {
        "justext": ["lxml[html-clean]>=4.4.2"],
        "lxml": ['lxml-html-clean; extra == "html-clean"', 'cssselect>=0.7; extra == "cssselect"'],
        "lxml-html-clean": ["lxml"],
    }
    locked = {"justext": Version("3.0.2"), "lxml": Version("6.1.3")}

    def lookup(name: str) -> list[str]:
        return requires.get(name, [])

    problems = missing_requirements(locked, lookup, [Requirement("justext")])
    assert problems == [
        'lxml-html-clean; extra == "html-clean" (wanted by lxml[html-clean]) is not in the lock'
    ]
    locked["lxml-html-clean"] = Version("0.4.6")
    assert missing_requirements(locked, lookup, [Requirement("justext")]) == []


def test_a_version_outside_the_specifier_is_found() -> None:
    locked = {"a": Version("1.0"), "b": Version("1.0")}
    requires = {"a": ["b>=2"]}
    problems = missing_requirements(locked, lambda n: requires.get(n, []), [Requirement("a")])
    assert problems == ["b>=2 (wanted by a): the lock pins 1.0"]


def test_a_platform_marker_is_evaluated_for_this_machine(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    lock.write_text(
        "colorama==0.4.6 ; sys_platform == 'win32' \\\n    --hash=sha256:00\n"
        "idna==3.10 \\\n    --hash=sha256:11\n",
        encoding="utf-8",
    )
    assert read_lock(lock) == {"idna": Version("3.10")}
