"""Nesting depth capped before HTML parsing: the HTML tree builder is super-linear in depth
(80,000 nested ``<div>`` take over a minute), so tags nested deeper than any real page are
dropped (their text stays) by one linear scan. Shallow documents are returned unchanged.
"""

from __future__ import annotations

import re

#: deeper than any real page (browsers cap their trees at 512)
MAX_DEPTH = 256

_TAG = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][A-Za-z0-9:-]*)\b[^>]*>", re.DOTALL)
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
#: opening one of these closes an open one of the same name (sloppy lists and paragraphs)
_SIBLINGS = frozenset(["p", "li", "dt", "dd", "option", "tr", "td", "th"])


def _max_depth_over(html: str, limit: int) -> bool:
    depth = 0
    stack: list[str] = []
    for m in _TAG.finditer(html):
        name = m.group(2)
        if name is None:
            continue
        name = name.lower()
        if name in _VOID or m.group(0).endswith("/>"):
            continue
        if m.group(1):
            if name in stack:
                while stack and stack.pop() != name:
                    pass
            depth = len(stack)
            continue
        if name in _SIBLINGS and stack and stack[-1] == name:
            stack.pop()
        stack.append(name)
        depth = len(stack)
        if depth > limit:
            return True
    return False


def cap_depth(html: str, limit: int = MAX_DEPTH) -> str:
    """``html`` with every tag nested deeper than ``limit`` removed (text kept)."""
    if "<" not in html or not _max_depth_over(html, limit):
        return html
    out: list[str] = []
    stack: list[str] = []
    dropped: dict[str, int] = {}
    pos = 0
    for m in _TAG.finditer(html):
        name = m.group(2)
        if name is None:
            continue
        name = name.lower()
        if name in _VOID or m.group(0).endswith("/>"):
            continue
        keep = True
        if m.group(1):
            if dropped.get(name):
                dropped[name] -= 1
                keep = False
            elif name in stack:
                while stack and stack.pop() != name:
                    pass
        else:
            if name in _SIBLINGS and stack and stack[-1] == name:
                stack.pop()
            if len(stack) >= limit:
                dropped[name] = dropped.get(name, 0) + 1
                keep = False
            else:
                stack.append(name)
        if not keep:
            out.append(html[pos : m.start()])
            pos = m.end()
    out.append(html[pos:])
    return "".join(out)
