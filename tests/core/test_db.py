"""core.db.savepoint: an expected conflict is the caller's to handle, a lost transaction is not."""

from __future__ import annotations

import psycopg
import pytest
from django.db import IntegrityError, OperationalError, connection, transaction

from doxie.core.db import savepoint


@pytest.mark.django_db(transaction=True)
def test_expected_error_passes_through_and_the_transaction_goes_on():
    with transaction.atomic():
        with pytest.raises(IntegrityError), savepoint():
            raise IntegrityError("duplicate")
        with connection.cursor() as cursor:  # still usable
            cursor.execute("SELECT 1")


@pytest.mark.django_db(transaction=True)
def test_connection_lost_inside_savepoint_becomes_operational_error():
    """The database dies while a caller expects a unique conflict: never report success."""
    settings = connection.settings_dict
    try:
        with pytest.raises(OperationalError), transaction.atomic():
            with savepoint():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    pid = cursor.fetchone()[0]
                kill_backend(settings, pid)
                raise IntegrityError("the conflict the caller would swallow")
    finally:
        connection.close()


def kill_backend(settings: dict, pid: int) -> None:
    conninfo = {
        "dbname": settings["NAME"], "user": settings["USER"],
        "host": settings["HOST"] or None, "port": settings["PORT"] or None,
        "password": settings["PASSWORD"] or None,
    }
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v}, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
