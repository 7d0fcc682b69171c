"""`plateau start` (the quick start's main job) serves the web app on the embedded defaults."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

from netutil import free_port


def test_start_serves_the_web_app(tmp_path):
    port = free_port()
    # the embedded default database, relative to the working directory: var/ under tmp_path
    env = {k: v for k, v in os.environ.items() if k != "PLATEAU_DATABASE_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "plateau", "start", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
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
