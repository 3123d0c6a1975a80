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
