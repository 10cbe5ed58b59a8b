"""bot.chat.charts: the /stats activity chart is a valid PNG, handles edge data, and draws
Vietnamese."""

from __future__ import annotations

import datetime
import io
import math
from collections.abc import Iterator

import pytest
from PIL import Image, ImageDraw, ImageFont

from bot.chat import charts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DAYS = [datetime.date(2026, 11, 13) + datetime.timedelta(days=i) for i in range(14)]
LABELS = {
    "title": "Hoạt động 14 ngày qua",
    "articles_label": "Tin mới",
    "deliveries_label": "Tin đã gửi",
}


def _decode(png: bytes) -> Image.Image:
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    return image


def _colour_counts(image: Image.Image) -> dict[tuple[int, ...] | float, int]:
    found = image.convert("RGB").getcolors(maxcolors=image.width * image.height)
    assert found is not None
    return {colour: n for n, colour in found}


def _glyph(font: ImageFont.FreeTypeFont, letter: str) -> bytes:
    """The letter drawn alone on a fixed canvas: comparable between letters of one font."""
    image = Image.new("L", (4 * int(font.size), 4 * int(font.size)))
    ImageDraw.Draw(image).text((font.size, font.size), letter, font=font, fill=255)
    return image.tobytes()


@pytest.fixture
def no_fonts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A machine with neither the font package nor any system font: the last-resort path."""
    monkeypatch.setattr(charts, "_PACKAGED_FONT", ("no_such_font_package", "a.ttf", "b.ttf"))
    monkeypatch.setattr(charts, "_SYSTEM_FONTS", ())
    charts.typeface.cache_clear()
    charts._load_font.cache_clear()
    yield
    # The choice is cached per process: forget the crippled one so later tests choose again.
    charts.typeface.cache_clear()
    charts._load_font.cache_clear()


def test_returns_a_png_of_the_chart_size_with_both_series() -> None:
    articles = [12, 30, 25, 0, 7, 41, 38, 22, 19, 5, 0, 33, 28, 14]
    deliveries = [140, 310, 260, 0, 80, 420, 390, 200, 210, 40, 0, 350, 300, 150]

    image = _decode(charts.activity_chart(DAYS, articles, deliveries, **LABELS))

    assert image.size == (charts.WIDTH, charts.HEIGHT) == (900, 500)
    colours = _colour_counts(image)
    assert charts.ARTICLES_COLOUR in colours
    assert charts.DELIVERIES_COLOUR in colours


def test_same_input_gives_the_same_bytes() -> None:
    first = charts.activity_chart(DAYS, range(14), range(0, 28, 2), **LABELS)
    again = charts.activity_chart(DAYS, list(range(14)), list(range(0, 28, 2)), **LABELS)
    assert first == again


def test_all_zero_days_draw_an_axis_and_no_bars() -> None:
    image = _decode(charts.activity_chart(DAYS, [0] * 14, [0] * 14, **LABELS))

    assert image.size == (900, 500)
    # The legend swatches are the only places the series colours may appear.
    counts = _colour_counts(image)
    assert counts[charts.ARTICLES_COLOUR] == counts[charts.DELIVERIES_COLOUR] == 16 * 16
    assert charts.nice_ticks(0) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("days", "articles", "deliveries"),
    [
        (DAYS, [1] * 13, [1] * 14),
        (DAYS, [1] * 14, [1] * 15),
        (DAYS[:3], [1] * 14, [1] * 14),
    ],
)
def test_sequences_of_different_lengths_raise(
    days: list[datetime.date], articles: list[int], deliveries: list[int]
) -> None:
    with pytest.raises(ValueError, match="length"):
        charts.activity_chart(days, articles, deliveries, **LABELS)


def test_no_days_or_negative_counts_raise() -> None:
    with pytest.raises(ValueError):
        charts.activity_chart([], [], [], **LABELS)
    with pytest.raises(ValueError, match="negative"):
        charts.activity_chart(DAYS, [0] * 13 + [-1], [0] * 14, **LABELS)


def test_large_values_get_round_ticks_and_fit_the_canvas() -> None:
    deliveries = [50_000 - i * 1_500 for i in range(14)]
    image = _decode(
        charts.activity_chart(DAYS, [1_200 + i * 97 for i in range(14)], deliveries, **LABELS)
    )

    assert image.size == (900, 500)
    assert charts.nice_ticks(50_000) == [0, 10_000, 20_000, 30_000, 40_000, 50_000]
    assert charts.format_count(50_000) == "50.000"


@pytest.mark.parametrize(
    "max_value", [0, 1, 4, 5, 7, 11, 99, 100, 101, 999, 1_234, 50_000, 123_456, 10**9]
)
def test_ticks_are_few_round_and_cover_the_maximum(max_value: int) -> None:
    ticks = charts.nice_ticks(max_value)

    assert ticks[0] == 0 and ticks[-1] >= max_value
    assert 3 <= len(ticks) <= 6
    step = ticks[1]
    assert all(b - a == step for a, b in zip(ticks, ticks[1:], strict=False))
    leading = step // 10 ** int(math.log10(step))
    assert leading in (1, 2, 5) and step % 10 ** int(math.log10(step)) == 0


def test_many_days_still_render() -> None:
    days = [datetime.date(2026, 9, 28) + datetime.timedelta(days=i) for i in range(60)]
    image = _decode(
        charts.activity_chart(days, list(range(60)), [2 * i for i in range(60)], **LABELS)
    )
    assert image.size == (900, 500)


@pytest.mark.parametrize("bold", [False, True])
def test_chart_font_has_glyphs_for_vietnamese_letters(bold: bool) -> None:
    # Fails on a machine with neither the font package nor a system font: that is a missing
    # install, and the chart would silently drop diacritics there.
    assert charts.typeface().vietnamese, charts.typeface().name
    font = charts.chart_font(28, bold=bold)
    notdef = _glyph(font, "\uffff")  # a noncharacter: drawn as the font's .notdef glyph

    for letter in "ộđữấĐơư":
        assert font.getmask(letter).getbbox() is not None, letter
        assert _glyph(font, letter) not in (notdef, _glyph(font, " ")), letter
    # Distinct glyphs, not one fallback shape for all of them.
    assert len({_glyph(font, letter) for letter in "ộđữấ"}) == 4


def test_covers_tells_a_font_without_vietnamese() -> None:
    ascii_only = ImageFont.load_default(size=20)  # Pillow's built-in Aileron subset
    assert isinstance(ascii_only, ImageFont.FreeTypeFont)

    assert charts.covers(ascii_only, "Hoat dong")
    assert not charts.covers(ascii_only, "ộ")
    assert not charts.covers(ascii_only, "đ")


def test_without_any_vietnamese_font_text_is_folded_to_ascii(no_fonts: None) -> None:
    face = charts.typeface()
    assert not face.vietnamese

    image = _decode(charts.activity_chart(DAYS, [1] * 14, [3] * 14, **LABELS))

    assert image.size == (900, 500)
    assert (
        charts._fold_ascii("Hoạt động 14 ngày qua – Tin đã gửi")
        == "Hoat dong 14 ngay qua - Tin da gui"
    )
