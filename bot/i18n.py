"""Message catalogue: Vietnamese first, English second. ``t(lang, key, **values)``."""

from __future__ import annotations

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

_VI: dict[str, str] = {
    "welcome": (
        "Xin chào! Tôi là bot Bản tin: tôi gửi cho bạn tin mới của cổng thông tin theo chủ đề "
        "hoặc từ khóa bạn chọn.\nChọn chủ đề bên dưới, hoặc gõ /help để xem các lệnh."
    ),
    "resumed": "Đã bật lại thông báo.",
    "help": (
        "Các lệnh:\n"
        "/topics - danh sách chủ đề (bấm để đăng ký/hủy)\n"
        "/subscribe <chủ đề> - đăng ký một chủ đề (gõ không dấu cũng được)\n"
        "/unsubscribe <chủ đề|từ khóa|all> - hủy đăng ký\n"
        "/follow <từ khóa> - nhận tin có từ khóa này\n"
        "/unfollow <từ khóa> - bỏ theo dõi từ khóa\n"
        "/mysubs - các đăng ký của bạn\n"
        "/latest [số] [chủ đề] - tin mới nhất\n"
        "/search <từ khóa> - tìm tin cũ (gõ không dấu cũng được)\n"
        "/digest HH:MM|off - nhận một bản tin tổng hợp mỗi ngày lúc HH:MM, hoặc nhận tin ngay\n"
        "/quiet on|off - giữ hoặc không giữ tin trong giờ yên tĩnh\n"
        "/lang vi|en - đổi ngôn ngữ\n"
        "/stop - tạm dừng mọi thông báo (/start để bật lại)"
    ),
    "help_admin": (
        "Lệnh quản trị:\n"
        "/poll - quét tất cả nguồn ngay\n"
        "/sources - tình trạng các nguồn\n"
        "/stats - thống kê\n"
        "/broadcast [chủ đề] <nội dung> - gửi thông báo"
    ),
    "topics_header": "Chủ đề (✅ = đang đăng ký):",
    "topics_hint": "Gõ /subscribe <chủ đề> hoặc số thứ tự để đăng ký/hủy.",
    "no_topics": "Chưa có chủ đề nào được cấu hình.",
    "subscribed": "Đã đăng ký chủ đề «{name}».",
    "already_subscribed": "Bạn đã đăng ký chủ đề «{name}» rồi.",
    "unsubscribed": "Đã hủy đăng ký «{name}».",
    "not_subscribed": "Bạn chưa đăng ký «{name}».",
    "unsubscribed_all": "Đã hủy tất cả {count} đăng ký.",
    "unknown_topic": "Không có chủ đề «{arg}». Các chủ đề: {topics}.",
    "ambiguous_topic": "«{arg}» khớp nhiều chủ đề: {topics}. Hãy gõ rõ hơn.",
    "usage_subscribe": "Cách dùng: /subscribe <chủ đề>, ví dụ /subscribe dan van",
    "usage_unsubscribe": "Cách dùng: /unsubscribe <chủ đề|từ khóa|all>",
    "usage_follow": "Cách dùng: /follow <từ khóa>, ví dụ /follow chuyển đổi số",
    "usage_unfollow": "Cách dùng: /unfollow <từ khóa>",
    "usage_latest": "Cách dùng: /latest [số 1-20] [chủ đề], ví dụ /latest 5 dan van",
    "usage_lang": "Cách dùng: /lang vi hoặc /lang en",
    "keyword_too_short": "Từ khóa phải có ít nhất 2 ký tự chữ.",
    "keyword_too_long": "Từ khóa dài tối đa {max} ký tự.",
    "followed": "Sẽ gửi cho bạn tin có từ khóa «{keyword}».",
    "already_followed": "Bạn đã theo dõi từ khóa «{keyword}» rồi.",
    "unfollowed": "Đã bỏ theo dõi từ khóa «{keyword}».",
    "not_followed": "Bạn không theo dõi từ khóa «{keyword}».",
    "mysubs_header": "Đăng ký của bạn:",
    "mysubs_topics": "Chủ đề: {items}",
    "mysubs_keywords": "Từ khóa: {items}",
    "mysubs_none": "Bạn chưa đăng ký gì. Gõ /topics để chọn chủ đề.",
    "mysubs_paused": "(Thông báo đang tạm dừng: gõ /start để bật lại.)",
    "latest_header": "Tin mới nhất{topic}:",
    "latest_none": "Chưa có tin nào.",
    "usage_search": "Cách dùng: /search <từ khóa>, ví dụ /search dan van kheo",
    "search_header": "Kết quả tìm «{query}»:",
    "search_none": "Không tìm thấy tin nào có «{query}».",
    "stopped": "Đã tạm dừng mọi thông báo. Gõ /start để bật lại.",
    "lang_set": "Đã chuyển sang tiếng Việt.",
    "unknown_command": "Không hiểu lệnh «{cmd}». Gõ /help để xem các lệnh.",
    "not_a_command": "Gõ /help để xem các lệnh.",
    "admin_only": "Xin lỗi, lệnh này chỉ dành cho quản trị viên.",
    "group_admin_only": "Chỉ quản trị viên của nhóm mới thay đổi được đăng ký của nhóm.",
    "read_more": "Đọc tiếp",
    "poll_started": "Đang quét {count} nguồn…",
    "poll_line_ok": "✅ {id}: {new} tin mới ({seconds}s)",
    "poll_line_error": "❌ {id}: lỗi ({seconds}s) {reason}",
    "sources_header": "Các nguồn:",
    # Per-entry isolation (issue 11): entries that failed on their own
    "sources_entry_failures": (
        "   ⚠️ {count} mục lỗi; gần nhất (lần thử {attempts}): {url}: {reason}"
    ),
    "sources_line": (
        "{mark} {id} - {name}\n   lần thành công cuối: {last_success}; lỗi cuối: {last_error}; "
        "lần quét tới: {next_check}"
    ),
    "never": "chưa có",
    "none": "không",
    "stats": (
        "Thống kê:\n"
        "Nhóm/người nhận: {active} đang hoạt động, {inactive} đã ngừng\n"
        "Đăng ký theo chủ đề: {by_topic}\n"
        "Từ khóa theo dõi: {keywords}\n"
        "Tin theo nguồn: {by_source}\n"
        "Lượt gửi theo trạng thái: {by_status}\n"
        "Nguồn đang lỗi: {in_error}"
    ),
    "alert_source_failing": (
        "⚠️ Nguồn «{name}» ({id}) lỗi {count} lần liên tiếp: {error}\nSẽ thử lại lúc {next_check}."
    ),
    "alert_source_recovered": "✅ Nguồn «{name}» ({id}) đã hoạt động trở lại.",
    "broadcast_usage": "Cách dùng: /broadcast [chủ đề] <nội dung>",
    "group_header": "🗞 {count} tin mới",
    "stats_quota": "{channel}: đã gửi {sent}/{quota} tin trong tháng {month} ({percent}%)",
    "alert_quota_warn": "⚠️ {channel} đã dùng {percent}% hạn mức tháng ({sent}/{quota} tin).",
    "alert_quota_digest": (
        "⚠️ {channel} đã dùng {percent}% hạn mức tháng ({sent}/{quota} tin): từ giờ tin mới được gom "
        "thành một bản tin mỗi ngày lúc {time} cho đến hết tháng."
    ),
    "digest_header": "🗞 Bản tin tổng hợp: {count} tin",
    "alert_parked": (
        "⚠️ Kênh {channel} bị nền tảng giới hạn tốc độ; các tin bị hoãn khoảng {minutes} phút. ({reason})"
    ),
    "broadcast_queued": "Đã xếp hàng gửi thông báo tới {count} cuộc trò chuyện.",
    "broadcast_progress": "📣 Đang gửi thông báo: {done}/{total} (đã gửi {sent}, lỗi {failed}, không liên lạc được {unreachable})",
    "broadcast_done": "📣 Đã gửi xong thông báo tới {total} cuộc trò chuyện: đã gửi {sent}, lỗi {failed}, không liên lạc được {unreachable}.",
    "digest_set": "Bạn sẽ nhận một bản tin tổng hợp mỗi ngày lúc {time}.",
    "digest_off": "Đã chuyển về nhận tin ngay khi có.",
    "usage_digest": "Cách dùng: /digest 07:30 (bản tin mỗi ngày lúc 7:30) hoặc /digest off",
    "quiet_on": "Tin trong giờ yên tĩnh{hours} sẽ được giữ đến sáng.",
    "quiet_off": "Tin sẽ được gửi cả trong giờ yên tĩnh.",
    "usage_quiet": "Cách dùng: /quiet on hoặc /quiet off",
    "stats_chart_title": "Hoạt động 14 ngày qua",
    "stats_chart_articles": "Tin mới",
    "stats_chart_deliveries": "Lượt gửi",
}

