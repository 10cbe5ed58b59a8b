"""feeds.topics: keyword matching on syllable match keys, and topic classification."""

from __future__ import annotations

import time

import pytest

from feeds.models import Topic
from feeds.text import words
from feeds.topics import ArticleKeys, KeywordIndex, TopicIndex, classify, keyword_matches

TITLE = "Đảng ủy Khối sơ kết công tác Dân vận năm 2026"
BODY = (
    "Sáng 26/11, Ban Thường vụ Đảng ủy Khối tổ chức hội nghị sơ kết công tác dân vận. "
    "Hội nghị nhấn mạnh yêu cầu đẩy mạnh chuyển đổi số, bảo đảm an ninh mạng và hỗ trợ "
    "đồng bào vùng thủy điện Hòa Bình. Tham dự có đại diện Uỷ ban Kiểm tra và ông Nguyễn Văn An."
)


@pytest.mark.parametrize(
    "keyword",
    [
        "dân vận",
        "Dân vận",
        "DÂN VẬN",
        "dan van",  # typed without accents: matches accent-insensitively
        "Dan Van",
        "chuyển đổi số",
        "chuyen doi so",
        "an ninh mạng",
        "thuỷ điện",  # the article writes "thủy": tone placement does not matter
        "hoà bình",
        "HÒA BÌNH",
        "ủy ban kiểm tra",  # the article writes "Uỷ ban"
        "Đảng ủy Khối",
        "dang uy khoi",
        "2026",
        "26/11",  # punctuation between syllables is ignored
        "26 11",
        "Nguyễn Văn An",
        "an",  # a whole syllable of "Nguyễn Văn An"
        "ban thuong vu",
    ],
)
def test_keyword_matches(keyword: str) -> None:
    assert keyword_matches(TITLE, BODY, [keyword]) == {keyword}


@pytest.mark.parametrize(
    "keyword",
    [
        "dan vân",  # one accent typed: accents count, and "dan" is not "dân"
        "dân văn",
        "vận dân",  # the syllables in another order
        "an toàn",
        "chuyển đổi số hoá",  # a longer run than the text has
        "ninh mạng xã hội",
        "thủ",  # "thủy" is one syllable
        "Đảngxyz",
        "số chuyển",
    ],
)
def test_keyword_does_not_match(keyword: str) -> None:
    assert keyword_matches(TITLE, BODY, [keyword]) == set()


def test_whole_syllables_only() -> None:
    body = "Người dân ở bản Lác đọc bản án."
    assert keyword_matches("", body, ["an"]) == {"an"}  # "án" folds to "an": a whole syllable
    assert keyword_matches("", "Người dân ở bản Lác.", ["an"]) == set()
    assert keyword_matches("", "Đảngxyz và Đảng viên", ["Đảng"]) == {"Đảng"}
    assert keyword_matches("", "Đảngxyz họp", ["Đảng"]) == set()
    assert keyword_matches("", "xyzĐảng họp", ["Đảng"]) == set()
    assert keyword_matches("", "Cán bộ đảng viên", ["bộ đảng"]) == {"bộ đảng"}
    assert keyword_matches("", "Cán bộđảng viên", ["bộ đảng"]) == set()


def test_accents_required_when_the_keyword_has_them() -> None:
    assert keyword_matches("", "Công tác dan van", ["dân vận"]) == set()
    assert keyword_matches("", "Công tác dan van", ["dan van"]) == {"dan van"}
    assert keyword_matches("", "Ba bà đi bán bánh", ["ba"]) == {"ba"}
    assert keyword_matches("", "Bà đi bán bánh", ["ba"]) == {"ba"}  # folded "bà"
    assert keyword_matches("", "Bà đi bán bánh", ["bá"]) == set()


def test_keywords_are_literal_text_not_patterns() -> None:
    body = "Giá tăng 1.5 lần; mã C++ và hàm f(x) được sửa."
    assert keyword_matches("", body, ["1.5"]) == {"1.5"}
    assert keyword_matches("", body, ["1x5"]) == set()
    assert keyword_matches("", body, ["a.*b", "(y", "[", "\\d+", "f(x)", ".*"]) == {"f(x)"}
    assert keyword_matches("", body, ["", "   ", "?!", "++"]) == set()


def test_returns_the_keywords_as_given() -> None:
    given = ["Dân Vận", "dân vận", "dan van", "không có"]
    assert keyword_matches(TITLE, BODY, given) == {"Dân Vận", "dân vận", "dan van"}
    assert keyword_matches(TITLE, BODY, iter(given)) == {"Dân Vận", "dân vận", "dan van"}
    assert keyword_matches(TITLE, BODY, []) == set()


def test_title_and_body_are_searched_but_not_across() -> None:
    assert keyword_matches("Hội nghị an", "ninh quốc phòng", ["an ninh"]) == set()
    assert keyword_matches("Hội nghị an ninh", "", ["an ninh"]) == {"an ninh"}
    assert keyword_matches("", "Hội nghị an ninh", ["an ninh"]) == {"an ninh"}


def test_keyword_index_reuses_article_keys() -> None:
    index = KeywordIndex(["dân vận", "chuyen doi so", "không có"])
    keys = ArticleKeys.of(TITLE, BODY)
    assert len(index) == 3
    assert index.matches(keys) == {"dân vận", "chuyen doi so"}
    assert index.match(TITLE, BODY) == {"dân vận", "chuyen doi so"}
    assert KeywordIndex([]).match(TITLE, BODY) == set()


