"""``stance review-labels``: cleanlab on grouped out-of-fold probabilities points at wrong labels."""

from __future__ import annotations

import csv
import hashlib
import itertools
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.core.data import load_dataset
from pipeline.core.params import TrainParams, from_mapping
from pipeline.evaluate.review import REVIEW_COLUMNS, find_review_rows, out_of_fold_proba
from tests.trainkit import small_params, write_dataset, write_params

# Invented sentences (test data only): three clearly worded families, one per label.
ACTORS = ["Washington", "Tokyo", "Seoul", "Paris", "London", "Canberra", "Ottawa", "Berlin"]
TARGETS = ["the regime", "Pyongyang", "the government", "the junta"]
TEMPLATES = {
    "support": ["{a} calls for tougher sanctions on {t}.", "{a} will tighten the sanctions against {t}.",
                "{a} demands full enforcement of the sanctions on {t}."],
    "oppose": ["{a} rejects the sanctions on {t} as illegal and harmful.",
               "{a} urges the Council to lift the sanctions on {t}.",
               "{a} says the sanctions against {t} must be eased at once."],
    "neutral": ["The delegation of {a} arrived in the city on Tuesday.", "The meeting about {t} lasted two hours.",
                "{a} published the schedule of the conference."],
}


def corpus(n_articles: int = 18) -> dict[str, list[tuple[str, str]]]:
    """n_articles invented articles of 9 sentences, 3 per label, every sentence distinct."""
    combos = itertools.cycle(itertools.product(ACTORS, TARGETS))
    articles = {}
    for k in range(n_articles):
        rows = []
        for label, templates in TEMPLATES.items():
            for template in templates:
                actor, target = next(combos)
                rows.append((template.format(a=actor, t=target), label))
        articles[f"art{k:02d}"] = rows
    return articles


def flip(articles: dict[str, list[tuple[str, str]]], n: int) -> set[str]:
    """Flip the labels of n sentences chosen by a hash (support <-> oppose, neutral -> support); their ids."""
    ids = sorted((hashlib.sha1(f"{a}-{i:02d}".encode()).hexdigest(), a, i)
                 for a, rows in articles.items() for i in range(len(rows)))
    flipped = set()
    swap = {"support": "oppose", "oppose": "support", "neutral": "support"}
    for _h, a, i in ids[:n]:
        text, label = articles[a][i]
        articles[a][i] = (text, swap[label])
        flipped.add(f"{a}-{i:02d}")
    return flipped


@pytest.fixture(scope="module")
def flipped_case(tmp_path_factory):
    base = tmp_path_factory.mktemp("review")
    articles = corpus()
    flipped = flip(articles, 16)
    dataset = write_dataset(base / "dataset.csv", articles)
    params = small_params()
    params["train"]["cv_folds"] = 3
    params["train"]["grid"]["logreg"] = {"C": [10.0]}
    return {"base": base, "dataset": dataset, "flipped": flipped, "params": params,
            "params_path": write_params(base / "params.yaml", params)}


def test_flipped_labels_rank_at_the_top(flipped_case):
    frame = load_dataset(flipped_case["dataset"])
    params = from_mapping(TrainParams, flipped_case["params"]["train"], "train")
    proba = out_of_fold_proba(frame, params)
    rows = find_review_rows(frame, proba)
    n = len(flipped_case["flipped"])
    top = [r["sentence_id"] for r in rows[:n]]
    hits = len(set(top) & flipped_case["flipped"])
    assert hits >= 0.75 * n, (hits, top, sorted(flipped_case["flipped"]))
    # and what it flags is mostly the flipped labels (the clean ones are learnable)
    assert len({r["sentence_id"] for r in rows} & flipped_case["flipped"]) >= 0.8 * len(rows)
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    # ranked by self-confidence: the probability of the given label never decreases down the list
    assert [float(r["p_label"]) for r in rows] == sorted(float(r["p_label"]) for r in rows)


def test_cli_writes_the_review_file_and_changes_no_label(flipped_case, capsys):
    out = flipped_case["base"] / "review.csv"
    before = flipped_case["dataset"].read_bytes()
    assert main(["review-labels", "--dataset", str(flipped_case["dataset"]), "--params",
                 str(flipped_case["params_path"]), "--out", str(out)]) == 0
    assert flipped_case["dataset"].read_bytes() == before
    with open(out, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == REVIEW_COLUMNS
        rows = list(reader)
    assert rows and {r["label"] for r in rows} <= {"support", "oppose", "neutral"}
    assert len({r["sentence_id"] for r in rows[:16]} & flipped_case["flipped"]) >= 12
    assert "labels flagged for re-reading" in capsys.readouterr().err


def test_missing_dataset_is_one_line(tmp_path: Path, capsys):
    assert main(["review-labels", "--dataset", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "r.csv")]) == 2
    err = capsys.readouterr().err
    assert "nope.csv" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_review_file_is_safe_to_open_in_a_spreadsheet(tmp_path: Path):
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe."""
    articles = corpus()
    flip(articles, 16)
    articles = {a: [(("=", "+", "-", "@")[i % 4] + text, label) for i, (text, label) in enumerate(rows)]
                for a, rows in articles.items()}
    dataset = write_dataset(tmp_path / "dataset.csv", articles)
    params = small_params()
    params["train"]["cv_folds"] = 3
    params["train"]["grid"]["logreg"] = {"C": [10.0]}
    out = tmp_path / "review.csv"
    assert main(["review-labels", "--dataset", str(dataset), "--params",
                 str(write_params(tmp_path / "params.yaml", params)), "--out", str(out)]) == 0
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for row in rows:
        assert row["text"][0] == "'" and row["text"][1] in "=+-@", row["text"]
