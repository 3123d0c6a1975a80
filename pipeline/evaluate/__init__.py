"""The ``evaluate`` stage, on top of the others: ``metrics`` (confusion by article, scores,
bootstrap intervals), ``protocols`` (nested grouped CV, cross-source, learning curve), ``rescore``
(a fitted model re-scored on the same folds, for the champion rule), ``plots``, ``stage``
(the outputs, the MLflow run; the CLI) and ``review`` (``stance review-labels``: labels worth
re-reading)."""

from pipeline.core.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "metrics": ("confusion_by_article", "scores_from_confusion", "summarize"),
    "protocols": ("cross_source", "learning_curve", "nested_oof"),
    "review": ("find_review_rows", "review_labels"),
    "stage": ("article_sources", "cross_target_groups", "evaluate"),
})
