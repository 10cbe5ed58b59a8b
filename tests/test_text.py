"""feeds.text: normalisation, match keys, words and the Vietnamese sentence splitter."""

from __future__ import annotations

import time
import unicodedata

import pytest

from feeds.text import (
    fold_key,
    match_key,
    normalize,
    normalize_block,
    split_paragraphs,
    split_sentences,
    words,
)

# -- normalize ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("   \n\t ", ""),
        ("  Hà  Nội \n", "Hà Nội"),
        ("Hà\u00a0Nội", "Hà Nội"),  # NBSP
        ("Hà\u202fNội\u2009mới", "Hà Nội mới"),  # narrow and thin spaces
        ("Đảng\u200b bộ", "Đảng bộ"),  # zero-width space
        ("Dân\u200cvận\u200d", "Dânvận"),  # ZWNJ, ZWJ
        ("\ufeffTin mới", "Tin mới"),  # byte-order mark
        ("Chuyển\u2060đổi", "Chuyểnđổi"),  # word joiner
        ("chuyển đổi\u00ad số", "chuyển đổi số"),  # soft hyphen
        ("dòng một\r\ndòng hai\n\nba", "dòng một dòng hai ba"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_normalize_composes_decomposed_input() -> None:
    decomposed = unicodedata.normalize("NFD", "Nghị quyết Đại hội")
    assert decomposed != "Nghị quyết Đại hội"
    assert normalize(decomposed) == "Nghị quyết Đại hội"


def test_normalize_composes_across_an_invisible_character() -> None:
    # A zero-width space between a letter and its combining mark must not block NFC.
    assert normalize("a\u200b\u0301n") == "án"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("Một.\n\nHai.", "Một.\n\nHai."),
        ("Một.\r\n\r\n\r\nHai.", "Một.\n\nHai."),
        ("  Một  câu. \n \t \n  Hai\u00a0câu. ", "Một câu.\n\nHai câu."),
        # A line break ends a paragraph: captions and bylines are lines of their own.
        ("Ông A phát biểu.\nẢnh: TTXVN", "Ông A phát biểu.\n\nẢnh: TTXVN"),
        ("Bài viết\nNguyễn Văn A", "Bài viết\n\nNguyễn Văn A"),
        # A hard wrap in the middle of a sentence does not.
        ("Hội nghị diễn ra\ntrong hai ngày.", "Hội nghị diễn ra trong hai ngày."),
        ("Kết thúc.\nmột dòng thường", "Kết thúc.\n\nmột dòng thường"),
        ("Đoạn\u200b một.\n\n\ufeffĐoạn hai.", "Đoạn một.\n\nĐoạn hai."),
    ],
)
def test_normalize_block(raw: str, expected: str) -> None:
    assert normalize_block(raw) == expected
    assert split_paragraphs(raw) == [p for p in expected.split("\n\n") if p]


# -- match keys -----------------------------------------------------------------------------

# (old style, new style): the mark on the first or on the second vowel of oa / oe / uy.
TONE_PAIRS = [
    ("hòa", "hoà"),
    ("Hòa Bình", "Hoà Bình"),
    ("HÒA BÌNH", "HOÀ BÌNH"),
    ("hóa học", "hoá học"),
    ("tỏa sáng", "toả sáng"),
    ("thỏa thuận", "thoả thuận"),
    ("họa sĩ", "hoạ sĩ"),
    ("lõa", "loã"),
    ("òa khóc", "oà khóc"),
    ("ngọa", "ngoạ"),
    ("khỏe", "khoẻ"),
    ("xòe", "xoè"),
    ("lóe", "loé"),
    ("thủy điện", "thuỷ điện"),
    ("Ủy ban", "Uỷ ban"),
    ("ủy viên", "uỷ viên"),
    ("tùy", "tuỳ"),
    ("hủy", "huỷ"),
    ("lũy kế", "luỹ kế"),
    ("thụy", "thuỵ"),
]


@pytest.mark.parametrize(("old", "new"), TONE_PAIRS)
def test_match_key_folds_tone_placement(old: str, new: str) -> None:
    assert match_key(old) == match_key(new)
    assert match_key(old) == normalize(new).lower()  # the key uses the new style


