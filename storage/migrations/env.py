"""Alembic environment: runs on the connection handed over by :func:`storage.store.upgrade`.

Used programmatically (``run_bot.py db upgrade`` and at start-up), or by the ``alembic`` CLI
with ``-x url=...`` for authoring new revisions.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from storage.tables import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # CLI use: a synchronous URL, e.g. -x url=sqlite:///data/bantin.sqlite3
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give the database with: alembic -x url=sqlite:///path.sqlite3 ...")
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
