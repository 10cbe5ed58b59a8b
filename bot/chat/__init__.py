"""What members and admins say to the bot and what it answers, written once for every channel:
commands (the dispatcher and member commands), admin_commands, member_settings (how and where
a member receives news: ``/start`` payloads, backfill, mutes, formats, channels, inline
search), deep links, rendering, charts and broadcasts. A new chat command goes in the module of
its audience and one line of the dispatcher's table.
"""
