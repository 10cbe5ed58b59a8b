"""Tree helpers shared by the extractor modules: ancestors, siblings, class words, deletion."""

from __future__ import annotations

from collections.abc import Iterable

from selectolax.lexbor import LexborHTMLParser, LexborNode

from feeds.text import normalize


def meta(tree: LexborHTMLParser, selector: str) -> str:
    """The normalised ``content`` of the first node matching ``selector``."""
    node = tree.css_first(selector)
    return normalize(node.attributes.get("content") or "") if node is not None else ""


def element_siblings(node: LexborNode, *, forward: bool, limit: int) -> Iterable[LexborNode]:
    """Up to ``limit`` element siblings after (or before) ``node``, nearest first."""
    sib = node.next if forward else node.prev
    while sib is not None and limit > 0:
        if sib.is_element_node:
            yield sib
            limit -= 1
        sib = sib.next if forward else sib.prev


def decompose(nodes: list[LexborNode]) -> None:
    """Delete ``nodes`` from their tree."""
    # Children before parents: a node is never touched after its ancestor was freed.
    seen: set[int] = set()
    ordered = sorted(nodes, key=depth, reverse=True)
    for node in ordered:
        if node.mem_id not in seen:
            seen.add(node.mem_id)
            node.decompose()


def depth(node: LexborNode) -> int:
    """How many ancestors ``node`` has."""
    return sum(1 for _ in ancestors(node))


def outermost(nodes: list[LexborNode]) -> list[LexborNode]:
    """Matched nodes minus those inside another match, in document order."""
    ids = {n.mem_id for n in nodes}
    out: list[LexborNode] = []
    kept: set[int] = set()
    for node in nodes:
        if node.mem_id not in kept and not any(a.mem_id in ids for a in ancestors(node)):
            kept.add(node.mem_id)
            out.append(node)
    return out


def ancestors(node: LexborNode) -> Iterable[LexborNode]:
    """Parent, grandparent, ... up to the document."""
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def class_words(node: LexborNode) -> set[str]:
    """The lower-cased words of a node's id and class."""
    attrs = node.attributes
    return set(f"{attrs.get('id') or ''} {attrs.get('class') or ''}".lower().split())


def names(node: LexborNode) -> str:
    """A node's id and class, as one string for regexes."""
    attrs = node.attributes
    return f"{attrs.get('id') or ''} {attrs.get('class') or ''}"
