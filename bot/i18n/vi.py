"""The Vietnamese messages: the catalogue's first language and the fallback for any key."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
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
    "keywords_full": (
        "Bạn đã theo dõi {max} từ khóa, mức tối đa cho một cuộc trò chuyện. Hãy bỏ bớt bằng "
        "/unfollow <từ khóa> (/mysubs cho xem danh sách) rồi thử lại."
    ),
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
    # Per-entry isolation: entries that failed on their own
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
        "⚠️ {channel} đã dùng {percent}% hạn mức tháng ({sent}/{quota} tin): từ giờ tin mới "
        "được gom thành một bản tin mỗi ngày lúc {time} cho đến hết tháng."
    ),
    "digest_header": "🗞 Bản tin tổng hợp: {count} tin",
    "alert_parked": (
        "⚠️ Kênh {channel} bị nền tảng giới hạn tốc độ; các tin bị hoãn khoảng {minutes} phút. "
        "({reason})"
    ),
    "broadcast_queued": "Đã xếp hàng gửi thông báo tới {count} cuộc trò chuyện.",
    "broadcast_progress": (
        "📣 Đang gửi thông báo: {done}/{total} (đã gửi {sent}, lỗi {failed}, không liên lạc được "
        "{unreachable})"
    ),
    "broadcast_done": (
        "📣 Đã gửi xong thông báo tới {total} cuộc trò chuyện: đã gửi {sent}, lỗi {failed}, "
        "không liên lạc được {unreachable}."
    ),
    "digest_set": "Bạn sẽ nhận một bản tin tổng hợp mỗi ngày lúc {time}.",
    "digest_off": "Đã chuyển về nhận tin ngay khi có.",
    "usage_digest": "Cách dùng: /digest 07:30 (bản tin mỗi ngày lúc 7:30) hoặc /digest off",
    "quiet_on": "Tin trong giờ yên tĩnh{hours} sẽ được giữ đến sáng.",
    "quiet_off": "Tin sẽ được gửi cả trong giờ yên tĩnh.",
    "usage_quiet": "Cách dùng: /quiet on hoặc /quiet off",
    "stats_chart_title": "Hoạt động 14 ngày qua",
    "stats_chart_articles": "Tin mới",
    "stats_chart_deliveries": "Lượt gửi",
    # -- receiving news: deep links, backfill, forum topics, channels, inline, mutes, format
    "help_receiving": (
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
    "mutes_full": (
        "Đã chặn {max} từ khóa, mức tối đa cho một cuộc trò chuyện. Hãy gỡ bớt bằng "
        "/unmute <từ khóa> (/mysubs cho xem danh sách) rồi thử lại."
    ),
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
    # self-healing: a channel parked, replies rate-limited
    "alert_channel_down": (
        "⛔ Kênh {channel} bị nền tảng từ chối token; các tin được giữ lại và sẽ gửi khi token "
        "hoạt động trở lại. ({reason})"
    ),
    "alert_channel_up": "✅ Kênh {channel} đã gửi tin trở lại.",
    "replies_slow_down": (
        "Bạn gửi lệnh nhanh quá. Vui lòng đợi khoảng {seconds} giây rồi thử lại nhé."
    ),
    # a channel's plan (Zalo): the user cap, the daily allowance, the reply share, unreadable
    "unreadable_message": (
        "Xin lỗi, bot chưa đọc được loại tin nhắn này. Bạn hãy gõ lệnh bằng chữ, ví dụ "
        "/help để xem các lệnh, /topics để chọn chủ đề, /latest để xem tin mới."
    ),
    "channel_full": (
        "Xin lỗi, kênh {channel} của bản tin đã đủ {max} người dùng theo gói của nền tảng, "
        "nên chưa thể nhận thêm bạn. Vui lòng liên hệ ban quản trị hoặc thử lại sau."
    ),
    "channel_full_link": (
        "Xin lỗi, kênh {channel} của bản tin đã đủ {max} người dùng theo gói của nền tảng, "
        "nên chưa thể nhận thêm bạn. Mời bạn nhận bản tin qua Telegram: {link}"
    ),
    "replies_allowance_spent": (
        "Hôm nay bạn đã dùng hết {count} tin trả lời dành cho mỗi người. Tin theo chủ đề bạn "
        "đăng ký vẫn được gửi như thường; mời bạn gõ lệnh lại vào ngày mai."
    ),
    "reply_cut": (
        "(Còn nữa: mỗi câu trả lời ở đây tối đa {parts} tin nhắn. Hãy xem ít hơn, ví dụ "
        "/latest 5 hoặc /search <từ khóa>.)"
    ),
    "reply_cut_elsewhere": "Đầy đủ trên Telegram: {link}",
    "alert_quota_spent": (
        "⛔ {channel}: nền tảng báo đã hết hạn mức tin nhắn của gói (429 Quota exceeded). "
        "Các tin được giữ trong hàng đợi và sẽ gửi lại từ {until}."
    ),
    "alert_replies_spent": (
        "⚠️ {channel}: lệnh trả lời đã dùng hết phần của mình trong tháng ({cap} trên {quota} "
        "tin; {reserve}% để dành cho tin đẩy). Các lệnh không được trả lời đến {until}."
    ),
    "alert_users_warn": (
        "⚠️ {channel} đã có {users}/{max} người dùng ({percent}% giới hạn của gói)."
    ),
    "alert_users_full": (
        "⛔ {channel} đã đủ {users}/{max} người dùng: người mới được mời sang Telegram và "
        "không được đăng ký."
    ),
    "stats_users": "{channel}: {users}/{max} người dùng ({percent}%)",
    "stats_replies": (
        "{channel}: lệnh trả lời đã dùng {replies}/{cap} tin (phần còn lại cho tin đẩy)"
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
    "web_signin_help": (
        "Gửi lệnh /web cho bot trong cuộc trò chuyện với quyền quản trị: bot trả lời một liên "
        "kết đăng nhập dùng một lần, có hiệu lực 10 phút."
    ),
    "web_signin_confirm": (
        "Liên kết hợp lệ. Bấm nút bên dưới để đăng nhập (phiên có hiệu lực 12 giờ)."
    ),
    "web_signin_button": "Đăng nhập",
    "web_error_title": "Không thực hiện được",
    "web_error_no_session": "Bạn chưa đăng nhập hoặc phiên đã hết hạn.",
    "web_error_csrf": (
        "Biểu mẫu đã hết hạn hoặc không hợp lệ (thiếu mã CSRF). Hãy tải lại trang và thử lại."
    ),
    "web_error_rate": "Quá nhiều lần thử đăng nhập. Hãy đợi một phút.",
    "web_error_too_large": "Dữ liệu gửi lên quá lớn.",
    "web_error_page": "Số trang không hợp lệ: hãy dùng một số nguyên từ 0 đến {max}.",
    "web_link_unknown": "Liên kết đăng nhập không hợp lệ. Gửi /web cho bot để nhận liên kết mới.",
    "web_link_used": (
        "Liên kết đăng nhập này đã được dùng. Mỗi liên kết chỉ dùng được một lần: gửi /web để "
        "nhận liên kết mới."
    ),
    "web_link_expired": (
        "Liên kết đăng nhập đã hết hạn (sau 10 phút). Gửi /web để nhận liên kết mới."
    ),
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
    "web_dash_users": "người dùng",
    "web_dash_messages": "tin đã gửi",
    "web_dash_replies": "trong đó trả lời lệnh",
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
    "web_src_poll_paused": (
        "Nguồn «{source}» đang tạm dừng nên không được quét. Hãy bấm «Tiếp tục» trước, rồi quét."
    ),
    "web_src_poll_paused_hint": "Nguồn đang tạm dừng: bấm «Tiếp tục» trước.",
    "web_src_test": "Thử một URL",
    "web_src_test_button": "Thử",
    "web_src_test_found": "{total} mục (loại {kind}); các mục đầu:",
    "web_src_test_refused_private": (
        "Không thử địa chỉ nội bộ ({reason}): bảng điều khiển chỉ đọc địa chỉ công khai. "
        "Người vận hành có thể cho phép bằng BANTIN_CONSOLE_ALLOW_PRIVATE=true, "
        "hoặc dùng check-source trên máy chủ."
    ),
    "web_src_test_refused_metadata": (
        "Không bao giờ đọc địa chỉ metadata của dịch vụ đám mây ({reason}): "
        "nó chứa thông tin xác thực của máy chủ."
    ),
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
    "web_bc_plain_note": "văn bản thuần, chia mỗi {limit} ký tự",
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
    "web_bc_error_when_far": "Chỉ hẹn giờ được trong vòng một năm tới.",
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
    "web_command_link": (
        "Liên kết đăng nhập bảng điều khiển (dùng một lần, hiệu lực 10 phút):\n{url}"
    ),
    # Zalo Official Account (console page, alerts)
    "web_nav_zalo_oa": "Zalo OA",
    "web_oa_title": "Zalo Official Account",
    "web_oa_connected": "Đã kết nối OA {oa_id}; mã truy cập còn hạn đến {expires}.",
    "web_oa_not_connected": "Chưa kết nối OA nào.",
    "web_oa_down": "Kênh Zalo OA đang tạm dừng: {reason}",
    "web_oa_connect": "Kết nối OA",
    "web_oa_connect_help": (
        "Bạn sẽ được chuyển tới Zalo: chọn OA rồi bấm “Cho phép”. Làm lại khi được báo mất kết nối."
    ),
    "web_oa_sends": "Tin đã gửi theo tháng",
    "web_oa_month": "Tháng",
    "web_oa_kind_consultation_free": "Tư vấn miễn phí",
    "web_oa_kind_consultation_billed": "Tư vấn tính phí",
    "web_oa_kind_template": "Tin mẫu (ZBS)",
    "web_oa_cost": "Chi phí",
    "web_oa_budget_left": "Ngân sách còn lại",
    "web_oa_callback_ok": "Đã kết nối OA. Bot dùng mã mới ngay.",
    "web_oa_callback_bad": (
        "Liên kết kết nối không hợp lệ, đã dùng hoặc đã quá 10 phút. Hãy bấm Kết nối OA lại."
    ),
    "web_oa_callback_refused": "Zalo không cấp mã: {reason}",
    "web_oa_back": "Về trang Zalo OA",
    "alert_zalo_oa_reconnect": (
        "⚠️ Zalo OA mất kết nối ({reason}). Tin nhắn đang chờ. Một quản trị viên hãy mở "
        "{url} và bấm “Kết nối OA”, rồi chọn OA và bấm “Cho phép” trên Zalo."
    ),
    "alert_zalo_oa_billing": (
        "⚠️ Zalo từ chối tin trả phí của OA ({reason}). Kiểm tra tài khoản Zalo Cloud; "
        "các tin trả phí đang chờ, tin miễn phí vẫn gửi."
    ),
}
