"""Headless Chromium (Debian's ``chromium``) for the report tests and the README screenshot."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["chromium", "dump_dom", "screenshot"]

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-extensions",
         "--disable-default-apps", "--mute-audio", "--hide-scrollbars")


def chromium() -> str | None:
    """Path of the Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium not found (Debian: apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="stance-chromium-") as profile:
        return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)


def dump_dom(url: str, budget_ms: int = 15000, timeout: float = 120) -> str:
    """The page's DOM after its scripts ran (virtual time *budget_ms*)."""
    res = _run([f"--virtual-time-budget={budget_ms}", "--dump-dom", url], timeout)
    if res.returncode != 0:
        raise RuntimeError(f"chromium exited {res.returncode}: {res.stderr.decode(errors='replace')[-500:]}")
    return res.stdout.decode("utf-8", errors="replace")


def screenshot(url: str, out: Path, size: tuple[int, int] = (1400, 1800), budget_ms: int = 15000,
               timeout: float = 120) -> None:
    """A PNG of the page."""
    res = _run([f"--virtual-time-budget={budget_ms}", f"--window-size={size[0]},{size[1]}",
                f"--screenshot={out}", url], timeout)
    if res.returncode != 0 or not Path(out).is_file():
        raise RuntimeError(f"chromium exited {res.returncode}: {res.stderr.decode(errors='replace')[-500:]}")
