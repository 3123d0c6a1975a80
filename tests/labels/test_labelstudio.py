"""Tests for the Label Studio export (tasks + config) and import (JSON export -> labels file)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from labelkit import HEADER, rows, write

from pipeline import LABELS
from pipeline.cli import main
from pipeline.labels.stage import build_dataset

SENTENCES = """sentence_id,article_id,position,paragraph,start,end,text
a0,art1,0,0,0,39,The Council welcomed the new sanctions.
a1,art1,1,0,40,100,"Russia said sanctions must be eased, citing ""humanitarian"" harm."
a2,art1,2,0,101,128,The meeting rose at 11 a.m.
b0,art2,0,0,0,31,China opposed further measures.
b1,art2,1,0,32,80,The panel of experts will report in six months.
b2,art2,2,1,81,120,Sanctions remain the best tool we have.
"""


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "sentences.csv", SENTENCES)
    write(tmp_path / "labels.csv", HEADER + "a0,support,The Council welcomed the new sanctions.,hand\n"
                                            "b1,,The panel of experts will report in six months.,\n")
    return tmp_path


def export(project: Path, *extra: str) -> list[dict]:
    assert main(["export-queue", "--sentences", str(project / "sentences.csv"),
                 "--labels", str(project / "labels.csv"), "--out", str(project / "ls" / "tasks.json"),
                 "--config-out", str(project / "ls" / "config.xml"),
                 "--params", str(project / "no-params.yaml"), *extra]) == 0
    return json.loads((project / "ls" / "tasks.json").read_text(encoding="utf-8"))


def import_(project: Path, export_file: Path, *extra: str) -> int:
    return main(["import-labels", str(export_file), "--sentences", str(project / "sentences.csv"),
                 "--labels", str(project / "labels.csv"), *extra])


def annotation(label: str, cancelled: bool = False, who: int = 1, control: str = "stance",
               ground_truth: bool = False, extra: list[dict] | None = None) -> dict:
    """One annotation as Label Studio's JSON export writes it (fields from the documented format)."""
    return {
        "id": 1000 + who, "completed_by": who, "was_cancelled": cancelled, "ground_truth": ground_truth,
        "created_at": "2024-05-01T10:00:00.000000Z", "updated_at": "2024-05-01T10:00:05.000000Z",
        "lead_time": 4.2, "result_count": 0, "task": 1,
        "result": [] if cancelled else [{
            "id": f"r{who}", "type": "choices", "from_name": control, "to_name": "text",
            "origin": "manual", "value": {"choices": [label]},
        }, *(extra or [])],
    }


def ls_export(tasks: list[dict], answers: dict[str, list[dict]]) -> list[dict]:
    """What Label Studio exports after annotation: the imported tasks plus annotations."""
    out = []
    for n, task in enumerate(tasks):
        out.append({"id": 500 + n, "data": task["data"], "annotations": answers.get(task["data"]["sentence_id"], []),
                    "predictions": [], "project": 7, "created_at": "2024-05-01T09:00:00.000000Z"})
    return out


def test_export_tasks_and_config(project):
    tasks = export(project)
    # a0 is labeled; b1 has an empty label so it is still in the queue.
    assert [t["data"]["sentence_id"] for t in tasks] == ["a1", "a2", "b0", "b1", "b2"]
    assert [t["id"] for t in tasks] == [1, 2, 3, 4, 5]
    assert tasks[0]["data"] == {
        "text": 'Russia said sanctions must be eased, citing "humanitarian" harm.', "sentence_id": "a1",
        "article_id": "art1", "position": 1, "context_before": "The Council welcomed the new sanctions.",
        "context_after": "The meeting rose at 11 a.m."}
    assert tasks[2]["data"]["context_before"] == ""

    xml = (project / "ls" / "config.xml").read_text(encoding="utf-8")
    root = ET.fromstring(xml)
    choices = root.find(".//Choices")
    assert choices.get("name") == "stance" and choices.get("choice") == "single"
    assert [c.get("value") for c in choices.findall("Choice")] == list(LABELS)
    texts = {t.get("name"): t.get("value") for t in root.iter("Text")}
    assert texts[choices.get("toName")] == "$text"
    # every $variable the config uses exists in every task's data
    for var in re.findall(r"\$(\w+)", xml):
        assert all(var in t["data"] for t in tasks), var

    assert export(project, "--article", "art2", "--limit", "2") == [
        {"id": 1, "data": tasks[2]["data"]}, {"id": 2, "data": tasks[3]["data"]}]


