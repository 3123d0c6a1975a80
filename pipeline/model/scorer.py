"""The scorer shared by ``stance predict`` and ``stance analyze``: labels and class scores of texts.

Standard library only at import time (the scoring view and numpy load with the first model).
"""

from __future__ import annotations

from pipeline.core.data import LABELS

__all__ = ["Scorer", "model_classes"]


def model_classes(model) -> list[str]:
    """Class names in output order: ``support, oppose, neutral`` (those the model has), then any others.

    Parameters
    ----------
    model : fitted classifier with ``classes_``

    Returns
    -------
    list of str
    """
    names = [str(c) for c in model.classes_]
    return [c for c in LABELS if c in names] + [c for c in names if c not in LABELS]


class Scorer:
    """Scores lists of strings: labels and per-class scores.

    The label is the model's decision: the class with the highest probability, or for a model
    with calibrated scores (:class:`pipeline.model.calibration.Calibrated`) the classifier's own
    decision, which the calibration does not change."""

    def __init__(self, model) -> None:
        # imported here, not at the top: numpy and scipy then load with the model, after the
        # `stance predict` start-up (argument errors, --help) has been answered
        from pipeline.model.fast import scoring_view

        self.model = scoring_view(model)  # identical scores, faster char n-grams
        self.original = model
        names = [str(c) for c in model.classes_]
        self.classes = model_classes(model)
        self.columns = [names.index(c) for c in self.classes]
        self.names = names

    def score(self, texts: list[str]):
        """Return ``(labels, proba)``: a list of n labels and an (n, k) float array in :attr:`classes` order."""
        if hasattr(self.model, "scores_and_labels"):
            proba, best = self.model.scores_and_labels(texts)
            best = best.tolist()
        else:
            proba = self.model.predict_proba(texts)
            best = proba.argmax(axis=1).tolist()
        names = self.names
        return [names[i] for i in best], proba[:, self.columns]

    def explain(self, texts: list[str], labels: list[str], top: int):
        """The *top* features that pushed each text towards its label (see :mod:`pipeline.model.explain`)."""
        from pipeline.model.explain import explain  # only when asked for: not part of the scoring start-up

        return explain(self.original, texts, labels, top)
