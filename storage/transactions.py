"""Write transactions that wait for the lock instead of failing.

sqlite-utils' ``Database.atomic()`` starts a *deferred* transaction. In WAL mode, a
deferred transaction that has read and then wants to write, while another connection
committed in between, fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT):
the busy timeout cannot help, since waiting would not make its snapshot current. Every
write of the archive therefore starts with ``BEGIN IMMEDIATE``: it takes the write lock
first (waiting up to the busy timeout for another writer) and reads the current state
under it. Nested blocks use savepoints.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils

__all__ = ["write_transaction"]


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():  # a savepoint inside the running transaction
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
