"""URL handling: absolute links, canonical form, and the dedup key of an article.

Pure functions. An invalid ``id_pattern`` raises :class:`feeds.errors.RulesError`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import (
    SplitResult,
    parse_qsl,
    quote,
    urlencode,
    urljoin,
    urlsplit,
    urlunsplit,
)

from feeds.errors import RulesError
from feeds.models import Entry

#: The portal's article URLs end in ``-duk{id}.aspx``; matched against the path.
DEFAULT_ID_PATTERN = r"-duk(\d+)\.aspx"
#: The longest dedup key stored as it is (``articles.key`` and ``entry_failures.key`` are
#: ``VARCHAR(500)``); a longer one becomes a SHA-256 of what it names (see :func:`article_key`).
MAX_KEY_CHARS = 500
_HASH_CHARS = len("sha256:") + 64

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Only parameters that are tracking by every known convention; ``ref``, ``id``, ``source``
# and the like can select content on some sites and are kept.
# fmt: off
_TRACKING = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "zarsrc",
    "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok",
})
# fmt: on
_TRACKING_PREFIXES = ("utm_",)
# Characters left as they are in a path; everything else (spaces, raw Vietnamese) is
# percent-encoded so a raw and an encoded spelling of one URL become the same string.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")
_NOT_LINKS = ("javascript:", "mailto:", "tel:", "sms:", "data:", "about:", "file:")
_TAB_NEWLINE = re.compile(r"[\t\n\r]")


def absolutize(href: str | None, base: str) -> str | None:
    """The absolute http(s) URL ``href`` points to from ``base``, without fragment, or None.

    None for empty hrefs, in-page anchors (``#top``) and non-web schemes (javascript:, mailto:).
    """
    if not href:
        return None
    # Browsers drop tabs and newlines anywhere in a URL; feeds wrap links in newlines.
    href = _TAB_NEWLINE.sub("", href).strip()
    if not href or href.startswith("#") or href.lower().startswith(_NOT_LINKS):
        return None
    href = href.replace("\\", "/")
    if href.startswith("/") and not href.startswith("//") and "/." not in href:
        # The common "/slug-duk123.aspx": no join needed (a listing has a hundred of them).
        origin = _origin(base)
        if origin:
            return origin + href.partition("#")[0]
    try:
        parts = urlsplit(urljoin(base, href))
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.netloc:
        return None
    return urlunsplit(parts._replace(fragment=""))


@lru_cache(maxsize=256)
def _origin(base: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) base URL, else None."""
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def canonical_url(url: str) -> str:
    """One spelling per URL: lower-case scheme/host, no default port, fragment or tracking.

    Query parameters are sorted; the trailing slash of a non-root path and an empty query are
    dropped; raw non-ASCII path characters are percent-encoded with upper-case hex.
    """
    url = unicodedata.normalize("NFC", url.strip())
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return urlunsplit((scheme, _netloc(parts, scheme), _path(parts.path), _query(parts.query), ""))


def article_key(
    url: str,
    *,
    guid: str | None = None,
    guid_unique: bool = False,
    id_pattern: str | None = None,
    source_id: str = "",
) -> str:
    """The dedup key of an article, stable across runs and across http/https.

    1. ``"{host}:id:{id}"``: the portal's own id when the URL has one (``DEFAULT_ID_PATTERN``
       on the path, or the source's ``id_pattern`` on the path and query; one group).
    2. ``"url:{host}{path}?{query}"``: the canonical URL without its scheme.
    3. ``"guid:{source_id}:{guid}"``: only without a usable URL, and only if the GUID is
       unique in its document (``guid_unique``).

    ``host`` is lower-case without a leading ``www.``. A key over ``MAX_KEY_CHARS`` (a long
    percent-encoded slug, id or GUID) is ``"url:sha256:{hex}"`` of the canonical URL without
    its scheme, ``"{host}:id:sha256:{hex}"`` of the id, ``"guid:{source_id}:sha256:{hex}"`` of
    the GUID: as stable, and it fits its column. Raises ValueError when none applies.
    """
    parts = urlsplit(canonical_url(url)) if url and url.strip() else None
    if parts is not None and parts.scheme in _DEFAULT_PORTS and parts.hostname:
        host = _bare_host(parts.hostname)
        if id_pattern:
            target = parts.path + ("?" + parts.query if parts.query else "")
            m = _compile(id_pattern).search(target)
        else:
            m = _compile(DEFAULT_ID_PATTERN).search(parts.path)
        if m:
            return _bounded("id", f"{host}:id:", m.group(1) if m.groups() else m.group(0))
        port = f":{parts.port}" if parts.port else ""
        query = f"?{parts.query}" if parts.query else ""
        return _bounded("url", "url:", f"{host}{port}{parts.path}{query}")
    if guid and guid.strip() and guid_unique:
        return _bounded("guid", f"guid:{source_id}:", guid.strip())
    raise ValueError(f"no dedup key: no usable URL ({url!r}) and no unique GUID ({guid!r})")


def entry_keys(
    entries: Sequence[Entry], *, id_pattern: str | None = None, source_id: str = ""
) -> list[str | None]:
    """:func:`article_key` for each entry of one document (GUID uniqueness counted once).

    None where an entry has no key; linear in the number of entries.
    """
    counts = Counter(e.guid for e in entries if e.guid)
    keys: list[str | None] = []
    for e in entries:
        try:
            keys.append(
                article_key(
                    e.url,
                    guid=e.guid,
                    guid_unique=e.guid is not None and counts[e.guid] == 1,
                    id_pattern=id_pattern,
                    source_id=source_id,
                )
            )
        except ValueError:
            keys.append(None)
    return keys


def _bounded(kind: str, prefix: str, value: str) -> str:
    """``prefix + value``, or ``prefix + "sha256:" + hex`` of ``value`` when that is too long.

    A prefix too long itself (a host name of hundreds of characters) is hashed with the value
    and replaced by ``kind:``.
    """
    if len(prefix) + len(value) <= MAX_KEY_CHARS:
        return prefix + value
    if len(prefix) + _HASH_CHARS > MAX_KEY_CHARS:
        value, prefix = prefix + value, f"{kind}:"
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{prefix}sha256:{digest}"


@lru_cache(maxsize=64)
def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise RulesError(f"invalid id_pattern {pattern!r}: {exc}") from exc


def _bare_host(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


def _netloc(parts: SplitResult, scheme: str) -> str:
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        # An invalid port: keep what was written rather than guess.
        return parts.netloc.lower()
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    return netloc


def _path(path: str) -> str:
    path = quote(path, safe=_PATH_SAFE)
    path = _PERCENT.sub(lambda m: m.group(0).upper(), path)
    if not path:
        return "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


def _query(query: str) -> str:
    if not query:
        return ""
    pairs = [
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if k.lower() not in _TRACKING and not k.lower().startswith(_TRACKING_PREFIXES)
    ]
    pairs.sort()
    return urlencode(pairs, quote_via=quote)
