"""Polling: when each source is polled (scheduling), what one poll does (poller, with its pure
decisions in plan), and the read-only checks of a source (check, adhoc for a URL nobody
configured). A new source *type* adds its parser to ``feeds`` and one row to the kind table of
:mod:`feeds.reader`; nothing here changes.
"""