@pytest.mark.parametrize(
    "word",
    [
        # "qu" + y: the u is part of the onset, the tone sits on the y in both styles.
        "quý",
        "Quý",
        "quỳ",
        "quỷ",
        "quỹ",
        "quỵ",
        # a final consonant or a third vowel: both styles mark the same letter.
        "quỳnh",
        "hoàn",
        "thuyền",
        "khoảng",
        "tuyển",
        "hoài",
        "khuỷu",
        "hoạch",
        "loét",
        "toán",
        # look-alikes that are not oa / oe / uy rhymes.
        "của",
        "múa",
        "gió",
        "ngoại",
        "đoán",
        "khuya",
    ],
)
def test_match_key_leaves_unambiguous_syllables(word: str) -> None:
    assert match_key(word) == word.lower()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Hội đồng nhân dân", "HỘI ĐỒNG NHÂN DÂN"),
        ("  Ban   Dân vận ", "ban dân vận"),
        ("Hòa\u00a0Bình", "hoà bình"),
        (unicodedata.normalize("NFD", "Thủy lợi"), "thuỷ lợi"),
        ("Quảng Hòa, Thủy Nguyên", "quảng hoà, thuỷ nguyên"),
    ],
)
def test_match_key_equal(a: str, b: str) -> None:
    assert match_key(a) == match_key(b)


@pytest.mark.parametrize(("a", "b"), [("hoa", "hoà"), ("dan van", "dân vận"), ("Đảng", "Dang")])
def test_match_key_keeps_accents(a: str, b: str) -> None:
    assert match_key(a) != match_key(b)


@pytest.mark.parametrize("s", ["Hòa Bình", "THỦY", "quý", "Khỏe mạnh", "  Tùy\u200b ý  ", ""])
def test_match_key_is_idempotent(s: str) -> None:
    assert match_key(match_key(s)) == match_key(s)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Dân vận", "dan van"),
        ("ĐẢNG BỘ KHỐI", "dang bo khoi"),
        ("Hòa Bình", "hoa binh"),
        ("hoà bình", "hoa binh"),
        ("Thủy điện Hòa Bình", "thuy dien hoa binh"),
        ("Nguyễn Ái Quốc", "nguyen ai quoc"),
        ("ưu tiên ơn", "uu tien on"),
        ("04-NQ/ĐUK", "04-nq/duk"),
        ("dan van", "dan van"),
    ],
)
def test_fold_key(raw: str, expected: str) -> None:
    assert fold_key(raw) == expected


def test_words() -> None:
    assert words("Ông A, 51 tuổi (TP.HCM) - 1.234,5 đồng!") == [
        "Ông",
        "A",
        "51",
        "tuổi",
        "TP",
        "HCM",
        "1",
        "234",
        "5",
        "đồng",
    ]
    assert words("") == []


# -- sentences ------------------------------------------------------------------------------

