"""The import direction of DESIGN.md: feeds <- storage <- bot.{poller,delivery,commands} <-
bot.app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ADAPTERS = {
    "bot.channels.telegram",
    "bot.channels.zalo",
    "bot.channels.zalo_oa",
    "bot.channels.console",
}
#: what an adapter may import from the bot: the seam and pure helpers with no bot imports
ADAPTER_MAY_USE = (
    "bot.channels.base",
    "bot.channels.common",
    "bot.ops.backoff",
    "bot.ops.redact",
)
#: an adapter's own helper modules (an SDK of ours), which import nothing of the bot either
ADAPTER_OWN = {
    "bot.channels.zalo": ("bot.channels.zalo_api",),
    "bot.channels.telegram": ("bot.channels.telegram_updates",),
    "bot.channels.zalo_oa": (
        "bot.channels.zalo_oa_api",
        "bot.channels.zalo_oa_events",
        "bot.channels.zalo_oa_pricing",
        "bot.channels.zalo_oa_tokens",
    ),
    "bot.channels.zalo_oa_tokens": ("bot.channels.zalo_oa_api",),
}
#: modules allowed to know concrete channel adapters (composition roots)
COMPOSITION = {"bot.app", "bot.demo.runner", "bot.oa_wiring"}
#: decisions without I/O: no storage, no network client
PURE = {"bot.polling.plan"}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for package in ("feeds", "storage", "bot"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out.append((".".join(parts), path))
    return out


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[m for m, _ in _modules()])
def test_import_direction(module: str, path: Path) -> None:
    imports = _imports(path)

    def uses(prefix: str) -> list[str]:
        return sorted(i for i in imports if i == prefix or i.startswith(prefix + "."))

    if module.startswith("feeds"):
        assert not uses("storage") and not uses("bot"), f"{module} must not import storage/bot"
    if module.startswith("storage"):
        assert not uses("bot"), f"{module} must not import bot"
    if module == "storage.records":  # plain values: any layer may hold them
        assert imports <= {
            "__future__",
            "__future__.annotations",
            "dataclasses",
            "dataclasses.dataclass",
            "datetime",
            "datetime.datetime",
            "enum",
            "enum.StrEnum",
        }, f"{module} imports {sorted(imports)}"
    if module.startswith("storage.") and module not in ("storage.store", "storage.tables"):
        # The resource modules know each other only through records, base and tables.
        assert not uses("storage.store"), f"{module} must not import storage.store"
    if module in PURE:
        impure = uses("storage") + uses("httpx") + uses("feeds.fetch") + uses("feeds.reader")
        assert not impure, f"{module} must do no I/O, yet imports {impure}"
    if not module.startswith("storage"):
        assert not uses("sqlalchemy") and not uses("alembic"), (
            f"{module}: SQLAlchemy lives in storage/"
        )
    if module.startswith("bot.channels.") and module != "bot.channels.base":
        may_use = (*ADAPTER_MAY_USE, *ADAPTER_OWN.get(module, ()))
        own = [i for i in uses("bot") if not any(i == m or i.startswith(m + ".") for m in may_use)]
        assert not own, f"adapter {module} may import only {ADAPTER_MAY_USE}, not {own}"
        assert not uses("storage"), f"adapter {module} must not touch storage"
    if module not in COMPOSITION and module not in ADAPTERS:
        known = sorted(i for i in imports if any(i == a or i.startswith(a + ".") for a in ADAPTERS))
        assert not known, (
            f"{module} knows concrete adapters {known}; only {sorted(COMPOSITION)} may"
        )


def test_every_module_has_a_docstring() -> None:
    missing = [
        m
        for m, p in _modules()
        if ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None
    ]
    assert not missing, f"modules without a docstring: {missing}"


#: one room per responsibility: a class with more methods, or a longer module, does too much
MAX_METHODS = 25
MAX_LINES = 500
MAX_FUNCTION_LINES = 80
#: frozen revisions are written once and never refactored
FROZEN = "storage.migrations"


def _too_big() -> list[str]:
    out = []
    for module, path in _modules():
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > MAX_LINES:
            out.append(f"{module}: {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                functions = (ast.FunctionDef, ast.AsyncFunctionDef)
                methods = [n for n in node.body if isinstance(n, functions)]
                if len(methods) > MAX_METHODS:
                    out.append(f"{module}.{node.name}: {len(methods)} methods")
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not module.startswith(
                FROZEN
            ):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    out.append(f"{module}.{node.name}: {length} lines")
    return out


def test_no_class_over_25_methods_no_module_over_500_lines_no_function_over_80() -> None:
    assert not _too_big(), "split these: " + "; ".join(_too_big())


def _environment_reads(tree: ast.AST) -> list[int]:
    """Lines that read the process environment (``os.environ``, ``os.getenv``)."""
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv", "environb")
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            lines.append(node.lineno)
    return lines


#: where the environment is read
READS_ENVIRONMENT = {"bot.settings"}
#: PTB's switch for timedelta retry_after, set (never read) before the library is imported
SETS_LIBRARY_SWITCH = {"bot.channels.telegram": 'os.environ.setdefault("PTB_TIMEDELTA", "1")'}


def test_only_the_settings_read_the_environment() -> None:
    found = []
    for module, path in _modules():
        if module in READS_ENVIRONMENT:
            continue
        text = path.read_text(encoding="utf-8")
        allowed = SETS_LIBRARY_SWITCH.get(module)
        source_lines = text.splitlines()
        for line in _environment_reads(ast.parse(text)):
            if allowed is None or allowed not in source_lines[line - 1]:
                found.append(f"{module}:{line}")
    assert not found, f"environment read outside bot/settings.py: {found}"
