"""stance evaluate: calibration on held-out articles (metrics, reliability diagram) and the
cross-target evaluation from the ``target`` column of the article metadata table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline import LABELS
from pipeline.cli import main
from pipeline.core.config import StanceError

try:
    from trainkit import ARTICLES, small_params, train_fixture
except ImportError:  # pragma: no cover - run as a package
    from tests.trainkit import ARTICLES, small_params, train_fixture

#: The fixture's articles by sanctions target (test data only): a1-a4 about North Korea,
#: a5 Russia, a6 Iran; one more row for an article the dataset lacks, one with no target.
TARGETS = "article_id,date,source,target\na1,,,north_korea\na2,,,north_korea\na3,,,north_korea\n" \
          "a4,,,north_korea\na5,,,russia\na6,,,iran\nzz,,,cuba\nyy,,,\n"


def write_meta(path: Path, text: str = TARGETS) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    base = tmp_path_factory.mktemp("targets")
    params = small_params()
    params["evaluate"]["cross_target"].update(enabled=True, meta=str(write_meta(base / "meta.csv")))
    params["evaluate"]["learning_curve"]["enabled"] = False
    trained = train_fixture(base, params)
    out = base / "out"
    assert main(["evaluate", "--no-mlflow", "--params", str(trained["params_path"]),
                 "--dataset", str(trained["dataset"]), "--model", str(trained["model"]),
                 "--train-report", str(trained["train_report"]), "--metrics", str(out / "metrics.json"),
                 "--plots", str(out / "plots"), "--misclassified", str(out / "mis.csv"),
                 "--classification-report", str(out / "cr.txt")]) == 0
    return {"out": out, "metrics": json.loads((out / "metrics.json").read_text()), **trained}


def test_article_targets_reads_the_column_and_names_bad_rows(tmp_path):
    from pipeline.evaluate.protocols import article_targets, target_groups

    allowed = ["north_korea", "russia", "iran", "cuba", "general"]
    targets = article_targets(write_meta(tmp_path / "m.csv"), "target", allowed)
    assert targets == {"a1": "north_korea", "a2": "north_korea", "a3": "north_korea", "a4": "north_korea",
                       "a5": "russia", "a6": "iran", "zz": "cuba"}
    groups = {"north_korea": ["north_korea"], "other": ["russia", "iran"]}
    assert target_groups(targets, groups) == {"a1": "north_korea", "a2": "north_korea", "a3": "north_korea",
                                              "a4": "north_korea", "a5": "other", "a6": "other"}
    assert article_targets(write_meta(tmp_path / "old.csv", "article_id,date,source\na1,,\n"), "target",
                           allowed) is None
    bad = write_meta(tmp_path / "bad.csv", "article_id,target\na1,north_korea\na2,North Korea\n")
    with pytest.raises(StanceError, match=r"bad\.csv line 3: target 'North Korea' of article 'a2' is not one of"):
        article_targets(bad, "target", allowed)
    twice = write_meta(tmp_path / "twice.csv", "article_id,target\na1,iran\na1,cuba\n")
    with pytest.raises(StanceError, match=r"twice\.csv line 3: article_id 'a1' repeated \(first on line 2\)"):
        article_targets(twice, "target", allowed)


def test_cross_target_settings_are_checked():
    from pipeline.core.params import EvaluateParams, from_mapping

    with pytest.raises(StanceError, match="cross_target.groups.other: 'narnia' is not one of"):
        from_mapping(EvaluateParams, {"cross_target": {"groups": {"other": ["narnia"]}}}, "evaluate")
    with pytest.raises(StanceError, match="cross_target.groups: 'iran' is in both"):
        from_mapping(EvaluateParams, {"cross_target": {"groups": {"a": ["iran"], "b": ["iran"]}}}, "evaluate")
    with pytest.raises(StanceError, match="cross_target.pairs: 'rest' is not a group"):
        from_mapping(EvaluateParams, {"cross_target": {"pairs": [["north_korea", "rest"]]}}, "evaluate")


def test_cross_target_metrics(evaluated):
    m = evaluated["metrics"]
    assert m["data"]["articles_per_target"] == {"iran": 1, "north_korea": 4, "russia": 1}
    ct = m["cross_target"]
    assert set(ct) == {"north_korea_to_other", "other_to_north_korea"}
    assert ct["north_korea_to_other"]["data"] == {"n_train_sentences": 32, "n_train_articles": 4,
                                                  "n_test_sentences": 16, "n_test_articles": 2}
    assert ct["other_to_north_korea"]["data"]["n_train_articles"] == 2
    for block in ct.values():
        for system in ("model", "majority", "lexicon"):
            assert set(block[system]["macro_f1"]) == {"value", "ci_low", "ci_high"}
        assert set(block["calibration"]) == {"method", "raw", "calibrated"}


def test_cross_target_is_skipped_without_the_column(evaluated, tmp_path, capsys):
    from pipeline.core.params import EvaluateParams, from_mapping
    from pipeline.evaluate.stage import cross_target_groups

    messages = []
    meta = write_meta(tmp_path / "m.csv", "article_id\na1\n")
    p = from_mapping(EvaluateParams, {"cross_target": {"meta": str(meta)}}, "evaluate")
    assert cross_target_groups(p, ["a1"], messages.append) == (None, {})
    assert messages == [f"cross-target: skipped ({tmp_path / 'm.csv'} has no 'target' column)"]


def test_bad_target_value_exits_2_naming_file_line_and_value(evaluated, tmp_path, capsys):
    import yaml

    params = yaml.safe_load(evaluated["params_path"].read_text())
    params["evaluate"]["cross_target"]["meta"] = str(write_meta(tmp_path / "m.csv", "article_id,target\na1,mars\n"))
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params), encoding="utf-8")
    assert main(["evaluate", "--no-mlflow", "--params", str(path), "--dataset", str(evaluated["dataset"]),
                 "--model", str(evaluated["model"]), "--train-report", str(evaluated["train_report"]),
                 "--metrics", str(tmp_path / "m.json"), "--plots", str(tmp_path / "plots"),
                 "--misclassified", str(tmp_path / "mis.csv"),
                 "--classification-report", str(tmp_path / "cr.txt")]) == 2
    err = capsys.readouterr().err
    assert "m.csv line 2: target 'mars' of article 'a1' is not one of" in err and "Traceback" not in err


def test_calibration_metrics_on_held_out_articles(evaluated):
    m = evaluated["metrics"]["calibration"]
    assert m["method"] == "bcts"
    for name in ("raw", "calibrated"):
        assert set(m[name]) == {"ece", "brier", "log_loss", "share_error"}
        assert 0 <= m[name]["ece"] <= 1 and 0 <= m[name]["brier"] <= 2
    for block in evaluated["metrics"]["cross_source"].values():
        assert block["calibration"]["method"] == "bcts"


def test_calibration_metrics_are_the_summaries_of_the_nested_scores(evaluated):
    """metrics.json's calibration = the seed mean of calibration_summary on the nested OOF scores."""
    from pipeline.core.data import load_dataset
    from pipeline.evaluate.protocols import nested_oof
    from pipeline.model.calibration import calibration_summary
    from pipeline.train.engine import CVEngine

    df = load_dataset(evaluated["dataset"])
    ev = evaluated["params"]["evaluate"]
    engine = CVEngine(df["text"].tolist(), df["label"].tolist(), df["article_id"].tolist(),
                      evaluated["params"]["train"], inner_folds=ev["inner_folds"])
    oof = nested_oof(engine, ev["seeds"], ev["cv_folds"])
    y = [LABELS.index(v) for v in df["label"]]
    for name, key in (("raw", "proba"), ("calibrated", "calibrated")):
        want = np.mean([calibration_summary(oof[key][s], y)["brier"] for s in range(len(ev["seeds"]))])
        assert evaluated["metrics"]["calibration"][name]["brier"] == pytest.approx(want, abs=1e-6)
    labels_raw = np.asarray(LABELS, dtype=object)[oof["proba"].argmax(axis=2)]
    assert np.array_equal(labels_raw, oof["model"])  # the labels come from the classifier, not the calibration


def test_reliability_plot_files(evaluated):
    plots = evaluated["out"] / "plots"
    records = json.loads((plots / "reliability.json").read_text())
    assert [r["bin"] for r in records] == [round((b + 0.5) / 10, 4) for b in range(10)]
    assert all(r["ideal"] == r["bin"] for r in records)
    assert all(set(r) == {"bin", "ideal", *LABELS, *(f"raw_{c}" for c in LABELS)} for r in records)
    assert all(v is None or 0 <= v <= 1 for r in records for v in r.values())
    assert any(v is None for r in records for v in r.values())  # 48 sentences leave some bins empty
    png = (plots / "reliability.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and b"Software" not in png
    assert len(ARTICLES) == 6
