"""Build docs/dvc_plots_template.html: DVC's plots page with vega, vega-lite and vega-embed inlined,
and pipeline/analyze/vega_scripts.html: the same three scripts, which `stance analyze` inlines
into report.html.

`dvc plots show` writes a page that loads these three scripts from a CDN, so its interactive
plots stay blank offline. `.dvc/config` points `plots.html_template` at the page this script
builds, which carries the scripts itself and has no `{scripts}` placeholder (DVC's CDN tags
have nowhere to go).

The scripts come from the npm registry packages, pinned to the versions dvc-render asks for:

    npm pack vega@5.20.2 vega-lite@5.2.0 vega-embed@6.18.2
    python tools/build_plots_template.py vega-5.20.2.tgz vega-lite-5.2.0.tgz vega-embed-6.18.2.tgz

Each package is BSD-3-Clause licensed; its licence text is kept in the page.

    python tools/build_plots_template.py --from-template

writes pipeline/analyze/vega_scripts.html from the scripts already in the template (no download).
"""

from __future__ import annotations

import hashlib
import re
import sys
import tarfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "docs" / "dvc_plots_template.html"
ASSET = Path(__file__).resolve().parents[1] / "pipeline" / "analyze" / "vega_scripts.html"
_BLOCK = re.compile(r"<!-- (vega|vega-lite|vega-embed) [\s\S]*?-->\s*<script>[\s\S]*?</script>")
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


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    print(f"wrote {path} ({len(text):,} bytes)")


def write_asset(page: str) -> None:
    """pipeline/analyze/vega_scripts.html: the three script blocks of *page*, licences kept."""
    blocks = [m.group(0) for m in _BLOCK.finditer(page)]
    if len(blocks) != 3:
        raise SystemExit("expected the vega, vega-lite and vega-embed scripts in the template")
    _write(ASSET, "\n".join(blocks) + "\n")


def main(argv: list[str]) -> int:
    if argv == ["--from-template"]:
        write_asset(OUT.read_text(encoding="utf-8"))
        return 0
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
    _write(OUT, page)
    write_asset(page)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
