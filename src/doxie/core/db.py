"""Transaction helpers shared by every service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import OperationalError, transaction


@contextmanager
def savepoint() -> Iterator[None]:
    """A savepoint whose expected failure (a unique conflict, a queueing lock) the caller
    catches and carries on from.

    If the database goes away inside it, rolling back to the savepoint fails too. Django then
    marks the whole transaction for rollback and re-raises the original error; a caller that
    catches that error would go on and answer success for work that is silently rolled back.
    Here that case becomes an ``OperationalError`` instead, which the API answers with 503.
    """
    try:
        with transaction.atomic():
            yield
    except Exception as exc:
        if transaction.get_connection().needs_rollback:
            raise OperationalError("the transaction was lost (database unavailable)") from exc
        raise
