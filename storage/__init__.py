"""Persistence: the only package where SQLAlchemy appears. Never imports ``bot``.

One module per resource; :class:`storage.store.Store` gathers their mixins and opens the
database. Where a new query goes:

- ``records``  the values it returns (frozen dataclasses, ``DeliveryStatus``, errors)
- ``sources``  poll state of the configured sources
- ``articles`` storing articles (and fanning them out), newest articles
- ``search``   the full-text index, one class per dialect behind ``SearchIndex``
- ``entries``  entries that failed on their own (reason, attempts), skipped after a few
- ``chats``    chats, subscriptions, their export/import
- ``outbox``   deliveries and messages: enqueue, claim, mark, requeue, broadcast progress
- ``leases``   leases between instances and monthly channel usage
- ``stats``    read-only figures for /stats, charts and /metrics
- ``retention`` deleting old finished deliveries, keeping their hourly counts
- ``web``      the web console's sign-in links, sessions, audit log, paused sources
- ``broadcasts`` broadcasts scheduled in the console, and the history of all broadcasts
- ``console``  read queries of the console's pages (chats list, archive, article page)
- ``base``     what the mixins share (engine, dialect ``INSERT``, row converters)
- ``tables``   the schema; change it only together with a new migration

Migrations are frozen: they import nothing from ``storage``, ``feeds`` or ``bot``, so later
changes to live code cannot change what an old revision does.
"""
