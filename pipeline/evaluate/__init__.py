"""The ``evaluate`` stage, on top of the others: ``metrics`` (confusion by article, scores,
bootstrap intervals), ``protocols`` (nested grouped CV, cross-source, learning curve), ``rescore``
(a fitted model re-scored on the same folds, for the champion rule), ``plots`` and ``stage``
(the outputs, the MLflow run; the CLI)."""

from pipeline.core.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "metrics": ("confusion_by_article", "scores_from_confusion", "summarize"),
    "protocols": ("cross_source", "learning_curve", "nested_oof"),
    "stage": ("evaluate",),
})
