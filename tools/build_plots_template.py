"""Build docs/dvc_plots_template.html: DVC's plots page with vega, vega-lite and vega-embed inlined.

`dvc plots show` writes a page that loads these three scripts from a CDN, so its interactive
plots stay blank offline. `.dvc/config` points `plots.html_template` at the page this script
builds, which carries the scripts itself and has no `{scripts}` placeholder (DVC's CDN tags
have nowhere to go).

The scripts come from the npm registry packages, pinned to the versions dvc-render asks for:

    npm pack vega@5.20.2 vega-lite@5.2.0 vega-embed@6.18.2
    python tools/build_plots_template.py vega-5.20.2.tgz vega-lite-5.2.0.tgz vega-embed-6.18.2.tgz

Each package is BSD-3-Clause licensed; its licence text is kept in the page.
"""

from __future__ import annotations

import hashlib
import sys
import tarfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "docs" / "dvc_plots_template.html"
BUILDS = {"vega": "package/build/vega.min.js", "vega-lite": "package/build/vega-lite.min.js",
          "vega-embed": "package/build/vega-embed.min.js"}


def _read(tgz: Path) -> tuple[str, str, str, str]:
    name = tgz.name.rsplit("-", 1)[0]
    with tarfile.open(tgz) as tar:
        script = tar.extractfile(BUILDS[name]).read().decode("utf-8")
        licence = tar.extractfile("package/LICENSE").read().decode("utf-8")
    if "</script" in script.lower() or "{plot_divs}" in script:
        raise SystemExit(f"{tgz}: cannot be inlined safely")
    version = tgz.name[len(name) + 1:-len(".tgz")]
    return name, version, script, licence


def main(argv: list[str]) -> int:
    parts = [_read(Path(a)) for a in argv]
    if sorted(p[0] for p in parts) != sorted(BUILDS):
        raise SystemExit(f"usage: build_plots_template.py {' '.join(k + '-X.tgz' for k in BUILDS)}")
    scripts = []
    for name, version, script, licence in sorted(parts, key=lambda p: list(BUILDS).index(p[0])):
        digest = hashlib.sha256(script.encode()).hexdigest()
        scripts.append(f"<!-- {name} {version} (npm), sha256 {digest}\n{licence.strip()}\n-->\n"
                       f"<script>{script}</script>")
    page = ("<!DOCTYPE html>\n<html>\n<head>\n    {refresh_tag}\n    <meta charset=\"utf-8\">\n"
            "    <title>sanctions-stance: DVC plots</title>\n" + "\n".join(scripts) +
            "\n    <style>\n        table { border-spacing: 15px; }\n    </style>\n</head>\n<body>\n"
            "    {plot_divs}\n</body>\n</html>\n")
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(OUT)
    print(f"wrote {OUT} ({len(page):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
