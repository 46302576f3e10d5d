"""One retrain at a time across processes and hosts.

PostgreSQL: a session-level advisory lock on a connection held for the whole run; it goes
with the connection, so a killed process releases it. Advisory locks are database-wide, so the
key is derived from the schema: installations (or test processes) in their own schemas of one
database do not block each other. SQLite (one host): an exclusive `flock` on a file beside
the database; the kernel releases it when the process dies.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

from sqlalchemy import Engine, text

from matchning.config import Settings

ADVISORY_KEY = 0x6D61_7463_6872  # "matchr": seeds the key of the installation's retrain lock
# The installation's key: ADVISORY_KEY hashed with the schema the tables live in.
_KEY_SQL = "hashtextextended(coalesce(current_schema(), ''), :k)"


class RetrainLock:
    def __init__(self, engine: Engine, settings: Settings):
        self.engine = engine
        self.path = Path(settings.data_dir) / "retrain.lock"
        self._conn = None
        self._file = None

    def try_acquire(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            got = bool(conn.execute(text(f"SELECT pg_try_advisory_lock({_KEY_SQL})"),
                                    {"k": ADVISORY_KEY}).scalar())
            conn.commit()  # the lock is the session's, not the transaction's
            if not got:
                conn.close()
                return False
            self._conn = conn
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        self._file = fh
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text(f"SELECT pg_advisory_unlock({_KEY_SQL})"),
                                   {"k": ADVISORY_KEY})
                self._conn.commit()
            except Exception:  # a dead connection has released the lock already
                pass
            finally:
                self._conn.close()
                self._conn = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
