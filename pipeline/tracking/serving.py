"""The MLflow pyfunc model that ``mlflow models serve`` and ``mlflow.pyfunc.load_model`` use.

It answers every input row (a DataFrame with a ``text`` column) with its label and the three
class scores, like ``stance predict`` and :func:`pipeline.predict.api.predict`::

    label    support  oppose  neutral
    oppose   0.0747   0.8204  0.1049

REST: ``{"predictions": [{"label": "oppose", "support": 0.0747, "oppose": 0.8204,
"neutral": 0.1049}]}`` (scores unrounded; ``label`` is the model's decision, see :func:`score_frame`).

This file is logged as *models-from-code* by :func:`pipeline.tracking.runs.log_registered_model`:
MLflow copies it into the logged model and runs it when loading, so no pickled Python object
is loaded. The model's classes that come from this package (the static-embedding block, the
probability average, the calibrated scores) are imported from it, so the serving environment
has this package installed (the logged requirements say so). The scikit-learn pipeline itself
(``models/model.joblib``, unchanged) travels as an artifact in skops format and is loaded with
the explicit list of trusted types given in the model config (``skops_trusted_types``); the
model config also carries the label order (``labels``). Imports: mlflow, pandas, numpy, skops.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

#: Name of the artifact holding the skops file of the scikit-learn pipeline.
ARTIFACT = "sklearn_model"
#: Longest text, and most characters in one request, when the model config gives no ``max_chars``
#: (the default of ``predict.max_chars``).
DEFAULT_MAX_CHARS = 100_000


def check_texts(values, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """The request's texts, or ``ValueError`` with one clear sentence: every ``text`` must be a
    non-blank string (not null, a number, a boolean, a list or an object) of at most *max_chars*
    characters, and the request at most *max_chars* characters in all."""
    texts: list[str] = []
    total = 0
    for i, value in enumerate(values):
        if not isinstance(value, str):
            shown = "null" if value is None or (isinstance(value, float) and value != value) else type(value).__name__
            raise ValueError(f"row {i}: 'text' must be a string, got {shown}")
        if not value.strip():
            raise ValueError(f"row {i}: 'text' is empty")
        if len(value) > max_chars:
            raise ValueError(f"row {i}: text longer than {max_chars} characters (max_chars)")
        total += len(value)
        if total > max_chars:
            raise ValueError(f"request longer than {max_chars} characters in all (max_chars); send fewer texts")
        texts.append(value)
    return texts


def score_frame(model: Any, texts: list[str], labels: list[str]):
    """``label`` plus one probability column per name in *labels* for each text.

    A class the model does not know scores 0. ``label`` is the model's decision, what
    :func:`pipeline.predict.api.predict` reports: the class with the highest probability, or, for
    a model with calibrated scores (``scores_and_labels``), the classifier's own decision.
    """
    import numpy as np

    classes = [str(c) for c in model.classes_]
    if not texts:
        proba, best = np.zeros((0, len(classes))), []
    elif hasattr(model, "scores_and_labels"):
        proba, best = model.scores_and_labels(texts)
    else:
        proba = model.predict_proba(texts)
        best = proba.argmax(axis=1)
    proba = np.asarray(proba, dtype=float)
    out = pd.DataFrame({"label": [classes[i] for i in best]}, dtype=object)
    for label in labels:
        out[label] = proba[:, classes.index(label)] if label in classes else np.zeros(len(texts))
    return out


class StanceModel(PythonModel):
    """pyfunc wrapper: DataFrame with a ``text`` column -> DataFrame ``label, <labels...>``."""

    def load_context(self, context) -> None:
        import skops.io as sio

        config = context.model_config or {}
        self.labels = list(config.get("labels", ["support", "oppose", "neutral"]))
        self.max_chars = int(config.get("max_chars", DEFAULT_MAX_CHARS))
        self.model = sio.load(context.artifacts[ARTIFACT], trusted=list(config.get("skops_trusted_types", [])))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        # (pd.DataFrame: MLflow checks the input against the logged signature, not the hint)
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

        try:
            if isinstance(model_input, pd.DataFrame):
                if "text" not in model_input.columns:
                    raise ValueError("no 'text' column in the input")
                values = model_input["text"].tolist()
            else:  # a list of strings or a Series
                values = list(model_input)
            texts = check_texts(values, getattr(self, "max_chars", DEFAULT_MAX_CHARS))
        except ValueError as exc:  # the scoring server answers 400 with this message
            raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from None
        return score_frame(self.model, texts, self.labels)


mlflow.models.set_model(StanceModel())
