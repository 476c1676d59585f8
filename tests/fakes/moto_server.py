"""moto in server mode on a free loopback port: boto3 talks real HTTP to it via endpoint_url,
so request signing, serialisation and error parsing are exercised exactly as against AWS."""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.server import ThreadedMotoServer

REGION = "eu-west-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"


class MotoServer:
    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url = ""

    def start(self) -> MotoServer:
        # werkzeug logs every request at INFO; keep test output readable.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        """Forget all state (identities, topics, sent mail) between tests."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback http

    def client(self, service: str, **kwargs: Any) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            **kwargs,
        )

    def sent_emails(self) -> list[dict[str, Any]]:
        """Messages SES accepted, as moto's state endpoint reports them."""
        url = f"{self.endpoint_url}/moto-api/data.json"
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
            data = json.load(response)
        ses = data.get("ses", {})
        return [*ses.get("RawMessage", []), *ses.get("Message", [])]


@contextmanager
def running_moto_server() -> Iterator[MotoServer]:
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()
