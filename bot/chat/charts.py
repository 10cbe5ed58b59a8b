"""PNG charts for the admin's ``/stats``: articles stored and deliveries sent per day, drawn
with Pillow.

Owns the choice of a font that renders Vietnamese; imports only the standard library and PIL.
"""

from __future__ import annotations

import datetime
import functools
import io
import logging
import math
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources

from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 900, 500
#: Tableau blue and orange: distinct for the common colour-vision deficiencies and in greyscale.
ARTICLES_COLOUR = (76, 120, 168)
DELIVERIES_COLOUR = (245, 133, 24)
_BACKGROUND = (255, 255, 255)
_INK = (33, 33, 33)
_MUTED = (96, 96, 96)
_GRID = (226, 226, 226)

# Telegram shows a photo at roughly half this width in the chat, so text is sized to stay
# legible after that downscale rather than to look elegant at full size.
_TITLE_SIZE = 28
_LEGEND_SIZE = 20
_TICK_SIZE = 17
_MARGIN = 24

#: Be Vietnam Pro (OFL-1.1, designed for Vietnamese), shipped in bot/fonts with its licence:
#: there wherever the project is installed, with no network and no font package to trust.
_PACKAGED_FONT = ("bot.fonts", "BeVietnamPro-Regular.ttf", "BeVietnamPro-SemiBold.ttf")
#: System fonts known to cover Vietnamese, by file name: Pillow searches the platform's font
#: folders for a bare name. Only reached when the packaged font is missing.
_SYSTEM_FONTS = (
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
    ("arial.ttf", "arialbd.ttf"),
    ("Arial.ttf", "Arial Bold.ttf"),
)
#: Every letter Vietnamese adds to ASCII, lower and upper case: a font must draw all of them.
VIETNAMESE_LETTERS = "ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
VIETNAMESE_LETTERS += VIETNAMESE_LETTERS.upper()

