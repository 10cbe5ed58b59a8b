"""The English messages: every key of the Vietnamese catalogue, in English."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
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
    "keywords_full": (
        "This chat already follows {max} keywords, the most one chat may. Remove some with "
        "/unfollow <keyword> (/mysubs lists them), then try again."
    ),
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
    # Per-entry isolation: entries that failed on their own
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
    "alert_quota_warn": (
        "⚠️ {channel} has used {percent}% of its monthly quota ({sent}/{quota} messages)."
    ),
    "alert_quota_digest": (
        "⚠️ {channel} has used {percent}% of its monthly quota ({sent}/{quota} messages): "
        "new articles now go out as one daily digest at {time} until the month ends."
    ),
    "digest_header": "🗞 Daily digest: {count} articles",
    "alert_parked": (
        "⚠️ The platform rate-limits the {channel} channel; messages are held for about "
        "{minutes} minutes. ({reason})"
    ),
    "broadcast_queued": "Announcement queued for {count} chats.",
    "broadcast_progress": (
        "📣 Sending the announcement: {done}/{total} (sent {sent}, failed {failed}, unreachable "
        "{unreachable})"
    ),
    "broadcast_done": (
        "📣 Announcement finished for {total} chats: sent {sent}, failed {failed}, unreachable "
        "{unreachable}."
    ),
    "digest_set": "You will get one digest a day at {time}.",
    "digest_off": "Back to instant pushes.",
    "usage_digest": "Usage: /digest 07:30 (a digest every day at 7:30) or /digest off",
    "quiet_on": "Pushes during quiet hours{hours} will wait until morning.",
    "quiet_off": "Pushes will arrive during quiet hours too.",
    "usage_quiet": "Usage: /quiet on or /quiet off",
    "stats_chart_title": "Activity, last 14 days",
    "stats_chart_articles": "New articles",
    "stats_chart_deliveries": "Deliveries",
    # -- receiving news: deep links, backfill, forum topics, channels, inline, mutes, format
    "help_receiving": (
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
    "mutes_full": (
        "This chat already mutes {max} keywords, the most one chat may. Lift some with "
        "/unmute <keyword> (/mysubs lists them), then try again."
    ),
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
    # self-healing: a channel parked, replies rate-limited
    "alert_channel_down": (
        "⛔ The platform refuses the {channel} token; messages are kept and go out once the "
        "token works again. ({reason})"
    ),
    "alert_channel_up": "✅ The {channel} channel sends again.",
    "replies_slow_down": "You are sending commands too fast. Please wait about {seconds} seconds.",
    # a channel's plan (Zalo): the user cap, the daily allowance, the reply share, unreadable
    "unreadable_message": (
        "Sorry, the bot cannot read this kind of message. Please type a command as text, "
        "e.g. /help for the commands, /topics to pick topics, /latest for the news."
    ),
    "channel_full": (
        "Sorry, the news bot's {channel} channel has reached the {max} users its plan "
        "allows, so it cannot take you in. Please contact the admins or try again later."
    ),
    "channel_full_link": (
        "Sorry, the news bot's {channel} channel has reached the {max} users its plan "
        "allows, so it cannot take you in. Please get the news on Telegram: {link}"
    ),
    "replies_allowance_spent": (
        "You have used today's {count} replies. The news of your topics keeps coming; "
        "please send commands again tomorrow."
    ),
    "reply_cut": (
        "(More: answers here take at most {parts} messages. Ask for fewer, e.g. /latest 5 "
        "or /search <words>.)"
    ),
    "reply_cut_elsewhere": "All of it on Telegram: {link}",
    "alert_quota_spent": (
        "⛔ {channel}: the platform says the plan's messages are spent (429 Quota exceeded). "
        "Messages stay queued and are sent again from {until}."
    ),
    "alert_replies_spent": (
        "⚠️ {channel}: command replies have used their share of the month ({cap} of {quota} "
        "messages; {reserve}% is kept for pushes). Commands go unanswered until {until}."
    ),
    "alert_users_warn": "⚠️ {channel} has {users}/{max} users ({percent}% of its plan's cap).",
    "alert_users_full": (
        "⛔ {channel} is full with {users}/{max} users: newcomers are sent to Telegram and not "
        "registered."
    ),
    "stats_users": "{channel}: {users}/{max} users ({percent}%)",
    "stats_replies": "{channel}: replies used {replies}/{cap} messages (the rest is for pushes)",
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
    "web_signin_help": (
        "Send /web to the bot from an admin chat: it answers with a one-time sign-in link, "
        "valid for 10 minutes."
    ),
    "web_signin_confirm": (
        "The link is valid. Press the button to sign in (the session lasts 12 hours)."
    ),
    "web_signin_button": "Sign in",
    "web_error_title": "That did not work",
    "web_error_no_session": "You are not signed in, or your session expired.",
    "web_error_csrf": (
        "The form expired or is invalid (CSRF token missing). Reload the page and try again."
    ),
    "web_error_rate": "Too many sign-in attempts. Wait a minute.",
    "web_error_too_large": "What was sent is too large.",
    "web_error_page": "Not a valid page: use a whole number from 0 to {max}.",
    "web_link_unknown": "This sign-in link is not valid. Send /web to the bot for a new one.",
    "web_link_used": (
        "This sign-in link was already used. Each link works once: send /web for a new one."
    ),
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
    "web_dash_users": "users",
    "web_dash_messages": "messages sent",
    "web_dash_replies": "of which command replies",
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
    "web_src_poll_paused": "Source “{source}” is paused, so it is not polled. Resume it first.",
    "web_src_poll_paused_hint": "The source is paused: resume it first.",
    "web_src_test": "Test a URL",
    "web_src_test_button": "Test",
    "web_src_test_found": "{total} entries (kind {kind}); the first ones:",
    "web_src_test_refused_private": (
        "Private addresses are not tested ({reason}): the console reads public addresses "
        "only. The operator may allow them with BANTIN_CONSOLE_ALLOW_PRIVATE=true, "
        "or use check-source on the server."
    ),
    "web_src_test_refused_metadata": (
        "A cloud metadata address is never read ({reason}): it holds the server's credentials."
    ),
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
    "web_bc_plain_note": "plain text, split every {limit} characters",
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
    "web_bc_error_when_far": "A broadcast can be scheduled at most a year ahead.",
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
    # Zalo Official Account (console page, alerts)
    "web_nav_zalo_oa": "Zalo OA",
    "web_oa_title": "Zalo Official Account",
    "web_oa_connected": "Connected to OA {oa_id}; the access token is valid until {expires}.",
    "web_oa_not_connected": "No OA is connected.",
    "web_oa_down": "The Zalo OA channel is parked: {reason}",
    "web_oa_connect": "Connect the OA",
    "web_oa_connect_help": (
        "You are sent to Zalo: pick the OA and press “Cho phép” (Allow). Do it again when told "
        "the connection was lost."
    ),
    "web_oa_sends": "Sends by month",
    "web_oa_month": "Month",
    "web_oa_kind_consultation_free": "Consultation, free",
    "web_oa_kind_consultation_billed": "Consultation, billed",
    "web_oa_kind_template": "Template (ZBS)",
    "web_oa_cost": "Cost",
    "web_oa_budget_left": "Budget left",
    "web_oa_callback_ok": "The OA is connected. The bot uses the new tokens at once.",
    "web_oa_callback_bad": (
        "This connect link is invalid, used or over 10 minutes old. Press Connect the OA again."
    ),
    "web_oa_callback_refused": "Zalo gave no tokens: {reason}",
    "web_oa_back": "Back to the Zalo OA page",
    "alert_zalo_oa_reconnect": (
        "⚠️ The Zalo OA is disconnected ({reason}). Messages wait. An admin: open {url}, press "
        "“Connect the OA”, pick the OA on Zalo and press “Cho phép” (Allow)."
    ),
    "alert_zalo_oa_billing": (
        "⚠️ Zalo refuses the OA's paid sends ({reason}). Check the Zalo Cloud Account; paid "
        "sends wait, free ones still go."
    ),
}
