"""The pyfunc served over REST refuses texts that are not non-blank strings, and over-long requests."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("mlflow")


@pytest.fixture
def served(tiny_model):
    from pipeline.tracking.serving import StanceModel

    m = StanceModel()
    m.model, m.labels, m.max_chars = tiny_model, ["support", "oppose", "neutral"], 50
    return m


@pytest.mark.parametrize("value,message", [(None, "got null"), (3, "got int"), (True, "got bool"),
                                           (["a"], "got list"), ({"a": 1}, "got dict"), ("", "is empty"),
                                           ("  ", "is empty"), ("x" * 51, "longer than 50 characters")])
def test_bad_text_is_invalid_parameter(served, value, message):
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException) as caught:
        served.predict(None, pd.DataFrame({"text": [value]}))
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"  # the scoring server answers 400
    assert message in caught.value.message


def test_request_over_the_cap(served):
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match="request longer than 50 characters in all"):
        served.predict(None, pd.DataFrame({"text": ["Lift the sanctions now."] * 3}))
    out = served.predict(None, pd.DataFrame({"text": ["Lift the sanctions now."] * 2}))
    assert list(out.columns) == ["label", "support", "oppose", "neutral"] and len(out) == 2


def test_served_cap_comes_from_predict_max_chars(tmp_path, monkeypatch, capsys):
    """`stance evaluate` logs the served model with params.yaml's predict.max_chars as its cap."""
    import mlflow
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    try:
        from trainkit import small_params, write_dataset, write_params
    except ImportError:  # pragma: no cover - run as a package
        from tests.trainkit import small_params, write_dataset, write_params
    from pipeline.cli import main

    params = small_params()
    params["predict"] = {"max_chars": 60}
    params_path = write_params(tmp_path / "params.yaml", params)
    dataset = write_dataset(tmp_path / "dataset.csv")
    common = ["--params", str(params_path), "--dataset", str(dataset), "--model", str(tmp_path / "model.joblib")]
    assert main(["train", *common, "--report", str(tmp_path / "train.json")]) == 0
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    assert main(["evaluate", *common, "--train-report", str(tmp_path / "train.json"),
                 "--metrics", str(tmp_path / "m.json"), "--plots", str(tmp_path / "plots"),
                 "--misclassified", str(tmp_path / "mis.csv"), "--classification-report", str(tmp_path / "cr.txt"),
                 "--tracking-uri", uri]) == 0, capsys.readouterr().err
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    served = mlflow.pyfunc.load_model("models:/sanctions-stance@champion")
    assert len(served.predict(pd.DataFrame({"text": ["x" * 60]}))) == 1
    with pytest.raises(MlflowException, match="longer than 60 characters"):
        served.predict(pd.DataFrame({"text": ["x" * 61]}))
