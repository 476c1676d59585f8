"""The embedded PostgreSQL used when no ``DATABASE_URL`` is given.

pgserver ships PostgreSQL binaries in a wheel and keeps, in the data folder, the list of
processes using the server: the first ``doxie`` process on a folder starts it, any other
(web, worker, a management command run beside ``doxie run``) joins it, and the last one to
exit stops it cleanly.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_dead_users(pgdata: Path) -> None:
    """A process killed hard never unregisters; without pruning, the server is never stopped."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def ensure_embedded_postgres(pgdata: Path) -> str:
    """Start (or join) the embedded server in ``pgdata`` and return its connection URL."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True)
    warnings.filterwarnings("ignore", module="platformdirs")
    import pgserver
    from pgserver.postgres_server import PostgresServer

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with PostgresServer._lock:
        _forget_dead_users(pgdata)
    server = pgserver.get_server(str(pgdata), cleanup_mode="stop")
    return server.get_uri()
