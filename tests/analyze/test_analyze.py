"""Tests of `stance analyze` with the local engine, the actor rule and its evaluation.

The Spark engine is tested in tests/test_analyze_spark.py. Fixtures: tests/conftest.py
(tiny_model_path) and tests/analyzekit.py (a hand-written corpus in several forms).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from analyzekit import ARTICLES, ROOT, make_params, read_bytes, write_csv, write_dir, write_jsonl, write_parquet

from pipeline import LABELS
from pipeline.analyze.actor_evaluation import evaluate, evaluate_actors
from pipeline.analyze.actors import attribute, attribute_article, compile_actors
from pipeline.analyze.io import SENTENCE_COLUMNS
from pipeline.analyze.stage import OUTPUTS, analyze
from pipeline.analyze.stats import period_of, wilson
from pipeline.cli import main
from pipeline.core.config import StanceError
from pipeline.core.params import AnalyzeParams, from_mapping, load_section


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_ROOT", raising=False)


@pytest.fixture
def params(tmp_path) -> Path:
    return make_params(tmp_path / "params.yaml")


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(["analyze", *map(str, argv)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_folder_outputs_counts_and_undated(capsys, tmp_path, tiny_model_path, params):
    corpus = write_dir(tmp_path / "corpus")
    out = tmp_path / "out"
    rc, _, err = run(capsys, "--input", corpus, "--out", out, "--model", tiny_model_path, "--params", params,
                     "--period", "year")
    assert rc == 0, err
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    sents = pd.read_parquet(out / "sentences.parquet")
    assert list(sents.columns) == list(SENTENCE_COLUMNS)
    assert set(sents["label_source"]) == {"model"} and (sents["label"] == sents["model_label"]).all()
    assert all(isinstance(a, (list, tuple)) or hasattr(a, "tolist") for a in sents["actors"])
    assert set(sents["label"]) <= set(LABELS)
    assert (sents[[f"score_{lab}" for lab in LABELS]].sum(axis=1).round(6) == 1).all()
    trends = pd.read_csv(out / "trends.csv", keep_default_na=False)
    assert list(trends.columns[:7]) == ["period", "source", "articles", "sentences", "support", "oppose", "neutral"]
    # the trends are exactly the counts of the sentence table
    expect = sents.groupby(["period", "source"])["label"].value_counts().unstack(fill_value=0)
    for _, row in trends.iterrows():
        for lab in LABELS:
            assert row[lab] == expect.loc[(str(row["period"]), row["source"])].get(lab, 0)
        assert row["sentences"] == row["support"] + row["oppose"] + row["neutral"]
        for lab in LABELS:
            assert row[f"{lab}_low"] <= row[f"expected_{lab}"] <= row[f"{lab}_high"]
        assert row["interval"] == "articles"          # no share errors given: sampling only
    # expected shares are the mean probabilities of the sentences behind each row
    sents["key"] = list(zip(sents["period"], sents["source"]))
    mean = sents.groupby("key")[[f"score_{lab}" for lab in LABELS]].mean()
    for _, row in trends.iterrows():
        for lab in LABELS:
            assert row[f"expected_{lab}"] == pytest.approx(mean.loc[[(str(row["period"]), row["source"])],
                                                                     f"score_{lab}"].item(), abs=6e-5)
    # the article without a date is counted under "undated" and reported, not dropped
    assert "undated" in set(trends["period"])
    assert trends["sentences"].sum() == len(sents)
    assert "1 article(s) without a date" in err and "a4" in err
    arts = pd.read_csv(out / "articles.csv", keep_default_na=False)
    assert list(arts["article_id"]) == list(ARTICLES)
    assert arts.loc[arts["article_id"] == "a4", "date"].item() == ""
    assert arts.loc[arts["article_id"] == "a1", "source"].item() == "Wire"


def test_periods_and_jobs_give_identical_outputs(tmp_path, tiny_model_path, params):
    corpus = write_dir(tmp_path / "corpus")
    a = analyze(corpus, tmp_path / "a", model=tiny_model_path, params=params, period="quarter", jobs=1,
                batch_articles=1)
    b = analyze(corpus, tmp_path / "b", model=tiny_model_path, params=params, period="quarter", jobs=2,
                batch_articles=1)
    assert a["sentences"] == b["sentences"] > 0
    assert read_bytes(tmp_path / "a") == read_bytes(tmp_path / "b")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a/sentences.parquet"),
                                  pd.read_parquet(tmp_path / "b/sentences.parquet"))
    periods = set(pd.read_csv(tmp_path / "a/trends.csv")["period"])
    assert periods == {"2016-Q1", "2016-Q4", "2017-Q2", "undated"}


def test_file_inputs_match_the_folder(tmp_path, tiny_model_path, params):
    corpus = write_dir(tmp_path / "corpus")
    analyze(corpus, tmp_path / "dir", model=tiny_model_path, params=params)
    want = read_bytes(tmp_path / "dir")
    for name, writer in (("in.jsonl", write_jsonl), ("in.csv", write_csv), ("in.parquet", write_parquet)):
        out = tmp_path / name.replace(".", "_")
        analyze(writer(tmp_path / name), out, model=tiny_model_path, params=params)
        assert read_bytes(out) == want, name


def test_metadata_table_wins_over_headers_and_urls_become_hosts(tmp_path, tiny_model_path, params):
    corpus = write_dir(tmp_path / "corpus")
    (corpus / "a1.txt").write_text("# source: https://www.example.org/news/1\n" + ARTICLES["a1"][2],
                                   encoding="utf-8")
    meta = tmp_path / "meta.csv"
    meta.write_text("article_id,date,source,note\na2,2009-04,Other Outlet,by reading\nzz,2001-01-01,X,\n",
                    encoding="utf-8")
    analyze(corpus, tmp_path / "out", model=tiny_model_path, params=params, meta=meta)
    arts = pd.read_csv(tmp_path / "out/articles.csv", keep_default_na=False).set_index("article_id")
    assert arts.loc["a1", "source"] == "example.org" and arts.loc["a1", "date"] == ""
    assert (arts.loc["a2", "date"], arts.loc["a2", "source"]) == ("2009-04", "Other Outlet")
    assert arts.loc["a3", "date"] == "2017-06-02"   # header line, not in the table


def test_year_only_dates_are_undated_at_month_period(tmp_path, tiny_model_path, params):
    assert period_of("2016", "year") == "2016"
    assert period_of("2016", "month") == "undated"
    assert period_of("2016-11", "quarter") == "2016-Q4"
    assert period_of("2016-11-30", "month") == "2016-11"
    assert period_of("", "year") == "undated"


def test_wilson_interval_known_values():
    low, high = wilson(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    assert wilson(0, 0) == (0.0, 1.0)
    low, high = wilson(0, 20)
    assert low == 0.0 and round(high, 4) == 0.1611


BAD_ROWS = [
    ("in.jsonl", '{"article_id": "x", "text": "China opposes sanctions.", "date": "2016-13-01"}\n',
     "in.jsonl line 1: date '2016-13-01' is not an ISO date"),
    ("in.jsonl", '{"article_id": "x", "text": "A text here."}\n{"article_id": "x", "text": "Another text."}\n',
     "in.jsonl line 2: article_id 'x' repeated (first on row 1)"),
    ("in.jsonl", '{"article_id": "x", "text": "  "}\n', "in.jsonl line 1: empty text"),
    ("in.jsonl", '{"article_id": "x"}\n', "in.jsonl line 1: no 'text'"),
    ("in.jsonl", 'not json\n', "in.jsonl line 1: invalid JSON"),
    ("in.csv", "article_id,body\nx,hello\n", "in.csv line 1: no 'text' column"),
    ("in.csv", "article_id,text,date\nx,China opposes sanctions.,12/03/2016\n",
     "in.csv line 2: date '12/03/2016' is not an ISO date"),
    ("in.csv", "article_id,text\n,China opposes sanctions.\n", "in.csv line 2: empty article_id"),
    ("in.txt", "hello\n", "unknown input type '.txt'"),
]


@pytest.mark.parametrize("name, content, message", BAD_ROWS)
def test_bad_rows_exit_2_with_one_line(capsys, tmp_path, tiny_model_path, params, name, content, message):
    src = tmp_path / name
    src.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    rc, _, err = run(capsys, "--input", src, "--out", out, "--model", tiny_model_path, "--params", params)
    assert rc == 2
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (out / "trends.csv").exists()
    assert not [p for p in out.glob("*")] if out.exists() else True


def test_bad_header_date_and_bad_meta_table(capsys, tmp_path, tiny_model_path, params):
    corpus = write_dir(tmp_path / "corpus")
    (corpus / "a2.txt").write_text("# date: 30 Nov 2016\n" + ARTICLES["a2"][2], encoding="utf-8")
    rc, _, err = run(capsys, "--input", corpus, "--out", tmp_path / "o", "--model", tiny_model_path,
                     "--params", params)
    assert rc == 2 and "a2.txt: header '# date:': date '30 Nov 2016' is not an ISO date" in err
    meta = tmp_path / "meta.csv"
    meta.write_text("article_id,date,source\na1,2016-02-30,Wire\n", encoding="utf-8")
    rc, _, err = run(capsys, "--input", corpus, "--out", tmp_path / "o", "--model", tiny_model_path,
                     "--params", params, "--meta", meta)
    assert rc == 2 and "meta.csv line 2: date '2016-02-30' is not an ISO date" in err


def test_bad_input_leaves_previous_outputs(capsys, tmp_path, tiny_model_path, params):
    out = tmp_path / "out"
    analyze(write_dir(tmp_path / "corpus"), out, model=tiny_model_path, params=params)
    before = read_bytes(out, ("trends.csv", "sentences.parquet", "trends.png"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"article_id": "q", "text": "Fine text here."}\n{"article_id": "r", "text": 3}\n')
    rc, _, err = run(capsys, "--input", bad, "--out", out, "--model", tiny_model_path, "--params", params)
    assert rc == 2 and "bad.jsonl line 2: text must be a string" in err
    assert read_bytes(out, ("trends.csv", "sentences.parquet", "trends.png")) == before
    assert not list(out.glob(".*.tmp"))


def test_missing_model_and_spark_options(capsys, tmp_path, params):
    corpus = write_dir(tmp_path / "corpus")
    rc, _, err = run(capsys, "--input", corpus, "--out", tmp_path / "o", "--params", params)
    assert rc == 2 and "not found; run `dvc repro`" in err
    rc, _, err = run(capsys, "--input", corpus, "--out", tmp_path / "o", "--master", "local[2]")
    assert rc == 2 and "--master is for --engine spark" in err


def test_plots_are_png(tmp_path, tiny_model_path, params):
    out = tmp_path / "out"
    analyze(write_dir(tmp_path / "corpus"), out, model=tiny_model_path, params=params)
    import matplotlib.image as mpimg

    for name in ("trends.png", "actors.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        img = mpimg.imread(out / name)
        assert img.shape[0] > 200 and img.shape[1] > 400


# --------------------------------------------------------------------------- actors

@pytest.fixture(scope="module")
def rule():
    return compile_actors(list(load_section("analyze", ROOT / "params.yaml").actors))


HAND_MADE = [
    # speaker of a reporting verb
    ("China's foreign minister says sanctions are not the way to solve the problem.", "China"),
    ("The North Korea issue dominated the talks between the two, Kerry said.", "United States"),
    ("U.S. officials say Beijing fears that tough sanctions could destabilise its neighbour.", "United States"),
    ("Sanctions will not work, according to Russian Foreign Minister Sergei Lavrov.", "Russia"),
    ("Speaking to reporters in Tokyo, Prime Minister Shinzo Abe said Japan would act alone.", "Japan"),
    # subject of the main clause; targets after a preposition are not actors
    ("North Korea has rejected the U.N. resolution.", "North Korea"),
    ("The Security Council imposed new sanctions on North Korea.", "United Nations"),
    ("Seoul will enforce the sanctions against Pyongyang.", "South Korea"),
    ("Sanctions against the Democratic People's Republic of Korea were extended.", "none"),
    ("Britain and France called for a tougher response.", "other"),
    ("The meeting ended without a statement.", "none"),
    # speakers outside quotes; inverted attributions; conjuncts of a target
    ('"Resolution 1718 is the way forward," said Rice.', "United States"),
    ('"We hope talks resume soon," said Choo Kyu-ho, spokesman for South Korea\'s foreign ministry.', "South Korea"),
    ("Remarks at a briefing on nonproliferation and the DPRK by the ambassador.", "none"),
    ("Diplomacy Key To Halting North Korean Nuclear Program, Rice Says", "United States"),
]


@pytest.mark.parametrize("text, actor", HAND_MADE)
def test_actor_rule_on_hand_made_sentences(rule, text, actor):
    assert attribute(text, rule) == [actor]


SPEAKERS_JOINT_AND_REGIMES = [
    # a speaker is the country they represent, wherever they speak
    ("The representative of the United States said the Council must act.", ["United States"]),
    ("US Ambassador Jane Doe told the Council that sanctions must be enforced.", ["United States"]),
    ("Addressing the Council, the representative of the Russian Federation said sanctions were a dead end.",
     ["Russia"]),
    ("A spokesman for the Chinese Foreign Ministry, Liu Jianchao, said it was not appropriate for the Security "
     "Council to get involved.", ["China"]),
    ("Russia's deputy foreign minister, Alexander Losyukov, says the standoff between Washington and Pyongyang "
     "is dangerous.", ["Russia"]),
    # positions held jointly count for every holder
    ("Russia and China blocked the statement.", ["Russia", "China"]),
    ("The United States, Britain and France called for a tougher response.", ["United States", "other"]),
    ("The representatives of the United States and the Russian Federation traded accusations today.",
     ["United States", "Russia"]),
    ("Sanctions against Russia and Iran were extended.", ["none"]),
    # media: a country's press is "other"; its state media and state agencies are the state
    ("Japanese media reports say that 24 North Korean vessels are in Japanese ports.", ["other"]),
    ("Chinese state media said the sanctions were counterproductive.", ["China"]),
    ("KCNA called the resolution an act of war.", ["North Korea"]),
    ("The Global Times said the sanctions would fail.", ["other"]),
    # actors of other sanctions regimes
    ("The European Union imposed new sanctions on Iran.", ["European Union"]),
    ("Tehran rejected the demands of the IAEA.", ["Iran"]),
    ("Cuba's foreign minister said the embargo violates international law.", ["Cuba"]),
    ("Maduro denounced the measures as economic warfare.", ["Venezuela"]),
    ("Damascus says the sanctions punish ordinary Syrians.", ["Syria"]),
    ("Kyiv urged its partners to tighten sanctions on Moscow.", ["Ukraine"]),
    ("Delegates urged a return to negotiations.", ["other"]),
]


@pytest.mark.parametrize("text, actors", SPEAKERS_JOINT_AND_REGIMES)
def test_speakers_joint_actors_media_and_other_regimes(rule, text, actors):
    assert attribute(text, rule) == actors


def test_speech_sentences_belong_to_the_issuer(rule):
    texts = ["Mr. President, groups supported by Iran still talk of the assistance they receive.",
             "For the 28th time, the resolution will likely pass; my government will oppose it.",
             '"We will never accept this," Russia\'s envoy said.']
    assert attribute_article(texts, rule, issuer="United States") == [["United States"], ["United States"],
                                                                      ["Russia"]]
    assert attribute_article(texts[1:2], rule) == [["United Nations"]]    # not an issued document


def test_pronoun_speaker_takes_the_previous_actor(rule):
    texts = ["Chinese Foreign Ministry spokesman Ma Zhaoxu spoke in Beijing on Tuesday.",
             "He said sanctions alone cannot solve the problem.",
             "The meeting lasted three hours."]
    assert attribute_article(texts, rule) == [["China"], ["China"], ["none"]]
    assert attribute("He said sanctions alone cannot solve the problem.", rule) == ["none"]
    texts = ["Russia called for a measured response.", "The ministry says the North Korean action threatens peace."]
    assert attribute_article(texts, rule) == [["Russia"], ["Russia"]]
    texts = ["Russia and China spoke after the vote.", "They said the sanctions went too far."]
    assert attribute_article(texts, rule) == [["Russia", "China"], ["Russia", "China"]]


def test_honorific_surname_and_more_speech_verbs_follow_the_previous_actor(rule):
    """"Mr. Lee said" names someone introduced earlier; "described", "voiced" and "cautioned" report
    speech too, so "she also voiced concern" belongs to the speaker, not to a country she names."""
    texts = ["Seoul's deputy foreign minister, Lee Min-ho, arrived in Beijing on Monday.",
             "Mr. Lee said the talks would resume next month.",
             "He described the sanctions as a last resort."]
    assert attribute_article(texts, rule) == [["South Korea"], ["South Korea"], ["South Korea"]]
    texts = ["The UN envoy opened the meeting.",
             "Regretting the United States withdrawal from the deal, she also voiced concern about the talks.",
             "He cautioned that the Council must stay united."]
    assert attribute_article(texts, rule) == [["United Nations"], ["United Nations"], ["United Nations"]]
    # with no one introduced before, the honorific alone names no actor
    assert attribute("Mr. Lee said the talks would resume next month.", rule) == ["none"]


def test_issuer_and_first_person(rule):
    texts = ["We will not reward their bad behavior with talks.",
             "These launches are brazen violations of the resolutions.",
             "With each launch, North Korea gains valuable technical data."]
    assert attribute_article(texts, rule, issuer="United States") == [["United States"], ["United States"],
                                                                      ["North Korea"]]
    assert attribute_article(texts, rule) == [["none"], ["none"], ["North Korea"]]
    texts = ["Russia's envoy spoke after the vote.", "And we must stay united."]
    assert attribute_article(texts, rule) == [["Russia"], ["Russia"]]


def test_alias_claimed_twice_is_a_params_error():
    with pytest.raises(StanceError, match="alias 'Seoul' is given for both"):
        from_mapping(AnalyzeParams, {"actors": [{"name": "A", "aliases": ["Seoul"]},
                                                {"name": "B", "aliases": ["Seoul"]}]}, "analyze")
    with pytest.raises(StanceError, match="analyze.colour: unknown key"):
        from_mapping(AnalyzeParams, {"colour": "red"}, "analyze")
    with pytest.raises(StanceError, match=r"issuers\[0\].actor: 'Martians' is not an actor"):
        from_mapping(AnalyzeParams, {"actors": [{"name": "A", "aliases": []}],
                                     "issuers": [{"source": "UN", "actor": "Martians"}]}, "analyze")


def test_accuracy_computation():
    gold = pd.DataFrame({"sentence_id": ["a", "b", "c", "d", "e", "f", "g"],
                         "actor": ["China", "China", "Russia", "none", "Japan", "Russia;China", "Japan"]})
    pred = pd.DataFrame({"sentence_id": ["a", "b", "c", "d", "f", "g"],
                         "actor": ["China", "Russia", "Russia", "none", "China; Russia", "Japan; North Korea"]})
    r = evaluate(gold, pred)
    # joint actors compare as sets; naming more actors than the gold is wrong but "covers" it
    assert (r["n"], r["correct"], r["accuracy"], r["missing"]) == (6, 4, 0.6667, ["e"])
    assert (r["covered"], r["coverage"]) == (5, 0.8333)
    r = evaluate(gold[:5], pred[:4])
    assert (r["n"], r["correct"], r["accuracy"]) == (4, 3, 0.75)
    assert r["per_actor"]["China"] == {"gold": 2, "correct": 1, "recall": 0.5}
    assert r["confusion"]["China"] == {"China": 1, "Russia": 1}
    low, high = wilson(3, 4)
    assert (r["accuracy_low"], r["accuracy_high"]) == (round(low, 4), round(high, 4))


def test_evaluate_actors_command(capsys, tmp_path, params):
    corpus = write_dir(tmp_path / "corpus", with_headers=False)
    from pipeline.split.stage import split_corpus

    sents, _, _ = split_corpus(corpus)
    by_text = dict(zip(sents["text"], sents["sentence_id"]))
    gold = tmp_path / "gold.csv"
    rows = [
        (by_text["China and Russia oppose further sanctions on Pyongyang."], "China;Russia", "joint"),
        (by_text["Moscow vetoed the draft that would have extended the sanctions."], "Russia", ""),
        (by_text["Delegates discussed the agenda of the session at length."], "none", ""),
        (by_text["The panel of experts published its annual report on Friday."], "none", "a report, no position"),
    ]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([("sentence_id", "actor", "note"), *rows])
    gold.write_text(buf.getvalue(), encoding="utf-8")
    rc, out, err = run(capsys, "--evaluate-actors", gold, "--input", corpus, "--params", params)
    assert rc == 0, err
    # the rule says United Nations for "The panel of experts published ..." (the Panel is a UN body)
    # and other for "Delegates discussed ..." (unnamed delegates)
    assert "2 of 4 correct, accuracy 0.500" in out
    result = evaluate_actors(gold, corpus, params)
    assert result["confusion"]["none"] == {"United Nations": 1, "other": 1}
    assert result["confusion"]["China; Russia"] == {"China; Russia": 1}
    gold.write_text("sentence_id,actor\nabc,Martians\n", encoding="utf-8")
    rc, _, err = run(capsys, "--evaluate-actors", gold, "--input", corpus, "--params", params)
    assert rc == 2 and "gold.csv line 2: actor 'Martians' is not one of" in err
