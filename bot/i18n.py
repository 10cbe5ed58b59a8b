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
        "/broadcast [chủ đề] <nội dung> - gửi thông báo\n"
        "/web - liên kết đăng nhập bảng điều khiển web"
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
    # -- reach (issue 14): deep links, backfill, forum topics, channels, inline, mutes, format
    "help_reach": (
        "/mute <từ khóa> - không nhận tin có từ khóa này (kể cả khi chủ đề khớp)\n"
        "/unmute <từ khóa> - bỏ chặn từ khóa\n"
        "/format full|compact|titles - đầy đủ, gọn (tiêu đề + liên kết) hoặc chỉ tiêu đề\n"
        "/channel add @kênh <chủ đề>|list|remove @kênh - đăng tin lên kênh Telegram của bạn\n"
        "@<tên bot> <từ khóa> - (Telegram) tìm tin ngay trong ô soạn tin của mọi cuộc trò chuyện"
    ),
    "deeplink_subscribed": "Đã đăng ký: {names}.",
    "deeplink_unknown": "Liên kết không hợp lệ hoặc chủ đề không còn: «{payload}».",
    "backfill_header": "🗞 Tin gần đây - {topic}",
    "mysubs_mutes": "Đã chặn: {items}",
    "mysubs_where": "{name} → {where}",
    "where_thread": "chủ đề diễn đàn #{thread}",
    "where_general": "chủ đề chung (General)",
    "usage_mute": "Cách dùng: /mute <từ khóa> - tin có từ khóa này sẽ không được gửi tới đây.",
    "usage_unmute": "Cách dùng: /unmute <từ khóa>",
    "muted": "Đã chặn «{keyword}»: tin có từ khóa này sẽ không được gửi tới đây.",
    "already_muted": "«{keyword}» đã bị chặn rồi.",
    "unmuted": "Đã bỏ chặn «{keyword}».",
    "not_muted": "«{keyword}» không bị chặn.",
    "usage_format": (
        "Cách dùng: /format full (tiêu đề, ngày, tóm tắt, liên kết), /format compact "
        "(tiêu đề + liên kết) hoặc /format titles (chỉ danh sách tiêu đề)"
    ),
    "format_set": "Đã đổi cách hiển thị tin: {format}.",
    "usage_channel": (
        "Cách dùng (trong trò chuyện riêng với bot):\n/channel add @kênh <chủ đề...> - "
        "đăng tin các chủ đề lên kênh (bot phải là quản trị viên của kênh)\n"
        "/channel list - các kênh đã thêm\n/channel remove @kênh - ngừng đăng lên kênh"
    ),
    "channel_private_only": "Lệnh /channel chỉ dùng trong trò chuyện riêng với bot.",
    "channel_unsupported": "Nền tảng này không có kênh.",
    "channel_not_found": "Không tìm thấy kênh «{ref}», hoặc bot chưa được thêm vào kênh.",
    "channel_not_a_channel": "«{ref}» không phải là một kênh.",
    "channel_bot_not_admin": (
        "Bot chưa là quản trị viên của kênh «{title}»: hãy thêm bot làm quản trị viên."
    ),
    "channel_user_not_admin": "Bạn không phải quản trị viên của kênh «{title}».",
    "channel_added": "Đã thêm kênh «{title}»: tin các chủ đề {names} sẽ được đăng lên đó.",
    "channel_none": "Chưa có kênh nào.",
    "channel_list_header": "Các kênh:",
    "channel_removed": "Đã ngừng đăng lên kênh «{title}».",
    "channel_not_added": "Kênh «{ref}» chưa được thêm.",
    "thread_closed_notice": (
        "⚠️ Gửi quản trị viên nhóm: chủ đề diễn đàn #{thread} đã đóng hoặc bị xóa, nên tin "
        "của nó từ nay được gửi vào chủ đề chung (General). Gõ /subscribe <chủ đề> trong một "
        "chủ đề khác để chuyển tin sang đó."
    ),
    "inline_latest": "Tin mới nhất",
    # issue 12 (self-healing): a channel parked, replies rate-limited
    "alert_channel_down": (
        "⛔ Kênh {channel} bị nền tảng từ chối token; các tin được giữ lại và sẽ gửi khi token "
        "hoạt động trở lại. ({reason})"
    ),
    "alert_channel_up": "✅ Kênh {channel} đã gửi tin trở lại.",
    "replies_slow_down": (
        "Bạn gửi lệnh nhanh quá. Vui lòng đợi khoảng {seconds} giây rồi thử lại nhé."
    ),
    # -- web console (bot/web) --
    "web_title": "Bảng điều khiển",
    "web_skip": "Bỏ qua, tới nội dung",
    "web_nav": "Trang",
    "web_nav_dashboard": "Tổng quan",
    "web_nav_sources": "Nguồn",
    "web_nav_broadcasts": "Thông báo",
    "web_nav_articles": "Tin bài",
    "web_nav_chats": "Cuộc trò chuyện",
    "web_nav_sessions": "Phiên đăng nhập",
    "web_nav_audit": "Nhật ký",
    "web_logout": "Đăng xuất",
    "web_actions": "Thao tác",
    "web_action": "Thao tác",
    "web_admin": "Quản trị viên",
    "web_detail": "Chi tiết",
    "web_signin_title": "Đăng nhập",
    "web_signin_help": "Gửi lệnh /web cho bot trong cuộc trò chuyện với quyền quản trị: bot trả lời một liên kết đăng nhập dùng một lần, có hiệu lực 10 phút.",
    "web_signin_confirm": "Liên kết hợp lệ. Bấm nút bên dưới để đăng nhập (phiên có hiệu lực 12 giờ).",
    "web_signin_button": "Đăng nhập",
    "web_error_title": "Không thực hiện được",
    "web_error_no_session": "Bạn chưa đăng nhập hoặc phiên đã hết hạn.",
    "web_error_csrf": "Biểu mẫu đã hết hạn hoặc không hợp lệ (thiếu mã CSRF). Hãy tải lại trang và thử lại.",
    "web_error_rate": "Quá nhiều lần thử đăng nhập. Hãy đợi một phút.",
    "web_error_too_large": "Dữ liệu gửi lên quá lớn.",
    "web_link_unknown": "Liên kết đăng nhập không hợp lệ. Gửi /web cho bot để nhận liên kết mới.",
    "web_link_used": "Liên kết đăng nhập này đã được dùng. Mỗi liên kết chỉ dùng được một lần: gửi /web để nhận liên kết mới.",
    "web_link_expired": "Liên kết đăng nhập đã hết hạn (sau 10 phút). Gửi /web để nhận liên kết mới.",
    "web_link_": "Thiếu liên kết đăng nhập.",
    "web_link_not_admin": "Tài khoản này không còn là quản trị viên.",
    "web_not_found": "Không tìm thấy.",
    "web_chart_days": "Hoạt động {days} ngày qua",
    "web_dash_as_of": "Số liệu lúc {when} (cập nhật mỗi 30 giây)",
    "web_dash_chats": "Cuộc trò chuyện đang hoạt động",
    "web_dash_inactive": "Đã ngừng",
    "web_dash_articles": "Tin mới",
    "web_dash_today": "Hôm nay",
    "web_dash_week": "Tuần này",
    "web_dash_queue": "Hàng đợi gửi",
    "web_dash_due": "đến hạn",
    "web_dash_pending": "đang chờ",
    "web_dash_topics": "Đăng ký theo chủ đề",
    "web_dash_keywords": "Từ khóa theo dõi",
    "web_dash_quota": "Hạn mức tháng",
    "web_dash_no_quota": "Không có kênh giới hạn hạn mức.",
    "web_dash_errors": "Nguồn đang lỗi",
    "web_src_source": "Nguồn",
    "web_src_last_success": "Thành công cuối",
    "web_src_last_error": "Lỗi cuối",
    "web_src_next": "Lần quét tới",
    "web_src_failures": "Lỗi liên tiếp",
    "web_src_articles": "Số tin",
    "web_src_poll": "Quét ngay",
    "web_src_pause": "Tạm dừng",
    "web_src_resume": "Tiếp tục",
    "web_src_paused": "Đang tạm dừng",
    "web_src_test": "Thử một URL",
    "web_src_test_button": "Thử",
    "web_src_test_found": "{total} mục (loại {kind}); các mục đầu:",
    "web_summary": "Tóm tắt",
    "web_body": "Nội dung",
    "web_topics": "Chủ đề",
    "web_received": "Số cuộc trò chuyện đã nhận",
    "web_bc_text": "Nội dung",
    "web_bc_target": "Gửi tới",
    "web_bc_all": "Tất cả",
    "web_bc_topics": "Người đăng ký các chủ đề",
    "web_bc_channels": "Các kênh",
    "web_bc_when": "Thời điểm",
    "web_bc_now": "Gửi ngay",
    "web_bc_later": "Hẹn giờ gửi",
    "web_bc_preview": "Xem trước",
    "web_bc_send": "Gửi",
    "web_bc_zalo_note": "văn bản thuần, chia mỗi 2.000 ký tự",
    "web_bc_scheduled": "Đã hẹn giờ",
    "web_bc_history": "Lịch sử",
    "web_bc_cancel": "Hủy",
    "web_bc_by": "Người gửi",
    "web_bc_at": "Lúc",
    "web_bc_sent": "Đã gửi",
    "web_bc_failed": "Lỗi",
    "web_bc_unreachable": "Không liên lạc được",
    "web_bc_pending": "Đang chờ",
    "web_bc_error_text": "Hãy nhập nội dung (tối đa 20.000 ký tự).",
    "web_bc_error_target": "Hãy chọn ít nhất một chủ đề hoặc kênh hợp lệ.",
    "web_bc_error_when": "Thời điểm hẹn phải ở tương lai.",
    "web_search": "Tìm kiếm",
    "web_found": "{count} kết quả",
    "web_no_articles": "Không có tin nào.",
    "web_newer": "Mới hơn",
    "web_older": "Cũ hơn",
    "web_chat": "Cuộc trò chuyện",
    "web_chats_filter": "Tên hoặc mã",
    "web_chats_subs": "Đăng ký",
    "web_chats_settings": "Cài đặt",
    "web_state": "Trạng thái",
    "web_active": "Đang hoạt động",
    "web_inactive": "Đã ngừng",
    "web_paused": "tạm dừng",
    "web_all_channels": "Mọi kênh",
    "web_all_states": "Mọi trạng thái",
    "web_filter": "Lọc",
    "web_deactivate": "Ngừng",
    "web_reactivate": "Kích hoạt lại",
    "web_ses_created": "Bắt đầu",
    "web_ses_expires": "Hết hạn",
    "web_ses_browser": "Trình duyệt",
    "web_ses_this": "phiên này",
    "web_ses_revoke": "Thu hồi",
    "web_command_private": "Hãy gửi /web trong cuộc trò chuyện riêng với bot.",
    "web_command_link": "Liên kết đăng nhập bảng điều khiển (dùng một lần, hiệu lực 10 phút):\n{url}",
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
        "/broadcast [topic] <text> - send an announcement\n"
        "/web - a sign-in link to the web console"
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
    # -- reach (issue 14): deep links, backfill, forum topics, channels, inline, mutes, format
    "help_reach": (
        "/mute <keyword> - never get articles with this keyword (even when a topic matches)\n"
        "/unmute <keyword> - stop muting a keyword\n"
        "/format full|compact|titles - full, compact (title + link) or titles only\n"
        "/channel add @channel <topics>|list|remove @channel - post to your Telegram channel\n"
        "@<bot name> <words> - (Telegram) search from the message box of any chat"
    ),
    "deeplink_subscribed": "Subscribed: {names}.",
    "deeplink_unknown": "This link is not valid or its topics are gone: “{payload}”.",
    "backfill_header": "🗞 Recent articles - {topic}",
    "mysubs_mutes": "Muted: {items}",
    "mysubs_where": "{name} → {where}",
    "where_thread": "forum topic #{thread}",
    "where_general": "the General topic",
    "usage_mute": "Usage: /mute <keyword> - articles with this keyword will not be sent here.",
    "usage_unmute": "Usage: /unmute <keyword>",
    "muted": "Muted “{keyword}”: articles with it will not be sent here.",
    "already_muted": "“{keyword}” is already muted.",
    "unmuted": "Unmuted “{keyword}”.",
    "not_muted": "“{keyword}” is not muted.",
    "usage_format": (
        "Usage: /format full (title, date, summary, link), /format compact (title + link) "
        "or /format titles (a list of titles)"
    ),
    "format_set": "Message format set to {format}.",
    "usage_channel": (
        "Usage (in a private chat with the bot):\n/channel add @channel <topics...> - post "
        "these topics to the channel (the bot must be one of its administrators)\n"
        "/channel list - your channels\n/channel remove @channel - stop posting there"
    ),
    "channel_private_only": "/channel works in a private chat with the bot only.",
    "channel_unsupported": "This platform has no channels.",
    "channel_not_found": "Channel “{ref}” not found, or the bot is not in it.",
    "channel_not_a_channel": "“{ref}” is not a channel.",
    "channel_bot_not_admin": "The bot is not an administrator of “{title}”: make it one first.",
    "channel_user_not_admin": "You are not an administrator of “{title}”.",
    "channel_added": "Channel “{title}” added: articles of {names} will be posted there.",
    "channel_none": "No channels yet.",
    "channel_list_header": "Channels:",
    "channel_removed": "Stopped posting to “{title}”.",
    "channel_not_added": "Channel “{ref}” was not added.",
    "thread_closed_notice": (
        "⚠️ To the group's admins: forum topic #{thread} is closed or deleted, so its articles "
        "now go to the General topic. Type /subscribe <topic> inside another topic to move "
        "them there."
    ),
    "inline_latest": "Latest articles",
    # issue 12 (self-healing): a channel parked, replies rate-limited
    "alert_channel_down": (
        "⛔ The platform refuses the {channel} token; messages are kept and go out once the "
        "token works again. ({reason})"
    ),
    "alert_channel_up": "✅ The {channel} channel sends again.",
    "replies_slow_down": "You are sending commands too fast. Please wait about {seconds} seconds.",
    # -- web console (bot/web) --
    "web_title": "Console",
    "web_skip": "Skip to content",
    "web_nav": "Pages",
    "web_nav_dashboard": "Dashboard",
    "web_nav_sources": "Sources",
    "web_nav_broadcasts": "Broadcasts",
    "web_nav_articles": "Articles",
    "web_nav_chats": "Chats",
    "web_nav_sessions": "Sessions",
    "web_nav_audit": "Audit log",
    "web_logout": "Sign out",
    "web_actions": "Actions",
    "web_action": "Action",
    "web_admin": "Admin",
    "web_detail": "Detail",
    "web_signin_title": "Sign in",
    "web_signin_help": "Send /web to the bot from an admin chat: it answers with a one-time sign-in link, valid for 10 minutes.",
    "web_signin_confirm": "The link is valid. Press the button to sign in (the session lasts 12 hours).",
    "web_signin_button": "Sign in",
    "web_error_title": "That did not work",
    "web_error_no_session": "You are not signed in, or your session expired.",
    "web_error_csrf": "The form expired or is invalid (CSRF token missing). Reload the page and try again.",
    "web_error_rate": "Too many sign-in attempts. Wait a minute.",
    "web_error_too_large": "What was sent is too large.",
    "web_link_unknown": "This sign-in link is not valid. Send /web to the bot for a new one.",
    "web_link_used": "This sign-in link was already used. Each link works once: send /web for a new one.",
    "web_link_expired": "This sign-in link expired (after 10 minutes). Send /web for a new one.",
    "web_link_": "The sign-in link is missing.",
    "web_link_not_admin": "This account is no longer an admin.",
    "web_not_found": "Not found.",
    "web_chart_days": "Activity, last {days} days",
    "web_dash_as_of": "Figures as of {when} (refreshed every 30 seconds)",
    "web_dash_chats": "Active chats",
    "web_dash_inactive": "Inactive",
    "web_dash_articles": "New articles",
    "web_dash_today": "Today",
    "web_dash_week": "This week",
    "web_dash_queue": "Delivery queue",
    "web_dash_due": "due",
    "web_dash_pending": "pending",
    "web_dash_topics": "Subscriptions per topic",
    "web_dash_keywords": "Followed keywords",
    "web_dash_quota": "Monthly quota",
    "web_dash_no_quota": "No channel with a quota.",
    "web_dash_errors": "Sources in error",
    "web_src_source": "Source",
    "web_src_last_success": "Last success",
    "web_src_last_error": "Last error",
    "web_src_next": "Next check",
    "web_src_failures": "Failures in a row",
    "web_src_articles": "Articles",
    "web_src_poll": "Poll now",
    "web_src_pause": "Pause",
    "web_src_resume": "Resume",
    "web_src_paused": "Paused",
    "web_src_test": "Test a URL",
    "web_src_test_button": "Test",
    "web_src_test_found": "{total} entries (kind {kind}); the first ones:",
    "web_summary": "Summary",
    "web_body": "Body",
    "web_topics": "Topics",
    "web_received": "Chats that received it",
    "web_bc_text": "Text",
    "web_bc_target": "Send to",
    "web_bc_all": "Everyone",
    "web_bc_topics": "Subscribers of topics",
    "web_bc_channels": "Channels",
    "web_bc_when": "When",
    "web_bc_now": "Send now",
    "web_bc_later": "Schedule",
    "web_bc_preview": "Preview",
    "web_bc_send": "Send",
    "web_bc_zalo_note": "plain text, split every 2,000 characters",
    "web_bc_scheduled": "Scheduled",
    "web_bc_history": "History",
    "web_bc_cancel": "Cancel",
    "web_bc_by": "Sent by",
    "web_bc_at": "At",
    "web_bc_sent": "Sent",
    "web_bc_failed": "Failed",
    "web_bc_unreachable": "Unreachable",
    "web_bc_pending": "Pending",
    "web_bc_error_text": "Enter a text (at most 20,000 characters).",
    "web_bc_error_target": "Choose at least one valid topic or channel.",
    "web_bc_error_when": "The scheduled time must be in the future.",
    "web_search": "Search",
    "web_found": "{count} results",
    "web_no_articles": "No articles.",
    "web_newer": "Newer",
    "web_older": "Older",
    "web_chat": "Chat",
    "web_chats_filter": "Title or id",
    "web_chats_subs": "Subscriptions",
    "web_chats_settings": "Settings",
    "web_state": "State",
    "web_active": "Active",
    "web_inactive": "Inactive",
    "web_paused": "paused",
    "web_all_channels": "All channels",
    "web_all_states": "All states",
    "web_filter": "Filter",
    "web_deactivate": "Deactivate",
    "web_reactivate": "Reactivate",
    "web_ses_created": "Started",
    "web_ses_expires": "Expires",
    "web_ses_browser": "Browser",
    "web_ses_this": "this one",
    "web_ses_revoke": "Revoke",
    "web_command_private": "Send /web in a private chat with the bot.",
    "web_command_link": "Sign-in link for the web console (works once, valid 10 minutes):\n{url}",
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
