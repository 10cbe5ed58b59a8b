"""Persistence: the only package where SQLAlchemy appears. Never imports ``bot``.

One module per resource; :class:`storage.store.Store` gathers their mixins and opens the
database. Where a new query goes:

- ``records``  the values it returns (frozen dataclasses, ``DeliveryStatus``,
  ``CancelReason``, ``SubscriptionKind``, errors); a method returns one of these, never a bare tuple
- ``sources``  the configured sources: poll state, and which an admin paused
- ``articles`` storing articles (and fanning them out), newest articles, the archive pages
- ``search``   the full-text index, one class per dialect behind ``SearchIndex``
- ``entries``  entries that failed on their own (reason, attempts), skipped after a few
- ``chats``    chats, subscriptions, backfills, forum topics, registered channels, the chat
  list, export/import
- ``outbox``   deliveries: claim, mark (sent, failed, unreachable, cancelled), requeue
- ``leases``   leases between instances and monthly channel usage
- ``stats``    read-only figures for /stats, charts, /metrics and the console's dashboard
- ``retention`` deleting old finished deliveries, keeping their hourly counts
- ``sessions`` admins' sign-in links, sessions and audit log (the web console)
- ``broadcasts`` messages (broadcasts, alerts): the one enqueue, the ones scheduled in the
  console, and the one count of a broadcast that its progress and the history read
- ``zalo_oa``  the Zalo OA channel: its token pair, members' windows, sends by kind and
  cost per month, the OAuth states of a connect
- ``base``     what the mixins share (engine, dialect ``INSERT``, row converters)
- ``tables``   the schema; change it only together with a new migration
- ``schema``   runs the migrations (one transaction, SQLite included); no queries

A query goes to the module of the table it reads or writes (of the main one, when it joins
several), whichever page or command asks for it.

Migrations are frozen: they import nothing from ``storage``, ``feeds`` or ``bot``, so later
changes to live code cannot change what an old revision does.
"""
