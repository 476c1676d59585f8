"""Procrastinate jobs for pages. Names are stable: they are stored in the jobs table.

* ``pages.publish`` — renders one landing page (``page_id``) to static HTML; deferred by
  E3 in its transaction; idempotent per content version.
"""

from __future__ import annotations

from doxie.core.jobs import DEFAULT_RETRY, app
from doxie.pages import publishing


@app.task(name="pages.publish", retry=DEFAULT_RETRY)
def publish_page(page_id: int) -> bool:
    return publishing.publish(page_id)
