"""Why a sentence got its label: the features that pushed it there, with their contributions.

For a linear classifier the score of class c is ``intercept_c + sum_j coef_cj * x_j``, so the
contribution of feature j to the sentence's label c is ``coef_cj * x_j`` (x_j: the feature's
value, block weight included). Features are named by block: ``word:lifted sanctions``,
``char:" lif"`` (character n-grams keep their padding spaces), ``cues:not_eas`` (a negated
cue), ``phrases:zzph_talks``. The static-embedding block counts as one contribution,
``static``: the sum over its 256 dimensions.

In the default model two classifiers' probabilities are averaged (the TF-IDF model and the
static model, ``train.features.static.mode: average``): each one's contributions are its own
log-odds terms times its weight in the average, so they rank what pushed the sentence but do
not add up to the final score. Calibration (:mod:`pipeline.model.calibration`) leaves the
label and the contributions as they are.

Only positive contributions are listed (what pushed the sentence *towards* its label),
largest first. Models other than these linear ones (the opt-in MiniLM block, ``combine:
vote`` or ``stack``) raise :class:`~pipeline.core.config.StanceError`.
"""

from __future__ import annotations

from typing import Any

from pipeline.core.config import StanceError

__all__ = ["TOP", "contributions", "explain", "format_contributions"]

#: Contributions listed per sentence by default.
TOP = 5


def _unwrap(model: Any) -> list[tuple[float, Any]]:
    """``(weight, linear pipeline)`` parts of *model* (calibration wrapper and average looked through)."""
    from sklearn.pipeline import Pipeline

    from pipeline.model.average import ProbabilityAverage
    from pipeline.model.calibration import Calibrated

    if isinstance(model, Calibrated):
        return _unwrap(model.estimator)
    if isinstance(model, ProbabilityAverage):
        w = model._weights()
        total = sum(w)
        return [(wi / total * sub_w, part) for wi, est in zip(w, model.estimators_)
                for sub_w, part in _unwrap(est) if wi > 0]
    if isinstance(model, Pipeline) and hasattr(model.steps[-1][1], "coef_"):
        return [(1.0, model)]
    raise StanceError(f"--explain: not available for a {type(model).__name__} model "
                      "(only linear models: the default model, combine: union)")


def _block_names(name: str, transformer: Any) -> list[str] | None:
    """Feature names of one block (None: the block counts as one feature, ``name``)."""
    from sklearn.pipeline import Pipeline

    # a scoring view (pipeline.model.fast) keeps the fitted block it stands for
    transformer = getattr(transformer, "vectorizer", None) or getattr(transformer, "pipeline", None) or transformer
    last = transformer.steps[-1][1] if isinstance(transformer, Pipeline) else transformer
    vocabulary = getattr(last, "vocabulary_", None)
    if vocabulary is None:
        return None
    names = [""] * len(vocabulary)
    for term, j in vocabulary.items():
        names[j] = f'{name}:"{term}"' if name == "char" else f"{name}:{term}"
    return names


def _parts(pipe: Any) -> tuple[list[tuple[str, list[str] | None, int]], Any, Any]:
    """Blocks ``(name, feature names or None, width)``, the feature transformer and the classifier."""
    from sklearn.pipeline import FeatureUnion

    head, clf = pipe.steps[0][1], pipe.steps[-1][1]
    if len(pipe.steps) != 2:
        raise StanceError("--explain: expected a pipeline of features and one classifier")
    blocks = head.transformer_list if isinstance(head, FeatureUnion) else [(pipe.steps[0][0], head)]
    out = []
    for name, transformer in blocks:
        names = _block_names(name, transformer)
        width = len(names) if names is not None else int(getattr(transformer, "dim", 0))
        out.append(("static" if names is None else name, names, width))
    total = sum(w for _n, _f, w in out)
    if total != clf.coef_.shape[1]:
        raise StanceError(f"--explain: the classifier has {clf.coef_.shape[1]} weights for {total} features")
    return out, head, clf


def contributions(model: Any, texts: list[str], labels: list[str]) -> list[dict[str, float]]:
    """Every feature's contribution towards each sentence's label (negative ones too).

    For a single linear model, a sentence's contributions plus the classifier's intercept for the
    label are its decision value for the label; in the averaged model, each part's sum is its
    share times that part's decision value minus intercept.

    Returns
    -------
    list of n dicts, feature name -> contribution (features of value 0 left out)
    """
    import numpy as np
    import scipy.sparse as sp

    n = len(texts)
    found: list[dict[str, float]] = [{} for _ in range(n)]
    for share, pipe in _unwrap(model):
        blocks, head, clf = _parts(pipe)
        classes = [str(c) for c in clf.classes_]
        try:
            rows = np.asarray([classes.index(str(lab)) for lab in labels], dtype=np.int64)
        except ValueError:
            raise StanceError(f"--explain: a label is not a class of the model ({classes})") from None
        if len(classes) == 2:  # binary: one weight vector, for the second class (its negative for the first)
            coef = np.vstack([-clf.coef_[0], clf.coef_[0]])
        else:
            coef = clf.coef_
        x = head.transform(texts)
        x = sp.csr_matrix(x) if sp.issparse(x) else np.asarray(x)
        start = 0
        for name, names, width in blocks:
            part = x[:, start:start + width]
            if names is None:  # one contribution for the whole block
                dense = part.toarray() if sp.issparse(part) else part
                values = share * np.einsum("ij,ij->i", dense, coef[rows, start:start + width])
                for i, v in enumerate(values):
                    found[i][name] = found[i].get(name, 0.0) + float(v)
            else:
                part = sp.csr_matrix(part)
                for i in range(n):
                    lo, hi = part.indptr[i], part.indptr[i + 1]
                    cols = part.indices[lo:hi]
                    vals = share * part.data[lo:hi] * coef[rows[i], start + cols]
                    for j, v in zip(cols, vals):
                        key = names[j]
                        found[i][key] = found[i].get(key, 0.0) + float(v)
            start += width
    return found


def explain(model: Any, texts: list[str], labels: list[str], top: int = TOP) -> list[list[dict[str, Any]]]:
    """The *top* largest positive contributions towards each sentence's label.

    Parameters
    ----------
    model : the fitted model
    texts : list of n str
    labels : list of n labels (the model's decisions for *texts*)
    top : int, contributions per sentence

    Returns
    -------
    list of n lists of ``{"feature": str, "contribution": float}`` (rounded to 4 decimals),
    largest first (ties by name)
    """
    out = []
    for contrib in contributions(model, texts, labels):
        ranked = sorted(((v, k) for k, v in contrib.items() if v > 0), key=lambda t: (-t[0], t[1]))[:top]
        out.append([{"feature": k, "contribution": round(v, 4)} for v, k in ranked])
    return out


def format_contributions(items: list[dict[str, Any]]) -> str:
    """``word:lift +0.83, static +0.30`` (for the table and CSV outputs)."""
    return ", ".join(f"{d['feature']} {d['contribution']:+.2f}" for d in items)
