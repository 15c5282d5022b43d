"""Write transactions that wait for the lock instead of failing.

sqlite-utils' ``Database.atomic()`` starts a *deferred* transaction. In WAL mode, a
deferred transaction that has read and then wants to write, while another connection
committed in between, fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT):
the busy timeout cannot help, since waiting would not make its snapshot current. Every
write of the archive therefore starts with ``BEGIN IMMEDIATE``: it takes the write lock
first (waiting up to the busy timeout for another writer) and reads the current state
under it. Nested blocks use savepoints (:func:`savepoint`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils

__all__ = ["savepoint", "write_transaction"]

# One name for every savepoint: SQLite's RELEASE and ROLLBACK TO name the innermost
# savepoint of that name, so nesting works, and the statements stay in the connection's
# statement cache (sqlite-utils' atomic() names each savepoint afresh, a new statement
# to prepare every time).
_SAVEPOINT = "newswatch"


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    conn = db.conn
    if conn.in_transaction:
        with savepoint(db):
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


@contextmanager
def savepoint(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A savepoint inside the running transaction: a failure in the block undoes the
    block's writes only."""
    conn = db.conn
    conn.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        yield db
    except BaseException:
        # An error can destroy the whole transaction, savepoints included (then there is
        # nothing to undo, and the error is what the caller must see).
        if conn.in_transaction:
            conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
            conn.execute(f"RELEASE {_SAVEPOINT}")
        raise
    else:
        conn.execute(f"RELEASE {_SAVEPOINT}")
