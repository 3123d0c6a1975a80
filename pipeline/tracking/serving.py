"""The MLflow pyfunc model that ``mlflow models serve`` and ``mlflow.pyfunc.load_model`` use.

It answers every input row (a DataFrame with a ``text`` column) with its label and the three
class scores, like ``stance predict`` and :func:`pipeline.predict.api.predict`::

    label    support  oppose  neutral
    oppose   0.0747   0.8204  0.1049

REST: ``{"predictions": [{"label": "oppose", "support": 0.0747, "oppose": 0.8204,
"neutral": 0.1049}]}`` (probabilities unrounded; ``label`` is the class with the highest score).

This file is logged as *models-from-code* by :func:`pipeline.tracking.runs.log_registered_model`:
MLflow copies it into the logged model and runs it when loading, so the served model needs
neither this package nor any pickled Python object. The scikit-learn pipeline itself
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

    A class the model does not know scores 0. ``label`` is the model's class with the highest
    probability (what :func:`pipeline.predict.api.predict` reports).
    """
    import numpy as np

    classes = [str(c) for c in model.classes_]
    proba = np.asarray(model.predict_proba(texts), dtype=float) if texts else np.zeros((0, len(classes)))
    out = pd.DataFrame({"label": [classes[i] for i in proba.argmax(axis=1)] if len(texts) else []},
                       dtype=object)
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
