"""The embedded PostgreSQL used when no ``DATABASE_URL`` is given.

pgserver ships PostgreSQL binaries in a wheel. The server is started once per data folder
and left running (``cleanup_mode=None``) so that every ``doxie`` process on the same folder
(web, worker, a management command run beside ``doxie run``) shares it.
"""

from __future__ import annotations

import fcntl
import os
import warnings
from pathlib import Path


def ensure_embedded_postgres(pgdata: Path) -> str:
    """Start (or join) the embedded server in ``pgdata`` and return its connection URL."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent))
    warnings.filterwarnings("ignore", module="platformdirs")
    import pgserver

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    lock_path = pgdata.parent / "pg.lock"
    with open(lock_path, "w") as lock:
        # Two processes starting at once must not both run initdb on the same folder.
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            server = pgserver.get_server(str(pgdata), cleanup_mode=None)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return server.get_uri()