def test_export_is_deterministic_and_print_config(project, capsys):
    export(project)
    first = (project / "ls" / "tasks.json").read_bytes()
    export(project)
    assert (project / "ls" / "tasks.json").read_bytes() == first
    capsys.readouterr()
    assert main(["export-queue", "--print-config"]) == 0
    assert capsys.readouterr().out.startswith("<View>")


def test_round_trip_export_annotate_import(project, capsys):
    tasks = export(project)
    answers = {
        "a1": [annotation("oppose")],
        "a2": [annotation("neutral"), annotation("support", cancelled=True, who=2)],  # cancelled ignored
        "b0": [annotation("oppose", who=1), annotation("oppose", who=2)],               # two agree
        "b1": [annotation("neutral")],                                                  # fills the blank row
        "b2": [annotation("support", who=1), annotation("oppose", who=2)],              # disagree: skipped
    }
    path = write(project / "export.json", json.dumps(ls_export(tasks, answers)))
    capsys.readouterr()
    assert import_(project, path) == 0
    captured = capsys.readouterr()
    assert "3 added, 1 filled in, 0 overwritten, 0 unchanged, 0 task(s) without annotation" in captured.err
    assert "annotators disagree on b2: oppose, support (skipped)" in captured.err
    assert rows(project / "labels.csv") == [
        ["sentence_id", "label", "text", "note"],
        ["a0", "support", "The Council welcomed the new sanctions.", "hand"],
        ["b1", "neutral", "The panel of experts will report in six months.", ""],
        ["a1", "oppose", 'Russia said sanctions must be eased, citing "humanitarian" harm.', ""],
        ["a2", "neutral", "The meeting rose at 11 a.m.", ""],
        ["b0", "oppose", "China opposed further measures.", ""],
    ]
    dataset, queue, _report = build_dataset(project / "sentences.csv", project / "labels.csv")
    assert [q["sentence_id"] for q in queue] == ["b2"]
    assert len(dataset) == 5

    # Importing the same export again changes nothing.
    before = (project / "labels.csv").read_bytes()
    assert import_(project, path) == 0
    assert "0 added, 0 filled in, 0 overwritten, 4 unchanged" in capsys.readouterr().err
    assert (project / "labels.csv").read_bytes() == before


def test_conflicts_are_reported_and_kept_unless_overwrite(project, capsys):
    data = {"text": "The Council welcomed the new sanctions.", "sentence_id": "a0",
            "article_id": "art1", "position": 0}
    path = write(project / "export.json", json.dumps([{"id": 1, "data": data, "annotations": [annotation("oppose")]}]))
    before = (project / "labels.csv").read_bytes()
    assert import_(project, path) == 0
    err = capsys.readouterr().err
    assert "conflict: a0:" in err and "says 'support', export says 'oppose' (kept; use --overwrite" in err
    assert (project / "labels.csv").read_bytes() == before

    assert import_(project, path, "--dry-run", "--overwrite") == 0
    assert "1 overwritten" in capsys.readouterr().err
    assert (project / "labels.csv").read_bytes() == before

    assert import_(project, path, "--overwrite") == 0
    assert rows(project / "labels.csv")[1] == ["a0", "oppose", "The Council welcomed the new sanctions.", "hand"]


