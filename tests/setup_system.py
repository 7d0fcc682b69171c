"""Install the system packages the test suite needs, on a fresh machine (CI included).

* Debian's ``chromium`` for the end-to-end browser tests (Playwright drives it through
  ``executable_path``; Playwright's own browser download is not used and cannot work offline).
* Debian's ``postgresql`` for the storage tests that run against a real PostgreSQL server.

Runs as part of ``python3 dev.py test``.  Needs root (apt-get); without root, or off Debian, it
says what is missing and the tests that need it are skipped with that reason, never silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

PACKAGES = {
    "chromium": "/usr/bin/chromium",
    "postgresql": "/usr/lib/postgresql",
}


def missing() -> list[str]:
    return [name for name, path in PACKAGES.items() if not os.path.exists(path)]


def main() -> int:
    need = missing()
    if not need:
        return 0
    if shutil.which("apt-get") is None or (hasattr(os, "geteuid") and os.geteuid() != 0):
        print(
            f"[plateau setup] cannot install {', '.join(need)} (needs root and apt-get); "
            "tests that need them will be skipped",
            flush=True,
        )
        return 0
    print(f"[plateau setup] installing Debian packages: {', '.join(need)}", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    quiet = ["-qq"]
    for cmd in (["apt-get", *quiet, "update"], ["apt-get", *quiet, "install", "-y", *need]):
        result = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL)
        if result.returncode != 0:
            print(f"[plateau setup] {' '.join(cmd)} failed ({result.returncode})", flush=True)
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
