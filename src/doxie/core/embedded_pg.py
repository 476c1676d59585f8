"""The embedded PostgreSQL used when no ``DATABASE_URL`` is given.

pgserver ships PostgreSQL binaries in a wheel and keeps, in the data folder, the list of
processes using the server: the first ``doxie`` process on a folder starts it, any other
(web, worker, a management command run beside ``doxie run``) joins it, and the last one to
exit stops it cleanly.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path


def ensure_embedded_postgres(pgdata: Path) -> str:
    """Start (or join) the embedded server in ``pgdata`` and return its connection URL."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True)
    warnings.filterwarnings("ignore", module="platformdirs")
    import pgserver

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(pgdata), cleanup_mode="stop")
    return server.get_uri()
