"""The admins' web console under ``/admin``: sign-in by one-time link, dashboard, sources,
broadcasts, archive, chats, sessions and audit log; server-rendered, served by the bot."""
