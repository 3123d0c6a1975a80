"""docs/img/report.png: a screenshot of report.html in headless Chromium (Debian's ``chromium``).

    python tools/report_screenshot.py OUT_DIR/report.html [docs/img/report.png]

OUT_DIR is a folder written by ``stance analyze``. The page is opened from the file, as an
analyst would, with no network.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browserkit import screenshot  # noqa: E402


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        raise SystemExit(__doc__)
    page = Path(argv[0]).resolve()
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "docs" / "img" / "report.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    screenshot(page.as_uri(), out, size=(1400, 1900))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