def test_legacy_completions_json_min_unannotated_and_reattach(project, capsys):
    export_data = [
        {"id": 1, "data": {"sentence_id": "a1", "text": "x"}, "completions": [annotation("oppose")]},
        {"id": 2, "data": {"sentence_id": "a2", "text": "x"}, "annotations": []},
        # the sentence was re-split since the export: its old id is gone, its text matches b2
        {"id": 3, "data": {"sentence_id": "OLD", "text": "Sanctions remain the best tool we have!"},
         "annotations": [annotation("support")]},
        {"id": 4, "data": {"sentence_id": "GONE", "text": "No such sentence anywhere."},
         "annotations": [annotation("neutral")]},
    ]
    path = write(project / "export.json", json.dumps(export_data))
    assert import_(project, path) == 0
    captured = capsys.readouterr()
    assert "2 added" in captured.err and "1 task(s) without annotation" in captured.err
    assert "OLD is no longer in" in captured.err and "matches b2" in captured.err
    assert "unknown sentence_id GONE" in captured.err
    assert [r[:2] for r in rows(project / "labels.csv")][3:] == [["a1", "oppose"], ["b2", "support"]]

    minimal = [{"id": 9, "sentence_id": "b0", "text": "China opposed further measures.", "stance": "oppose",
                "annotator": 1, "annotation_id": 12}]
    path = write(project / "min.json", json.dumps(minimal))
    assert import_(project, path) == 0
    assert rows(project / "labels.csv")[-1][:2] == ["b0", "oppose"]


@pytest.mark.parametrize("content, expected", [
    pytest.param('[{"id": 1, "data": {"sentence_id": "a1"}, "annotations": '
                 '[{"result": [{"type": "choices", "value": {"choices": ["Positive"]}}]}]}]',
                 ["task 1 (id 1) sentence_id a1, annotation 1, result 1", "unknown choice 'Positive'"],
                 id="unknown-choice"),
    pytest.param('[{"id": 1,\n "data": {"sentence_id": "a1"},,}]', ["line 2, column", "invalid JSON"], id="bad-json"),
    pytest.param('[{"id": 4, "data": {"text": "t"}, "annotations": []}]',
                 ["task 1 (id 4)", "missing or empty data.sentence_id (None)"], id="no-sentence-id"),
    pytest.param('{"tasks": []}', ["expected a JSON list of tasks", "dict"], id="not-a-list"),
    pytest.param('[{"id": 1, "data": {"sentence_id": "a1"}, "annotations": [{"result": '
                 '[{"type": "choices", "value": {"choices": ["support", "oppose"]}}]}]}]',
                 ["several choices ['support', 'oppose']"], id="two-choices"),
    pytest.param('[{"id": 1, "data": {"sentence_id": "a1"}, "annotations": [{"result": '
                 '[{"type": "choices", "value": {"text": ["x"]}}]}]}]', ["no value.choices"], id="no-choices"),
])
def test_import_validation_errors_write_nothing(project, capsys, content, expected):
    path = write(project / "bad_export.json", content)
    before = (project / "labels.csv").read_bytes()
    assert import_(project, path) == 2
    err = capsys.readouterr().err
    assert err.startswith("stance import-labels: error: ") and err.count("\n") == 1
    assert "bad_export.json" in err
    for part in expected:
        assert part in err, (part, err)
    assert (project / "labels.csv").read_bytes() == before


def test_import_refuses_an_invalid_labels_file(project, capsys):
    write(project / "labels.csv", HEADER + "a0,pro,t,\n")
    path = write(project / "export.json", "[]")
    assert import_(project, path) == 2
    assert "labels.csv, line 2: unknown label 'pro'" in capsys.readouterr().err


CONFIDENCE = {"id": "c1", "type": "choices", "from_name": "confidence", "to_name": "text", "origin": "manual",
              "value": {"choices": ["unsure"]}}


