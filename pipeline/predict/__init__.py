"""Prediction: ``api`` (the Python API and ``stance predict``) over ``io`` (streaming readers,
output formats, the worker pool). Imports neither mlflow nor dvc. ``load_model`` is
:func:`pipeline.model.files.load_model`, the one loader of model files."""

from pipeline.core.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "api": ("load_model", "predict", "predict_file", "predict_texts", "summarize_article"),
})
