"""Reading article files for the splitter (private: see :mod:`pipeline.split.stage`).

:func:`read_article` decodes one UTF-8 article and separates its ``# key: value`` header
lines; :func:`list_articles` lists a folder's ``*.txt`` articles. Bad files raise
:class:`~pipeline.core.config.StanceError` naming the file (and line).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from pipeline.core.config import StanceError

_UTF_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"),
)


def read_article(path: str | Path) -> tuple[dict[str, str], str, int]:
    """Read one article file.

    Returns ``(metadata, body, body_offset)``: the ``# key: value`` header lines as a
    dict (keys lower-cased), the text after them, and the character offset of that text
    in the decoded file. Offsets count every character of the file as decoded (a
    byte-order mark and the ``\\r`` of ``\\r\\n`` line ends included), so ``start``/``end``
    of the sentences index the file's text. Raises :class:`StanceError` naming the file
    for an unreadable, empty, binary, UTF-16/32 or otherwise non-UTF-8 file, or one with
    nothing after its header lines.
    """
    p = Path(path)
    check_regular(p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise StanceError(f"{p}: cannot read: {exc.strerror or exc}") from None
    if not data.strip():
        raise StanceError(f"{p}: empty file")
    for bom, name in _UTF_BOMS:
        if data.startswith(bom):
            raise StanceError(f"{p}: {name} text (byte-order mark), expected UTF-8; re-save the file as UTF-8")
    if b"\0" in data:
        nul = data.index(b"\0")
        raise StanceError(f"{p}: binary file (NUL byte at offset {nul}), expected UTF-8 text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise StanceError(
            f"{p}: line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    offset = 1 if text.startswith("\ufeff") else 0
    # a lone CR (old Mac line end) becomes LF: same length, so offsets do not move;
    # the CR of CRLF stays in the text and is stripped with the line's other whitespace
    text = re.sub(r"\r(?!\n)", "\n", text[offset:])
    meta: dict[str, str] = {}
    consumed = 0
    for raw in text.split("\n"):
        m = re.match(r"^#\s*([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$", raw)
        if not m:
            break
        meta[m.group(1).lower()] = m.group(2)
        consumed += len(raw) + 1
    body = text[consumed:]
    if not body.strip():
        what = "no article text after the header lines" if meta else "empty file"
        raise StanceError(f"{p}: {what}")
    return meta, body, offset + consumed


_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory"))


def check_regular(path: Path) -> None:
    """Raise :class:`StanceError` unless *path* (after symlinks) is a regular file.

    Checked with ``stat`` before anything opens the file: opening a FIFO would wait for a
    writer for ever, a device could be endless.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise StanceError(f"{path}: not found" + (" (broken symbolic link)" if path.is_symlink() else "")) from None
    except OSError as exc:
        raise StanceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
        raise StanceError(f"{path}: {kind}, not a regular file; articles must be plain text files")


def check_raw_file(path: Path) -> None:
    """An article of the raw folder must be a regular file inside that folder.

    A symbolic link whose target lies outside the folder is refused: its text would be copied
    into git-tracked outputs (the split report) although nobody put it in the folder.
    """
    if path.is_symlink():
        folder = Path(os.path.realpath(path.parent))
        target = Path(os.path.realpath(path))
        if not target.is_relative_to(folder):
            raise StanceError(f"{path}: symbolic link to a file outside the articles folder; "
                              "copy the article into the folder instead")
    check_regular(path)


def list_articles(raw_dir: str | Path) -> list[Path]:
    """The ``*.txt`` files of *raw_dir* in name order (hidden ``.*`` files left out).

    Raises :class:`StanceError` when the folder is missing or holds no articles.
    """
    raw = Path(raw_dir)
    if not raw.is_dir():
        raise StanceError(f"{raw}: input folder not found")
    files = sorted((f for f in raw.glob("*.txt") if not f.name.startswith(".")), key=lambda f: f.name)
    if not files:
        raise StanceError(f"{raw}: no *.txt articles found")
    return files
