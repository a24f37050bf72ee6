"""A real chroma server for the tests: ``chroma run`` (the CLI that ships with the chromadb
package) on a free loopback port with its data in a temporary folder, stopped afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A loopback port nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chroma_cli() -> str:
    """The ``chroma`` CLI of this interpreter's environment."""
    return str(Path(sys.executable).with_name("chroma"))


@contextmanager
def chroma_server(data: Path) -> Iterator[str]:
    """Start ``chroma run`` on 127.0.0.1; yields its URL once it answers its heartbeat."""
    port = free_port()
    log = (data.parent / f"chroma-{port}.log").open("wb")
    proc = subprocess.Popen(
        [chroma_cli(), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(data)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not start: see {log.name}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
