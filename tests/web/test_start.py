"""`plateau start` (the quick start's main job) serves the web app on the embedded defaults."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_start_serves_the_web_app(tmp_path):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "plateau", "start", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    html = response.read().decode()
                break
            except OSError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"plateau start did not serve: {proc.stdout.read()}"
                    ) from exc
                time.sleep(0.3)
        assert "Decision support, not a prescription" in html
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/api/v1/trials", timeout=5
        ) as response:
            assert b"evidence_version" in response.read()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert "evidence version" in proc.stdout.read()