def test_keys_from_match_keys_still_match() -> None:
    # The poller passes keys the store saved (match_key of what users typed).
    from feeds.text import match_key

    assert keyword_matches(TITLE, BODY, [match_key("Hòa Bình")]) == {"hoà bình"}


TOPICS = [
    Topic("xay-dung-dang", "Xây dựng Đảng", ("xây dựng Đảng", "kiểm tra")),
    Topic("dan-van", "Dân vận", ("dân vận", "dan van")),
    Topic("chuyen-doi-so", "Chuyển đổi số", ("chuyển đổi số",)),
    Topic("kinh-te", "Kinh tế", ("doanh nghiệp", "tăng trưởng")),
    Topic("quoc-te", "Quốc tế", ()),
]


def test_classify_in_configuration_order() -> None:
    assert classify(TITLE, BODY, [], TOPICS) == ("xay-dung-dang", "dan-van", "chuyen-doi-so")


def test_classify_source_topics() -> None:
    assert classify("Tin vắn", "Không có từ khoá nào.", ["quoc-te"], TOPICS) == ("quoc-te",)
    assert classify("Tin vắn", "Doanh nghiệp tăng trưởng.", ("quoc-te", "kinh-te"), TOPICS) == (
        "kinh-te",
        "quoc-te",
    )
    assert classify("Tin vắn", "Không có gì.", [], TOPICS) == ()
    assert classify(TITLE, BODY, ["unknown"], TOPICS) == (
        "xay-dung-dang",
        "dan-van",
        "chuyen-doi-so",
    )


def test_classify_keyword_in_title_only() -> None:
    assert classify("Đẩy mạnh chuyển đổi số", "", [], TOPICS) == ("chuyen-doi-so",)


def test_classify_with_no_topics() -> None:
    assert classify(TITLE, BODY, ["dan-van"], []) == ()


def test_topic_index() -> None:
    index = TopicIndex(TOPICS)
    keys = ArticleKeys.of(TITLE, BODY)
    assert index.classify(keys) == ("xay-dung-dang", "dan-van", "chuyen-doi-so")
    assert index.classify(keys, ["quoc-te"]) == (
        "xay-dung-dang",
        "dan-van",
        "chuyen-doi-so",
        "quoc-te",
    )
    assert index.classify_text("Kinh tế", "Tăng trưởng 7%.", []) == ("kinh-te",)


def test_matching_is_fast() -> None:
    syllables = words(
        "an bình cao dân đất điện đồng hà hải hoà hội khoa kinh lâm long minh nam nghệ ngọc "
        "nhân phú quảng quốc sơn tâm tân thanh thành thuỷ tiến trung tường văn việt vĩnh xuân"
    )
    # One to three syllables each, half of them with a number the body does not have.
    keywords = [
        " ".join(syllables[(i * k) % len(syllables)] for k in range(1, 2 + i % 3))
        + (f" {i}" if i % 2 else "")
        for i in range(500)
    ]
    body = (BODY + " ") * (20_000 // len(BODY) + 1)
    body = body[:20_000]
    keyword_matches(TITLE, body, keywords)  # compile once
    started = time.perf_counter()
    for _ in range(10):
        keyword_matches(TITLE, body, keywords)
    per_article = (time.perf_counter() - started) / 10
    assert per_article < 0.05  # about 3 ms on a laptop; generous for slow CI


def _reference(title: str, body: str, keywords: list[str]) -> set[str]:
    """The matching rule written plainly (a keyword's syllables, exact or folded, occur in a
    row in the title or in the body): what the index must agree with."""
    from feeds.text import fold_key, match_key

    fields = [words(match_key(title)), words(match_key(body))]
    found = set()
    for given in keywords:
        key = match_key(given)
        accented = fold_key(key) != key
        wanted = words(key if accented else fold_key(key))
        for field in fields:
            have = field if accented else [fold_key(s) for s in field]
            n = len(wanted)
            if n and any(have[i : i + n] == wanted for i in range(len(have) - n + 1)):
                found.add(given)
    return found


def test_the_index_agrees_with_the_rule_on_random_text() -> None:
    import random

    syllables = words(
        "dân vận Dân VẬN dan van hoà hòa HOÀ thuỷ thủy đảng Đảng dang an án ninh 1 5 x TP tp "
        "hcm HCM bộ bo ĐẠI đại dai a_b ²"
    ) + ["x\u0303y", "\u0303", "q\u0323"]  # and combining marks with no letter of their own
    glue = [" ", " ", " ", ". ", ", ", "-", " (", ") ", "\n", "."]
    rnd = random.Random(21)

    def text(n: int) -> str:
        return "".join(rnd.choice(syllables) + rnd.choice(glue) for _ in range(n))

    for _ in range(2000):
        keywords = [text(rnd.randint(1, 4)).strip() for _ in range(rnd.randint(1, 6))]
        title, body = text(rnd.randint(0, 8)), text(rnd.randint(0, 30))
        index = KeywordIndex(keywords)
        assert index.match(title, body) == _reference(title, body, keywords), (keywords, body)
        # Removing and adding back leaves the same index.
        index.discard(keywords[:1])
        index.add(keywords[:1])
        assert index.match(title, body) == _reference(title, body, keywords)