def test_other_controls_are_ignored(project, capsys):
    tasks = export(project)
    answers = {"a1": [annotation("oppose", extra=[CONFIDENCE])], "a2": [annotation("neutral", extra=[CONFIDENCE])]}
    path = write(project / "export.json", json.dumps(ls_export(tasks, answers)))
    assert import_(project, path) == 0
    assert "2 added" in capsys.readouterr().err
    assert [r[:2] for r in rows(project / "labels.csv")][3:] == [["a1", "oppose"], ["a2", "neutral"]]


def test_renamed_control_needs_the_config(project, capsys):
    tasks = export(project)
    answers = {"a1": [annotation("oppose", control="position", extra=[CONFIDENCE])]}
    path = write(project / "export.json", json.dumps(ls_export(tasks, answers)))
    before = (project / "labels.csv").read_bytes()
    capsys.readouterr()
    assert import_(project, path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no annotation uses the Choices control 'stance' (it has: confidence, position)" in err
    assert "--config" in err
    assert (project / "labels.csv").read_bytes() == before

    config = (project / "ls" / "config.xml").read_text(encoding="utf-8").replace('name="stance"', 'name="position"')
    config = config.replace("</View>\n", '  <Choices name="confidence" toName="text"><Choice value="sure"/>'
                                         '<Choice value="unsure"/></Choices>\n</View>\n')
    cfg = write(project / "project-config.xml", config)
    assert import_(project, path, "--config", str(cfg)) == 0
    assert rows(project / "labels.csv")[-1][:2] == ["a1", "oppose"]

    # JSON-MIN with the renamed control: a clear error, not "0 added" and exit 0
    minimal = [{"id": 9, "sentence_id": "b0", "text": "China opposed further measures.", "position": "oppose",
                "confidence": "sure", "annotator": 1, "annotation_id": 12}]
    path = write(project / "min.json", json.dumps(minimal))
    assert import_(project, path) == 2
    assert "no annotation uses the Choices control 'stance' (it has: position)" in capsys.readouterr().err
    assert import_(project, path, "--config", str(cfg)) == 0
    assert rows(project / "labels.csv")[-1][:2] == ["b0", "oppose"]


def test_config_without_the_stance_control(project, capsys):
    cfg = write(project / "c.xml", '<View><Text name="text" value="$text"/><Choices name="x" toName="text">'
                                   '<Choice value="yes"/><Choice value="no"/></Choices></View>')
    path = write(project / "export.json", "[]")
    assert import_(project, path, "--config", str(cfg)) == 2
    assert "c.xml: no Choices control with exactly the choices support, oppose, neutral" in capsys.readouterr().err


def test_ground_truth_annotation_wins(project, capsys):
    tasks = export(project)
    answers = {"a1": [annotation("support", who=1), annotation("oppose", who=2, ground_truth=True)],
               "a2": [annotation("support", who=1), annotation("neutral", who=2)]}
    path = write(project / "export.json", json.dumps(ls_export(tasks, answers)))
    assert import_(project, path) == 0
    captured = capsys.readouterr()
    assert "1 added" in captured.err
    assert "1 task(s): the ground-truth annotation was taken over disagreeing ones" in captured.err
    assert "annotators disagree on a2" in captured.err
    assert [r[:2] for r in rows(project / "labels.csv")][3:] == [["a1", "oppose"]]


@pytest.mark.parametrize("name, content", [
    ("export.csv", "id,sentence_id,text,stance\n1,a1,x,oppose\n"),
    ("export.tsv", "id\tsentence_id\ttext\tstance\n1\ta1\tx\toppose\n"),
    ("export.json", "id,sentence_id,text,stance\n1,a1,x,oppose\n"),
])
def test_csv_export_gets_a_hint(project, capsys, name, content):
    path = write(project / name, content)
    assert import_(project, path) == 2
    err = capsys.readouterr().err
    assert err == f"stance import-labels: error: {path}: this looks like a CSV/TSV export; use Label Studio's " \
                  f"JSON export (Export -> JSON)\n"