SPLITS = [
    ("", []),
    ("Một câu không có dấu chấm", ["Một câu không có dấu chấm"]),
    ("Trời mưa. Đường ngập.", ["Trời mưa.", "Đường ngập."]),
    # document numbers
    (
        "Thực hiện Nghị quyết số 04-NQ/ĐUK. Ban Thường vụ đã ban hành kế hoạch.",
        ["Thực hiện Nghị quyết số 04-NQ/ĐUK.", "Ban Thường vụ đã ban hành kế hoạch."],
    ),
    (
        "Theo Nghị định 15/2020/NĐ-CP. Mức phạt tăng gấp đôi.",
        ["Theo Nghị định 15/2020/NĐ-CP.", "Mức phạt tăng gấp đôi."],
    ),
    # place and academic titles
    (
        "Đoàn công tác đến TP. HCM chiều qua. Sáng nay đoàn về TP.HCM làm việc tiếp.",
        ["Đoàn công tác đến TP. HCM chiều qua.", "Sáng nay đoàn về TP.HCM làm việc tiếp."],
    ),
    (
        "Dự hội thảo có PGS.TS Trần Văn Nam. GS. TS. Lê Thị Hoa trình bày tham luận.",
        ["Dự hội thảo có PGS.TS Trần Văn Nam.", "GS. TS. Lê Thị Hoa trình bày tham luận."],
    ),
    (
        "ThS. Nguyễn Minh Đức chủ trì. Tp. Cần Thơ đăng cai năm sau.",
        ["ThS. Nguyễn Minh Đức chủ trì.", "Tp. Cần Thơ đăng cai năm sau."],
    ),
    (
        "Kết quả được công bố tại TP. HCM. Sau đó đoàn về.",
        ["Kết quả được công bố tại TP. HCM.", "Sau đó đoàn về."],
    ),
    (
        "Trụ sở đặt tại số 5, Q. 1, TP. HCM. Mọi liên hệ xin gửi về đây.",
        ["Trụ sở đặt tại số 5, Q. 1, TP. HCM.", "Mọi liên hệ xin gửi về đây."],
    ),
    (
        "Ca mổ do BS.CKII Phạm Thu Hà thực hiện. TS.BS Lê Minh hỗ trợ.",
        ["Ca mổ do BS.CKII Phạm Thu Hà thực hiện.", "TS.BS Lê Minh hỗ trợ."],
    ),
    (
        "Quyết định số 123/QĐ-UBND. Ngày ký: 1/1/2024.",
        ["Quyết định số 123/QĐ-UBND.", "Ngày ký: 1/1/2024."],
    ),
    # dates and numbers
    (
        "Hội nghị khai mạc ngày 27/12/2017. Đại biểu thảo luận ở tổ.",
        ["Hội nghị khai mạc ngày 27/12/2017.", "Đại biểu thảo luận ở tổ."],
    ),
    (
        "Doanh thu đạt 1.234,5 tỷ đồng. Lợi nhuận tăng 12,5%.",
        ["Doanh thu đạt 1.234,5 tỷ đồng.", "Lợi nhuận tăng 12,5%."],
    ),
    ("Giá vàng lên 8.950.000 đồng một chỉ.", ["Giá vàng lên 8.950.000 đồng một chỉ."]),
    ("Năm 2023 tăng 5%. 2024 giảm nhẹ.", ["Năm 2023 tăng 5%.", "2024 giảm nhẹ."]),
    # enumerations
    (
        "Gạo, cá, rau v.v. đều tăng giá. Thịt lợn thì giảm.",
        ["Gạo, cá, rau v.v. đều tăng giá.", "Thịt lợn thì giảm."],
    ),
    ("Có sách, vở, bút, v.v. Ngoài ra còn quà.", ["Có sách, vở, bút, v.v.", "Ngoài ra còn quà."]),
    # closing quotes stay with the sentence they close
    (
        "Ông khẳng định: “Đây là nhiệm vụ rất lớn.” Ông cũng đề nghị các đơn vị phối hợp.",
        ["Ông khẳng định: “Đây là nhiệm vụ rất lớn.”", "Ông cũng đề nghị các đơn vị phối hợp."],
    ),
    (
        'Bà nói "mọi việc đã xong." Sau đó bà ra về.',
        ['Bà nói "mọi việc đã xong."', "Sau đó bà ra về."],
    ),
    (
        "“Tôi sẽ đi?” anh hỏi lại. “Không,” chị đáp.",
        ["“Tôi sẽ đi?” anh hỏi lại.", "“Không,” chị đáp."],
    ),
    (
        "Anh ấy nói xong. “Tôi đồng ý,” chị đáp ngay.",
        ["Anh ấy nói xong.", "“Tôi đồng ý,” chị đáp ngay."],
    ),
    (
        "Cả hội trường vỗ tay (hoan nghênh.) Buổi lễ kết thúc.",
        ["Cả hội trường vỗ tay (hoan nghênh.)", "Buổi lễ kết thúc."],
    ),
    # ellipses, exclamations, questions
    (
        "Chờ mãi… Cuối cùng xe cũng đến. Họ đợi... Rồi lại đợi...",
        ["Chờ mãi…", "Cuối cùng xe cũng đến.", "Họ đợi...", "Rồi lại đợi..."],
    ),
    ("Anh ấy ngập ngừng… rồi im lặng.", ["Anh ấy ngập ngừng… rồi im lặng."]),
    ("Họ nói (...) Chúng tôi sẽ làm.", ["Họ nói (...) Chúng tôi sẽ làm."]),
    (
        "Thật tuyệt vời! Vì sao lại thế? Chưa ai trả lời?! Thôi.",
        ["Thật tuyệt vời!", "Vì sao lại thế?", "Chưa ai trả lời?!", "Thôi."],
    ),
    ("Vì sao? 3 người đã đến.", ["Vì sao?", "3 người đã đến."]),
    ("- Anh đi đâu? - Tôi về quê.", ["- Anh đi đâu?", "- Tôi về quê."]),
    (
        "Ông nói: “Xong rồi.” “Còn gì nữa không?” bà hỏi.",
        ["Ông nói: “Xong rồi.”", "“Còn gì nữa không?” bà hỏi."],
    ),
    # initials: a private person's given name vs a Western middle initial
    (
        "Nạn nhân là anh Nguyễn Văn T. Anh T. được đưa đi cấp cứu.",
        ["Nạn nhân là anh Nguyễn Văn T.", "Anh T. được đưa đi cấp cứu."],
    ),
    ("Bà Lê Thị H. , 45 tuổi, trình báo.", ["Bà Lê Thị H. , 45 tuổi, trình báo."]),
    (
        "Cựu Tổng thống George W. Bush thăm Hà Nội. Nhà văn J. K. Rowling gửi thư chúc mừng.",
        ["Cựu Tổng thống George W. Bush thăm Hà Nội.", "Nhà văn J. K. Rowling gửi thư chúc mừng."],
    ),
    # numbered lists
    (
        "1. Quán triệt nghị quyết. 2. Xây dựng kế hoạch. II. Tổ chức thực hiện.",
        ["1. Quán triệt nghị quyết.", "2. Xây dựng kế hoạch.", "II. Tổ chức thực hiện."],
    ),
    # paragraphs first: a line break always ends a sentence
    (
        "Tiêu đề phụ không dấu chấm\nĐoạn một kết thúc.\n\nĐoạn hai bắt đầu. Và hết.",
        ["Tiêu đề phụ không dấu chấm", "Đoạn một kết thúc.", "Đoạn hai bắt đầu.", "Và hết."],
    ),
    ("Câu bị ngắt\ndòng giữa chừng. Câu sau.", ["Câu bị ngắt dòng giữa chừng.", "Câu sau."]),
    # no space after the dot: not a boundary (a typo or a domain)
    (
        "Xem chi tiết tại dangcongsan.vn và baochinhphu.vn nhé.",
        ["Xem chi tiết tại dangcongsan.vn và baochinhphu.vn nhé."],
    ),
    ("Đảng\u200b bộ  họp.\u00a0Xong.", ["Đảng bộ họp.", "Xong."]),
]


@pytest.mark.parametrize(("text", "expected"), SPLITS)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_split_sentences_keeps_every_word() -> None:
    text = " ".join(t for t, _ in SPLITS)
    assert words(" ".join(split_sentences(text))) == words(normalize(text))


def test_split_sentences_is_fast() -> None:
    paragraph = (
        "Sáng 12/3, UBND TP. Hà Nội tổ chức hội nghị sơ kết Nghị quyết số 04-NQ/ĐUK. "
        "PGS.TS Trần Văn Nam cho biết doanh thu đạt 1.234,5 tỷ đồng, tăng 12,5% so với năm 2022. "
        "Ông khẳng định: “Đây là nhiệm vụ rất lớn.” Các đơn vị cần phối hợp chặt chẽ hơn nữa… "
        "Vì sao? Vì thời gian không còn nhiều!"
    )
    text = "\n\n".join([paragraph] * 60)  # about 20,000 characters
    split_sentences(text)
    started = time.perf_counter()
    for _ in range(5):
        sentences = split_sentences(text)
    per_call = (time.perf_counter() - started) / 5
    assert len(sentences) == 60 * 6
    assert per_call < 0.05  # about 1 ms on a laptop; generous for slow CI
