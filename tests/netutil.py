"""Loopback ports for test servers, safe when tests run in parallel (pytest-xdist, other runs).

Two ways, choose the first when the server runs in this process:

* :func:`listening_socket` binds port 0 and returns the bound socket; hand it to the server
  (``uvicorn.Server.run(sockets=[sock])``), so no other process can take the port in between.
* :func:`free_port` is for a server in another process (``plateau start``, PostgreSQL).  The
  kernel picks an unused port, and the port is then claimed in a directory shared by every test
  process on the machine (an ``O_EXCL`` file per port), so two test processes never receive the
  same port; a claim is released after ten minutes.  A caller still retries when its server
  cannot bind (a process outside the tests may take the port).
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CLAIMS = Path(tempfile.gettempdir()) / "plateau-test-ports"
CLAIM_SECONDS = 600


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to a free port of ``host`` (port in ``sock.getsockname()[1]``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


def _claim(port: int) -> bool:
    CLAIMS.mkdir(exist_ok=True)
    path = CLAIMS / str(port)
    with contextlib.suppress(FileNotFoundError):
        if time.time() - path.stat().st_mtime > CLAIM_SECONDS:
            path.unlink(missing_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    return True


def free_port(host: str = "127.0.0.1", attempts: int = 50) -> int:
    """A port no other test process has been given in the last ten minutes, free right now."""
    for _ in range(attempts):
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if _claim(port):
            return port
    raise RuntimeError(f"no free port claimed after {attempts} attempts ({CLAIMS})")


def serve(app: Any) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` with uvicorn in a background thread on a socket bound here (no port race).

    Returns ``(base_url, stop)``.
    """
    sock = listening_socket()
    port = sock.getsockname()[1]
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("live server did not start within 20 s")
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    return f"http://127.0.0.1:{port}", stop
