"""Bytes to text for HTML pages: the charset from the header, the document or a guess,
never an exception for an unknown or broken label; the result NFC-normalised.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import unicodedata

_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)""", re.IGNORECASE)
_SNIFF_BYTES = 2048
# Browsers decode these labels as windows-1252 (WHATWG Encoding), and so do pages in the wild.
_AS_WINDOWS_1252 = {"iso8859-1", "ascii", "cp1252"}
# UTF-7 is refused by browsers (script smuggling); "undefined" raises on any byte; the escape
# codecs and IDNA turn text into other text. A page naming one of them gets the fallbacks.
_REFUSED = {
    "utf-7",
    "undefined",
    "unicode-escape",
    "raw-unicode-escape",
    "idna",
    "punycode",
}
_C1_ERRORS = "bantin-windows-1252-c1"


def _c1_fallback(exc: UnicodeError) -> tuple[str, int]:
    # windows-1252 as browsers do it: the five unassigned bytes map to the C1 controls.
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error(_C1_ERRORS, _c1_fallback)


def decode_html(content: bytes, content_type: str | None) -> str:
    """Decode an HTML/XML body to NFC text, getting Vietnamese legacy encodings right.

    Order: a byte-order mark; strict UTF-8 (valid multi-byte UTF-8 is practically never legacy
    text, and a wrong header is common); the HTTP header charset; the document's own
    declaration in its first 2 KB; windows-1258. Unknown labels fall through.
    """
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if content.startswith(bom):
            return _nfc(content[len(bom) :].decode(codec, errors="replace"))
    try:
        return _nfc(content.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    declared = [c for c in (_header_codec(content_type), _document_codec(content)) if c]
    for codec in declared:
        text = _try_decode(content, codec)
        if text is not None:
            return _nfc(text)
    # Nothing declared decodes cleanly: the portal's legacy encoding is the best bet, and a
    # declared single-byte codec with a stray byte is next.
    text = _try_decode(content, "cp1258")
    if text is not None:
        return _nfc(text)
    for codec in declared:
        # Any codec may still refuse (a label Python maps to something odd): never raise here.
        with contextlib.suppress(LookupError, UnicodeError, ValueError, TypeError):
            return _nfc(content.decode(codec, errors="replace"))
    return _nfc(content.decode("cp1258", errors="replace"))


def _nfc(text: str) -> str:
    # windows-1258 yields base letters plus combining tone marks; NFC composes them.
    return unicodedata.normalize("NFC", text.lstrip("\ufeff"))


def _header_codec(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _HEADER_CHARSET.search(content_type)
    return _codec(m.group(1)) if m else None


def _document_codec(content: bytes) -> str | None:
    head = content[:_SNIFF_BYTES]
    found = [m for m in (_META_CHARSET.search(head), _XML_ENCODING.search(head)) if m]
    if not found:
        return None
    first = min(found, key=lambda m: m.start())
    return _codec(first.group(1).decode("ascii", errors="replace"))


def _codec(label: str) -> str | None:
    """A Python text codec name for a charset label, or None when unknown or refused."""
    try:
        info = codecs.lookup(label.strip().lower())
    except LookupError:
        return None
    name = info.name
    if not getattr(info, "_is_text_encoding", True):
        return None  # base64, zlib, rot13...: bytes-to-bytes codecs behind a plausible label
    if name in _REFUSED or name == "utf-8":
        # utf-8 was already tried strictly and failed; a declaration cannot make it right.
        return None
    if name in _AS_WINDOWS_1252:
        return "cp1252"
    return name


def _try_decode(content: bytes, codec: str) -> str | None:
    errors = _C1_ERRORS if codec == "cp1252" else "strict"
    try:
        return content.decode(codec, errors=errors)
    except (UnicodeError, LookupError, ValueError, TypeError):
        # LookupError: a binary codec such as base64 or zlib behind a plausible label.
        return None