_EN: dict[str, str] = {
    "welcome": (
        "Hello! I am the Bản tin bot: I send you the portal's new articles on the topics or "
        "keywords you choose.\nPick topics below, or type /help for the commands."
    ),
    "resumed": "Notifications are on again.",
    "help": (
        "Commands:\n"
        "/topics - list topics (tap to subscribe/unsubscribe)\n"
        "/subscribe <topic> - subscribe to a topic (accents optional)\n"
        "/unsubscribe <topic|keyword|all> - unsubscribe\n"
        "/follow <keyword> - get articles containing a keyword\n"
        "/unfollow <keyword> - stop following a keyword\n"
        "/mysubs - your subscriptions\n"
        "/latest [n] [topic] - latest articles\n"
        "/search <words> - search the archive (accents optional)\n"
        "/digest HH:MM|off - one daily digest at HH:MM, or instant pushes\n"
        "/quiet on|off - hold pushes during quiet hours, or not\n"
        "/lang vi|en - change language\n"
        "/stop - pause every notification (/start resumes)"
    ),
    "help_admin": (
        "Admin commands:\n"
        "/poll - poll every source now\n"
        "/sources - state of the sources\n"
        "/stats - statistics\n"
        "/broadcast [topic] <text> - send an announcement"
    ),
    "topics_header": "Topics (✅ = subscribed):",
    "topics_hint": "Type /subscribe <topic> or a number to toggle.",
    "no_topics": "No topics are configured.",
    "subscribed": "Subscribed to “{name}”.",
    "already_subscribed": "You are already subscribed to “{name}”.",
    "unsubscribed": "Unsubscribed from “{name}”.",
    "not_subscribed": "You are not subscribed to “{name}”.",
    "unsubscribed_all": "Removed all {count} subscriptions.",
    "unknown_topic": "No topic “{arg}”. Topics: {topics}.",
    "ambiguous_topic": "“{arg}” matches several topics: {topics}. Be more specific.",
    "usage_subscribe": "Usage: /subscribe <topic>, e.g. /subscribe dan van",
    "usage_unsubscribe": "Usage: /unsubscribe <topic|keyword|all>",
    "usage_follow": "Usage: /follow <keyword>, e.g. /follow chuyển đổi số",
    "usage_unfollow": "Usage: /unfollow <keyword>",
    "usage_latest": "Usage: /latest [1-20] [topic], e.g. /latest 5 dan van",
    "usage_lang": "Usage: /lang vi or /lang en",
    "keyword_too_short": "A keyword needs at least 2 letters.",
    "keyword_too_long": "A keyword is at most {max} characters.",
    "followed": "You will get articles containing “{keyword}”.",
    "already_followed": "You already follow “{keyword}”.",
    "unfollowed": "No longer following “{keyword}”.",
    "not_followed": "You do not follow “{keyword}”.",
    "mysubs_header": "Your subscriptions:",
    "mysubs_topics": "Topics: {items}",
    "mysubs_keywords": "Keywords: {items}",
    "mysubs_none": "You have no subscriptions. Type /topics to choose.",
    "mysubs_paused": "(Notifications are paused: type /start to resume.)",
    "latest_header": "Latest articles{topic}:",
    "latest_none": "No articles yet.",
    "usage_search": "Usage: /search <words>, e.g. /search dan van kheo",
    "search_header": "Results for “{query}”:",
    "search_none": "No article contains “{query}”.",
    "stopped": "All notifications paused. Type /start to resume.",
    "lang_set": "Language set to English.",
    "unknown_command": "Unknown command “{cmd}”. Type /help for the commands.",
    "not_a_command": "Type /help for the commands.",
    "admin_only": "Sorry, this command is for administrators only.",
    "group_admin_only": "Only the group's administrators can change its subscriptions.",
    "read_more": "Read more",
    "poll_started": "Polling {count} sources…",
    "poll_line_ok": "✅ {id}: {new} new ({seconds}s)",
    "poll_line_error": "❌ {id}: error ({seconds}s) {reason}",
    "sources_header": "Sources:",
    # Per-entry isolation (issue 11): entries that failed on their own
    "sources_entry_failures": (
        "   ⚠️ {count} failed entr(y/ies); latest (attempt {attempts}): {url}: {reason}"
    ),
    "sources_line": (
        "{mark} {id} - {name}\n   last success: {last_success}; last error: {last_error}; "
        "next check: {next_check}"
    ),
    "never": "never",
    "none": "none",
    "stats": (
        "Statistics:\n"
        "Chats: {active} active, {inactive} inactive\n"
        "Subscriptions per topic: {by_topic}\n"
        "Followed keywords: {keywords}\n"
        "Articles per source: {by_source}\n"
        "Deliveries by status: {by_status}\n"
        "Sources in error: {in_error}"
    ),
    "alert_source_failing": (
        "⚠️ Source “{name}” ({id}) failed {count} times in a row: {error}\nNext try at {next_check}."
    ),
    "alert_source_recovered": "✅ Source “{name}” ({id}) works again.",
    "broadcast_usage": "Usage: /broadcast [topic] <text>",
    "group_header": "🗞 {count} new articles",
    "stats_quota": "{channel}: {sent}/{quota} messages sent in {month} ({percent}%)",
    "alert_quota_warn": "⚠️ {channel} has used {percent}% of its monthly quota ({sent}/{quota} messages).",
    "alert_quota_digest": (
        "⚠️ {channel} has used {percent}% of its monthly quota ({sent}/{quota} messages): new articles now go "
        "out as one daily digest at {time} until the month ends."
    ),
    "digest_header": "🗞 Daily digest: {count} articles",
    "alert_parked": "⚠️ The platform rate-limits the {channel} channel; messages are held for about {minutes} minutes. ({reason})",
    "broadcast_queued": "Announcement queued for {count} chats.",
    "broadcast_progress": "📣 Sending the announcement: {done}/{total} (sent {sent}, failed {failed}, unreachable {unreachable})",
    "broadcast_done": "📣 Announcement finished for {total} chats: sent {sent}, failed {failed}, unreachable {unreachable}.",
    "digest_set": "You will get one digest a day at {time}.",
    "digest_off": "Back to instant pushes.",
    "usage_digest": "Usage: /digest 07:30 (a digest every day at 7:30) or /digest off",
    "quiet_on": "Pushes during quiet hours{hours} will wait until morning.",
    "quiet_off": "Pushes will arrive during quiet hours too.",
    "usage_quiet": "Usage: /quiet on or /quiet off",
    "stats_chart_title": "Activity, last 14 days",
    "stats_chart_articles": "New articles",
    "stats_chart_deliveries": "Deliveries",
}

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
        ("stop", "Pause notifications"),
        ("help", "Help"),
    ],
}