# Pillow's default font (Aileron) covers only ASCII and a few symbols: in the last-resort
# fallback, text is folded to ASCII so it reads "Hoat dong" instead of rows of empty boxes.
_ASCII_FOLD = str.maketrans(
    {"đ": "d", "Đ": "D", "–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"'}
)

FontSource = str | bytes


@dataclass(frozen=True)
class Typeface:
    """The font the charts use: its regular and bold files, and whether it covers Vietnamese."""

    name: str
    regular: FontSource | None
    bold: FontSource | None
    vietnamese: bool


def activity_chart(
    days: Sequence[datetime.date],
    articles: Sequence[int],
    deliveries: Sequence[int],
    *,
    title: str,
    articles_label: str,
    deliveries_label: str,
) -> bytes:
    """Grouped bars per day (articles stored, deliveries sent) as PNG bytes, 900x500.

    ``days`` are the x axis in the order given, labelled "DD/MM". The same input always gives
    the same bytes. Raises ValueError when the sequences differ in length, are empty, or hold a
    negative count.
    """
    _check_series(days, articles, deliveries)
    face = typeface()
    title_font = chart_font(_TITLE_SIZE, bold=True)
    legend_font = chart_font(_LEGEND_SIZE)
    tick_font = chart_font(_TICK_SIZE)

    def text(s: str) -> str:
        # NFC because the basic layout engine places no combining marks: a decomposed "ộ"
        # would draw its accents beside the letter.
        s = unicodedata.normalize("NFC", s)
        return s if face.vietnamese else _fold_ascii(s)

    image = Image.new("RGB", (WIDTH, HEIGHT), _BACKGROUND)
    draw = ImageDraw.Draw(image)

    draw.text((WIDTH // 2, _MARGIN - 6), text(title), font=title_font, fill=_INK, anchor="mt")
    legend_y = _MARGIN + _TITLE_SIZE + 18
    _draw_legend(
        draw,
        legend_y,
        [(text(articles_label), ARTICLES_COLOUR), (text(deliveries_label), DELIVERIES_COLOUR)],
        legend_font,
    )

    ticks = nice_ticks(max(*articles, *deliveries))
    tick_labels = [format_count(t) for t in ticks]
    label_w = max(_text_width(draw, s, tick_font) for s in tick_labels)
    left = _MARGIN + label_w + 10
    right = WIDTH - _MARGIN
    top = legend_y + _LEGEND_SIZE + 22
    bottom = HEIGHT - _MARGIN - _TICK_SIZE - 10
    y_max = ticks[-1]

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * value / y_max

    for t, label in zip(ticks, tick_labels, strict=True):
        y = round(y_of(t))
        draw.line([(left, y), (right, y)], fill=_GRID, width=1)
        draw.text((left - 10, y), label, font=tick_font, fill=_MUTED, anchor="rm")

    n = len(days)
    group_w = (right - left) / n
    bar_w = group_w * 0.36
    gap = max(1.0, group_w * 0.03)
    for i, (a, d) in enumerate(zip(articles, deliveries, strict=True)):
        centre = left + group_w * (i + 0.5)
        _draw_bar(
            draw, centre - gap / 2 - bar_w, centre - gap / 2, a, y_of, bottom, ARTICLES_COLOUR
        )
        _draw_bar(
            draw, centre + gap / 2, centre + gap / 2 + bar_w, d, y_of, bottom, DELIVERIES_COLOUR
        )
    draw.line([(left, bottom), (right, bottom)], fill=_MUTED, width=1)

    _draw_day_labels(draw, days, left=left, group_w=group_w, y=bottom + 8, font=tick_font)

    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _check_series(
    days: Sequence[datetime.date], articles: Sequence[int], deliveries: Sequence[int]
) -> None:
    if not (len(days) == len(articles) == len(deliveries)):
        raise ValueError(
            f"days, articles and deliveries differ in length: "
            f"{len(days)}, {len(articles)}, {len(deliveries)}"
        )
    if not days:
        raise ValueError("no days to chart")
    if any(v < 0 for v in (*articles, *deliveries)):
        raise ValueError("counts must not be negative")


def _draw_day_labels(
    draw: ImageDraw.ImageDraw,
    days: Sequence[datetime.date],
    *,
    left: float,
    group_w: float,
    y: int,
    font: ImageFont.FreeTypeFont,
) -> None:
    """ "DD/MM" under the bars. With many days the labels would overlap: every k-th day is
    labelled, counted back from the newest so that today always is."""
    n = len(days)
    day_labels = [f"{day.day:02d}/{day.month:02d}" for day in days]
    widest = max(_text_width(draw, s, font) for s in day_labels)
    every = max(1, math.ceil((widest + 8) / group_w))
    for i, label in enumerate(day_labels):
        if (n - 1 - i) % every == 0:
            x = round(left + group_w * (i + 0.5))
            draw.text((x, y), label, font=font, fill=_MUTED, anchor="mt")


def nice_ticks(max_value: int, *, most: int = 5) -> list[int]:
    """Round y-axis ticks from 0 covering ``max_value``: steps of 1, 2 or 5 times a power of ten.

    At most ``most`` + 1 ticks; a small or zero maximum still gets an axis of 0..4 so that an
    idle day does not draw a chart with a single gridline (and divides by nothing).
    """
    span = max(max_value, most - 1)
    step = 1
    while True:
        for mult in (1, 2, 5):
            candidate = step * mult
            if math.ceil(span / candidate) <= most:
                top = candidate * math.ceil(span / candidate)
                return list(range(0, top + 1, candidate))
        step *= 10


def format_count(value: int) -> str:
    """A count as Vietnamese writes it, dot-grouped thousands: 50.000."""
    return f"{value:,}".replace(",", ".")


def chart_font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The chart font at ``size`` pixels; see :func:`typeface` for which font that is."""
    return _load_font(size, bold)


@functools.cache
def typeface() -> Typeface:
    """The first font that draws every Vietnamese letter: the packaged Be Vietnam Pro, else a
    system font (DejaVu, Noto, Liberation, Arial); else Pillow's built-in ASCII-only font.

    Chosen once per process. The last resort logs a warning, as the chart then drops diacritics.
    """
    for name, regular, bold in _candidates():
        try:
            font = _truetype(regular, 24)
        except OSError:
            continue
        if not covers(font, VIETNAMESE_LETTERS):
            log.debug("font %s lacks Vietnamese letters; trying the next", name)
            continue
        try:
            bold_font = _truetype(bold, 24)
        except OSError:
            bold = regular
        else:
            if not covers(bold_font, VIETNAMESE_LETTERS):
                bold = regular
        return Typeface(name=name, regular=regular, bold=bold, vietnamese=True)
    log.warning("no font with Vietnamese letters found; charts will drop diacritics")
    return Typeface(name="Pillow default (ASCII)", regular=None, bold=None, vietnamese=False)


def covers(font: ImageFont.FreeTypeFont, letters: str) -> bool:
    """Whether ``font`` has a glyph of its own for every one of ``letters``.

    FreeType draws a missing character as the font's .notdef glyph, a box in some fonts and
    nothing in others, so a letter counts as missing when it renders blank or exactly like a
    character no font maps (U+FFFF).
    """
    notdef = _glyph(font, "\uffff")
    for letter in letters:
        if letter.isspace():
            continue
        glyph = _glyph(font, letter)
        if glyph == notdef or not any(glyph[1]):
            return False
    return True


def _candidates() -> Iterator[tuple[str, FontSource, FontSource]]:
    package, regular, bold = _PACKAGED_FONT
    try:
        root = resources.files(package)
        # Bytes, not a path: that works even when site-packages is a zip.
        yield package, (root / regular).read_bytes(), (root / bold).read_bytes()
    except (ModuleNotFoundError, OSError):
        log.debug("package %s not installed; looking for a system font", package)
    for regular_name, bold_name in _SYSTEM_FONTS:
        yield regular_name, regular_name, bold_name


@functools.cache
def _load_font(size: int, bold: bool) -> ImageFont.FreeTypeFont:
    face = typeface()
    source = face.bold if bold else face.regular
    if source is None:
        return ImageFont.load_default(size)  # type: ignore[return-value]  # FreeType build: a FreeTypeFont
    return _truetype(source, size)


def _truetype(source: FontSource, size: int) -> ImageFont.FreeTypeFont:
    # The basic layout engine, not Raqm: Raqm is present in some Pillow builds and not others,
    # and would shape (and so draw) the same text differently between them. Vietnamese in NFC
    # needs no shaping.
    file = io.BytesIO(source) if isinstance(source, bytes) else source
    return ImageFont.truetype(file, size, layout_engine=ImageFont.Layout.BASIC)


def _glyph(font: ImageFont.FreeTypeFont, letter: str) -> tuple[tuple[int, int], bytes]:
    x0, y0, x1, y1 = font.getbbox(letter)
    left, top, right, bottom = math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1)
    image = Image.new("L", (max(right - left, 1) + 2, max(bottom - top, 1) + 2))
    ImageDraw.Draw(image).text((1 - left, 1 - top), letter, font=font, fill=255)
    return image.size, image.tobytes()


def _fold_ascii(s: str) -> str:
    decomposed = unicodedata.normalize("NFD", s.translate(_ASCII_FOLD))
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return kept.encode("ascii", "replace").decode("ascii")


def _text_width(draw: ImageDraw.ImageDraw, s: str, font: ImageFont.FreeTypeFont) -> int:
    left, _, right, _ = draw.textbbox((0, 0), s, font=font)
    return int(right - left)


def _draw_legend(
    draw: ImageDraw.ImageDraw,
    y: int,
    entries: Sequence[tuple[str, tuple[int, int, int]]],
    font: ImageFont.FreeTypeFont,
) -> None:
    swatch, pad, spacing = 16, 8, 32
    widths = [swatch + pad + _text_width(draw, label, font) for label, _ in entries]
    x = (WIDTH - (sum(widths) + spacing * (len(entries) - 1))) // 2
    for (label, colour), width in zip(entries, widths, strict=True):
        mid = y + _LEGEND_SIZE // 2
        draw.rectangle([x, mid - swatch // 2, x + swatch - 1, mid + swatch // 2 - 1], fill=colour)
        draw.text((x + swatch + pad, mid), label, font=font, fill=_INK, anchor="lm")
        x += width + spacing


def _draw_bar(
    draw: ImageDraw.ImageDraw,
    x0: float,
    x1: float,
    value: int,
    y_of: Callable[[float], float],
    bottom: int,
    colour: tuple[int, int, int],
) -> None:
    if value <= 0:
        return
    # A non-zero day gets at least one pixel, so "a few" never looks like "none".
    y = min(round(y_of(value)), bottom - 1)
    draw.rectangle([round(x0), y, round(x1) - 1, bottom - 1], fill=colour)
