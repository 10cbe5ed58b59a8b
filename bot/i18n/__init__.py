"""Message catalogue: Vietnamese first, English second. ``t(lang, key, **values)``.

The messages live one language a module (``vi.py``, ``en.py``); a new message goes in both,
under the comment naming its feature. The command menu is here.
"""

from __future__ import annotations

from bot.i18n.en import MESSAGES as _EN
from bot.i18n.vi import MESSAGES as _VI

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

CATALOGUE: dict[str, dict[str, str]] = {"vi": _VI, "en": _EN}


def pick_language(code: str | None) -> str:
    """Map a platform language code (``en-US``, ``vi``) to one of ours; Vietnamese by default."""
    if code and code.lower().split("-")[0] == "en":
        return "en"
    return DEFAULT_LANGUAGE


def t(lang: str, key: str, **values: object) -> str:
    """The message ``key`` in ``lang`` (falling back to Vietnamese), formatted with ``values``."""
    table = CATALOGUE.get(lang, _VI)
    template = table.get(key) or _VI[key]
    return template.format(**values) if values else template


#: The command menu registered with the platforms (Telegram's set_my_commands), per language.
MENU: dict[str, list[tuple[str, str]]] = {
    "vi": [
        ("start", "Bắt đầu, chọn chủ đề"),
        ("topics", "Danh sách chủ đề"),
        ("subscribe", "Đăng ký một chủ đề"),
        ("unsubscribe", "Hủy đăng ký"),
        ("follow", "Theo dõi một từ khóa"),
        ("unfollow", "Bỏ theo dõi từ khóa"),
        ("mysubs", "Đăng ký của bạn"),
        ("latest", "Tin mới nhất"),
        ("search", "Tìm tin cũ"),
        ("digest", "Bản tin tổng hợp hằng ngày"),
        ("quiet", "Giờ yên tĩnh"),
        ("lang", "Đổi ngôn ngữ"),
        ("mute", "Chặn một từ khóa"),
        ("unmute", "Bỏ chặn từ khóa"),
        ("format", "Cách hiển thị tin"),
        ("channel", "Đăng tin lên kênh của bạn"),
        ("stop", "Tạm dừng thông báo"),
        ("help", "Trợ giúp"),
    ],
    "en": [
        ("start", "Start, choose topics"),
        ("topics", "List topics"),
        ("subscribe", "Subscribe to a topic"),
        ("unsubscribe", "Unsubscribe"),
        ("follow", "Follow a keyword"),
        ("unfollow", "Stop following a keyword"),
        ("mysubs", "Your subscriptions"),
        ("latest", "Latest articles"),
        ("search", "Search the archive"),
        ("digest", "Daily digest"),
        ("quiet", "Quiet hours"),
        ("lang", "Change language"),
        ("mute", "Mute a keyword"),
        ("unmute", "Unmute a keyword"),
        ("format", "Message format"),
        ("channel", "Post to your channel"),
        ("stop", "Pause notifications"),
        ("help", "Help"),
    ],
}
