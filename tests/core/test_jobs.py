"""Jobs are deferred in the caller's transaction: rolled back = never run; committed = run."""

from __future__ import annotations

import json

import pytest
from django.db import connection, transaction

from doxie.core import tasks
from doxie.core.jobs import app
from tests.helpers import run_jobs


class Boom(Exception):
    pass


def job_rows(task_name: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args, status FROM procrastinate_jobs WHERE task_name = %s ORDER BY id",
            [task_name],
        )
        # Django's psycopg setup hands jsonb back as text.
        return [(json.loads(args), status) for args, status in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_job_never_runs_and_committed_job_does():
    with pytest.raises(Boom), transaction.atomic():
        tasks.echo.defer(value="rolled-back")
        raise Boom
    with transaction.atomic():
        tasks.echo.defer(value="committed")

    assert [args["value"] for args, _ in job_rows("core.echo")] == ["committed"]

    # A real worker drains the queue and stops when it is empty.
    run_jobs()

    rows = job_rows("core.echo")
    assert [(args["value"], status) for args, status in rows] == [("committed", "succeeded")]


@pytest.mark.django_db(transaction=True)
def test_periodic_housekeeping_task_is_registered():
    assert "core.purge_rate_counters" in app.tasks
    assert tasks.purge_rate_counters() == 0
