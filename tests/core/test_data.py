"""pipeline.core.data: labels, columns, normalisation and ids, the strict CSV reader, the atomic writer."""

from __future__ import annotations

import json

import pytest

from pipeline.core.config import StanceError
from pipeline.core.data import (
    LABELS,
    atomic_open,
    normalize_text,
    read_csv_rows,
    sentence_id,
    write_json_atomic,
    write_rows_csv,
    write_text_atomic,
)


def test_labels_vocabulary():
    import pipeline

    assert LABELS == ("support", "oppose", "neutral") and pipeline.LABELS is LABELS


def test_normalize_text_and_sentence_id():
    assert normalize_text("\u201cChina\u2019s  SANCTIONS\u201d \u2014 now!") == "china s sanctions now"
    a = sentence_id("art", "The Council \u201cmust\u201d act.")
    assert a == sentence_id("art", 'the council "must" act') and len(a) == 16
    assert a != sentence_id("other", "The Council must act.")


def test_strict_csv_reader_names_file_and_line(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n\n3\n", encoding="utf-8")
    with pytest.raises(StanceError, match=r"x.csv, line 4: expected 2 fields"):
        read_csv_rows(p, ("a", "b"))
    p.write_text("a,b\n1,2\n", encoding="utf-8")
    assert read_csv_rows(p, ("a",)) == (["a", "b"], [(2, {"a": "1", "b": "2"})])
    with pytest.raises(StanceError, match="missing column"):
        read_csv_rows(p, ("c",))
    p.write_text('a,b\n"1,2\n', encoding="utf-8")
    with pytest.raises(StanceError, match="never closed"):
        read_csv_rows(p, ("a",))


def test_write_rows_csv(tmp_path):
    write_rows_csv(tmp_path / "o.csv", ("a", "b"), [{"a": 1, "b": "x,y"}])
    assert (tmp_path / "o.csv").read_text() == 'a,b\n1,"x,y"\n'


def test_atomic_write_keeps_old_content_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as fh:
            fh.write("half of the new cont")
            raise RuntimeError("crash in the middle")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"], "temporary file left behind"


def test_atomic_writers(tmp_path):
    write_text_atomic(tmp_path / "sub" / "a.txt", "x\n")
    assert (tmp_path / "sub" / "a.txt").read_text() == "x\n"
    write_json_atomic(tmp_path / "b.json", {"b": 1, "a": [1, 2]})
    text = (tmp_path / "b.json").read_text()
    assert text.endswith("\n") and text.index('"a"') < text.index('"b"')
    assert json.loads(text) == {"a": [1, 2], "b": 1}
