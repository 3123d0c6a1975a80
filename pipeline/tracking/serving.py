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
        self.model = sio.load(context.artifacts[ARTIFACT], trusted=list(config.get("skops_trusted_types", [])))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        # (pd.DataFrame: MLflow checks the input against the logged signature, not the hint)
        if isinstance(model_input, pd.DataFrame):
            texts = model_input["text"]
        else:  # a list of strings or a Series
            texts = pd.Series(model_input)
        return score_frame(self.model, [str(t) for t in texts], self.labels)


mlflow.models.set_model(StanceModel())
