"""Grouped cross-validation engine: model selection by grouped CV, and class-prior tuning.

One procedure trains the model everywhere: :meth:`CVEngine.select` scores every candidate of
``train.grid.<classifier>`` by grouped CV (macro-F1, folds grouped by article) on the
sentences it is given, and :meth:`CVEngine.fit_predict` refits the winner. ``stance train``
runs it on all labelled sentences; ``stance evaluate`` runs it *inside* every outer fold
(nested CV), on one kind of document to test on the other (cross-source), and on subsets of
the training articles (learning curve; these protocols are in :mod:`pipeline.evaluate.protocols`).
Scores therefore never come from the folds that chose the hyperparameters.

Speed: the fitted feature blocks (word, char, cue...) are cached per training set and block
configuration, so grid candidates that differ only in ``C`` or in another block reuse the
same TF-IDF matrices. The result is the same as fitting ``features.build_pipeline`` (a
FeatureUnion concatenates its blocks' outputs, each times its weight); a test checks it.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Sequence
from typing import Any

from pipeline.core.config import StanceError
from pipeline.core.data import LABELS
from pipeline.core.params import to_dict
from pipeline.model.features import (
    build_dense_model,
    build_features,
    build_stack_combiner,
    embeddings_enabled,
    fit_classifier,
)
from pipeline.train.folds import fit_errors, grouped_splits
from pipeline.train.grid import apply_overrides, grid_candidates

__all__ = ["CVEngine", "shift_proba", "tune_priors"]

_ROUND = 6


def _label_order(clf, raw, n: int):
    """``predict_proba`` columns rearranged into ``LABELS`` order (0 for an absent class)."""
    import numpy as np

    proba = np.zeros((n, len(LABELS)))
    for j, c in enumerate(clf.classes_):
        proba[:, LABELS.index(str(c))] = raw[:, j]
    return proba


def _block_kind(transformer) -> tuple[str, list, Any]:
    """How the engine may compute a feature block without refitting it per training set.

    ``fixed``: a Pipeline of row-wise FunctionTransformers ending in a CountVectorizer with a
    fixed vocabulary (cue and phrase blocks): one matrix for all texts. ``tfidf``: a
    TfidfVectorizer (after row-wise FunctionTransformers, e.g. masks) without ``max_features``:
    TF-IDF of any training set follows from the corpus-wide raw counts. ``static``: the static
    embeddings (learn nothing from the training rows): one matrix for all texts. ``generic``: fit as is.
    """
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from pipeline.model.static import StaticEmbeddings  # (loads scikit-learn: imported where needed)

    if isinstance(transformer, StaticEmbeddings):
        return "static", [], transformer
    steps = [s for _n, s in transformer.steps[:-1]] if isinstance(transformer, Pipeline) else []
    last = transformer.steps[-1][1] if isinstance(transformer, Pipeline) else transformer
    if not all(isinstance(s, FunctionTransformer) for s in steps):
        return "generic", steps, last
    if isinstance(last, TfidfVectorizer):
        plain = (last.max_features is None and last.vocabulary is None and last.norm == "l2" and last.use_idf
                 and last.smooth_idf and not last.binary and last.stop_words is None)
        return ("tfidf" if plain else "generic"), steps, last
    if isinstance(last, CountVectorizer) and last.vocabulary is not None:
        return "fixed", steps, last
    return "generic", steps, last


def _corpus_counts(texts, steps, vectorizer):
    """Raw term counts of every text under *vectorizer*'s analyzer: (matrix, terms sorted)."""
    from sklearn.base import clone
    from sklearn.feature_extraction.text import CountVectorizer

    docs = list(texts)
    for step in steps:
        docs = list(step.transform(docs))
    params = {k: v for k, v in clone(vectorizer).get_params().items()
              if k in CountVectorizer().get_params() and k not in ("min_df", "max_df", "max_features", "binary")}
    counts = CountVectorizer(**params).fit(docs)
    return counts.transform(docs).tocsr()


def _fit_tfidf(counts, train_idx, vectorizer):
    """What ``vectorizer.fit`` on the training rows learns: kept columns and idf weights."""
    import numpy as np

    sub = counts[train_idx]
    n = sub.shape[0]
    df = np.bincount(sub.indices, minlength=counts.shape[1])
    hi = vectorizer.max_df if isinstance(vectorizer.max_df, (int, np.integer)) else vectorizer.max_df * n
    lo = vectorizer.min_df if isinstance(vectorizer.min_df, (int, np.integer)) else vectorizer.min_df * n
    keep = np.flatnonzero((df <= hi) & (df >= lo) & (df > 0))
    if keep.size == 0:
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    dfk = df[keep].astype(np.float64)
    idf = np.log((1 + n) / (1 + dfk)) + 1
    return keep, idf


def _apply_tfidf(counts, rows, fitted, vectorizer):
    """``vectorizer.transform`` of the rows: (sublinear) tf times idf, rows scaled to unit length."""
    import numpy as np
    from sklearn.preprocessing import normalize

    keep, idf = fitted
    x = counts[rows][:, keep].astype(np.float64)
    x.sort_indices()
    if vectorizer.sublinear_tf:
        np.log(x.data, x.data)
        x.data += 1.0
    x.data *= idf[x.indices]
    return normalize(x, norm="l2", copy=False).tocsr()


class InnerCVImpossible(StanceError):
    """Too few articles or labels in a training part for the inner grouped CV."""


def _key(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def _rows_key(idx) -> bytes:
    import numpy as np

    return np.asarray(idx, dtype=np.int64).tobytes()


class CVEngine:
    """Fit/score candidates of the ``train`` section on index subsets of one labelled corpus.

    Parameters
    ----------
    texts, labels, groups : sequences of length n_samples (groups are article ids)
    params : dict
        The ``train`` section (``grid``, ``cv_folds``, ``seed``, features, classifier...).
    inner_folds : int, optional
        Folds of the selection CV (default ``params["cv_folds"]``).
    """

    def __init__(self, texts: Sequence[str], labels: Sequence[str], groups: Sequence[str],
                 params: dict[str, Any], inner_folds: int | None = None) -> None:
        import numpy as np

        self.texts = list(texts)
        self.y = np.asarray(labels, dtype=object)
        self.groups = np.asarray(groups, dtype=object)
        if dataclasses.is_dataclass(params):  # a typed TrainParams: the engine works on plain dicts

            params = to_dict(params)
        self.params = params
        self.inner_folds = int(inner_folds if inner_folds is not None else params.get("cv_folds", 5))
        self._fitted: dict[tuple, Any] = {}
        self._embeddings: dict[str, Any] = {}
        self._static: dict[tuple, Any] = {}   # training-independent matrices over all texts
        self._transformed: dict[tuple, Any] = {}
        self._block_proba: dict[tuple, Any] = {}  # stack: one block's probabilities (shared by candidates)
        self._part_proba: dict[tuple, Any] = {}  # static average: each part's probabilities (shared by candidates)
        self.fits = 0

    # ------------------------------------------------------------------ blocks and fits

    def clear(self) -> None:
        """Forget cached feature matrices (call between unrelated training sets)."""
        self._fitted.clear()
        self._transformed.clear()
        self._block_proba.clear()
        self._part_proba.clear()

    def _block(self, name: str, transformer, cfg: Any, train_idx, rows):
        cfg = {k: v for k, v in cfg.items() if k != "weight"} if isinstance(cfg, dict) else cfg
        kind, steps, last = _block_kind(transformer)
        if kind == "static":
            import scipy.sparse as sp

            return sp.csr_matrix(self.static_vectors(transformer.path)[rows])
        if kind == "fixed":  # fixed vocabulary, row-wise steps: does not learn from the training rows
            key = ("fixed", name, _key(cfg))
            if key not in self._static:
                self._static[key] = transformer.fit_transform(self.texts).tocsr()
            return self._static[key][rows]
        if kind == "tfidf":  # TF-IDF from the corpus-wide counts, restricted to the training rows
            key = ("counts", name, _key(cfg))
            if key not in self._static:
                self._static[key] = _corpus_counts(self.texts, steps, last)
            tkey = (_rows_key(train_idx), name, _key(cfg))
            if tkey not in self._fitted:
                self._fitted[tkey] = _fit_tfidf(self._static[key], train_idx, last)
            return _apply_tfidf(self._static[key], rows, self._fitted[tkey], last)
        return self._generic_block(name, transformer, cfg, train_idx, rows)

    def _generic_block(self, name: str, transformer, cfg: Any, train_idx, rows):
        from sklearn.base import clone

        tkey = (_rows_key(train_idx), name, _key(cfg))
        if tkey not in self._fitted:
            est = clone(transformer)
            x_train = est.fit_transform([self.texts[i] for i in train_idx])
            self._fitted[tkey] = est
            self._transformed[tkey + (_rows_key(train_idx),)] = x_train
        rkey = tkey + (_rows_key(rows),)
        if rkey not in self._transformed:
            self._transformed[rkey] = self._fitted[tkey].transform([self.texts[i] for i in rows])
        return self._transformed[rkey]

    def features(self, params: dict[str, Any], train_idx, rows):
        """The feature matrix of ``rows`` under ``params["features"]`` fitted on ``train_idx``.

        Equal to ``build_features(params["features"]).fit(train).transform(rows)``.
        """
        import scipy.sparse as sp


        mats = [m * w if w != 1.0 else m for _name, w, m in self.blocks(params, train_idx, rows)]
        return sp.hstack(mats, format="csr") if len(mats) > 1 else sp.csr_matrix(mats[0])

    def blocks(self, params: dict[str, Any], train_idx, rows) -> list[tuple[str, float, Any]]:
        """``(name, weight, unweighted matrix of rows)`` for every enabled feature block."""

        fcfg = params.get("features") or {}
        union = build_features(fcfg)
        weights = union.transformer_weights or {}
        return [(name, float(weights.get(name, 1.0)), self._block(name, transformer, fcfg.get(name), train_idx, rows))
                for name, transformer in union.transformer_list]

    def static_vectors(self, path: str | None):
        """Static sentence embeddings of every text (computed once per static model folder)."""
        from pipeline.model.static import StaticEmbeddings  # (loads scikit-learn: imported where needed)

        key = ("static", _key(path))
        if key not in self._static:
            self._static[key] = StaticEmbeddings(path).fit_transform(self.texts)
        return self._static[key]

    def fit_predict(self, params: dict[str, Any], train_idx, test_idx, what: str = "cross-validation fit"):
        """Fit the model of ``params`` on ``train_idx``; class probabilities of ``test_idx``.

        Returns
        -------
        proba : float array, shape (len(test_idx), 3), columns in ``LABELS`` order (0 for a
            class absent from the training part).
        """
        # imported here, as everything that loads scikit-learn (start-up of the stages)
        from pipeline.model.average import weighted_mean
        from pipeline.model.static import build_static_model

        static = (params.get("features") or {}).get("static") or {}
        if not (static.get("enabled") and static.get("mode", "average") == "average"):
            return self._with_embeddings(params, self._fit_predict(params, train_idx, test_idx, what),
                                         train_idx, test_idx, what)
        rows = (_rows_key(train_idx), _rows_key(test_idx))
        # the TF-IDF part alone (static and opt-in embeddings off); the grid's static weights share both parts' fits
        features = {**params["features"], "static": {"enabled": False}, "embeddings": {"enabled": False}}
        tfidf_params = {**params, "features": features}
        tkey = ("tfidf", _key({k: v for k, v in tfidf_params.items() if k != "grid"}), *rows)
        if tkey not in self._part_proba:
            self._part_proba[tkey] = self._fit_predict(tfidf_params, train_idx, test_idx, what)
        skey = ("static", _key({k: v for k, v in static.items() if k != "weight"}), _key(params.get("seed")),
                _key(params.get("class_weight")), _key(params.get("max_iter")), *rows)
        if skey not in self._part_proba:
            clf = build_static_model(params).steps[-1][1]
            vectors = self.static_vectors(static.get("path"))
            with fit_errors(what):
                clf.fit(vectors[train_idx], self.y[train_idx])
            self._part_proba[skey] = _label_order(clf, clf.predict_proba(vectors[test_idx]), len(test_idx))
        share = float(static.get("weight", 0.4))
        proba = weighted_mean([self._part_proba[tkey], self._part_proba[skey]], [1.0 - share, share])
        return self._with_embeddings(params, proba, train_idx, test_idx, what)

    def _fit_predict(self, params: dict[str, Any], train_idx, test_idx, what: str):
        import numpy as np

        with fit_errors(what):
            if params.get("combine", "union") == "stack":
                proba = self._stack_proba(params, np.asarray(train_idx), test_idx)
            elif params.get("combine", "union") == "vote":  # one classifier per block, weighted mean
                parts = zip(self.blocks(params, train_idx, train_idx), self.blocks(params, train_idx, test_idx))
                proba, total = np.zeros((len(test_idx), len(LABELS))), 0.0
                for (_name, w, x_train), (_n, _w, x_test) in parts:
                    clf = fit_classifier(params, x_train, self.y[train_idx])
                    proba += w * _label_order(clf, clf.predict_proba(x_test), len(test_idx))
                    total += w
                proba /= total
            else:
                x_train = self.features(params, train_idx, train_idx)
                x_test = self.features(params, train_idx, test_idx)
                clf = fit_classifier(params, x_train, self.y[train_idx])
                proba = _label_order(clf, clf.predict_proba(x_test), len(test_idx))
        self.fits += 1
        return proba

    def _with_embeddings(self, params: dict[str, Any], proba, train_idx, test_idx, what: str):
        """The opt-in MiniLM model's probabilities averaged in (weight 1 : ``embeddings.weight``)."""
        if not embeddings_enabled(params):
            return proba
        weight = float(params["features"]["embeddings"].get("weight", 1.0))
        dense = build_dense_model(params).steps[-1][1]
        emb = self.embeddings(params)
        with fit_errors(what):
            dense.fit(emb[train_idx], self.y[train_idx])
        return (proba + weight * _label_order(dense, dense.predict_proba(emb[test_idx]), len(test_idx))) \
            / (1.0 + weight)

    def _block_probas(self, params: dict[str, Any], fit_idx, rows, classes: list[str]):
        """One classifier per block fitted on ``fit_idx``: probabilities of ``rows``, each block's
        columns in ``classes`` order (0 for a class absent from ``fit_idx``), side by side."""
        import numpy as np

        fcfg = params.get("features") or {}
        clf_key = _key({k: v for k, v in params.items() if k not in ("features", "grid")})
        out = []
        for name, transformer in build_features(fcfg).transformer_list:
            # candidates that differ only in another block (char on/off) share this block's fits
            key = (name, _key(fcfg.get(name)), clf_key, tuple(classes), _rows_key(fit_idx), _rows_key(rows))
            if key not in self._block_proba:
                x_fit = self._block(name, transformer, fcfg.get(name), fit_idx, fit_idx)
                clf = fit_classifier(params, x_fit, self.y[fit_idx])
                raw = clf.predict_proba(self._block(name, transformer, fcfg.get(name), fit_idx, rows))
                block = np.zeros((len(rows), len(classes)))
                for j, c in enumerate(clf.classes_):
                    block[:, classes.index(str(c))] = raw[:, j]
                self._block_proba[key] = block
            out.append(self._block_proba[key])
        return np.hstack(out)

    def _stack_proba(self, params: dict[str, Any], train_idx, test_idx):
        """``train.combine: stack``, as sklearn's ``StackingClassifier`` given the same grouped folds:
        the combiner learns from the blocks' out-of-fold probabilities on ``train_idx`` (folds
        grouped by article), the blocks are refitted on all of ``train_idx`` for ``test_idx``."""
        import numpy as np

        classes = sorted(set(self.y[train_idx].tolist()))
        splits = grouped_splits(self.y[train_idx], self.groups[train_idx], int(params.get("stack_folds", 3)),
                                int(params.get("seed", 42)))
        meta_x = None
        for tr, va in splits:
            part = self._block_probas(params, train_idx[tr], train_idx[va], classes)
            meta_x = np.zeros((len(train_idx), part.shape[1])) if meta_x is None else meta_x
            meta_x[va] = part
        combiner = build_stack_combiner(params).fit(meta_x, self.y[train_idx])
        return _label_order(combiner, combiner.predict_proba(self._block_probas(params, train_idx, test_idx, classes)),
                            len(test_idx))

    def embeddings(self, params: dict[str, Any]):
        """Sentence embeddings of every text (computed once per encoder configuration)."""

        embed = build_dense_model(params).steps[0][1].func
        key = _key({"package": embed.keywords.get("package"), "threads": embed.keywords.get("threads")})
        if key not in self._embeddings:
            self._embeddings[key] = embed(self.texts)
        return self._embeddings[key]

    # ------------------------------------------------------------------ selection

    def select(self, train_idx, seed: int) -> dict[str, Any]:
        """Grouped-CV model selection on the sentences ``train_idx`` (see ``stance train``).

        Returns
        -------
        report : dict
            ``candidates`` (``params``, ``fold_macro_f1``, ``mean_macro_f1``,
            ``std_macro_f1``, ``rank``), ``best_index``, ``best_params``,
            ``best_mean_macro_f1``, ``best_std_macro_f1``, ``cv`` (``n_splits``, ``seed``),
            ``oof_proba`` (inner out-of-fold probabilities of the best candidate, shape
            ``(len(train_idx), 3)``) and ``selected`` (the train section with the best
            candidate applied).
        """
        import numpy as np
        from sklearn.metrics import f1_score

        train_idx = np.asarray(train_idx)
        with warnings.catch_warnings():  # "least populated class has only 1 member": expected on small parts
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            try:
                local = grouped_splits(self.y[train_idx], self.groups[train_idx], self.inner_folds, seed)
            except StanceError as exc:
                raise InnerCVImpossible(f"inner model selection: {exc}") from None
        splits = [(train_idx[tr], train_idx[te]) for tr, te in local]
        position = {int(i): k for k, i in enumerate(train_idx)}
        candidates, oofs = [], []
        for overrides in grid_candidates(self.params):
            cand = apply_overrides(self.params, overrides)
            scores = []
            oof = np.zeros((len(train_idx), len(LABELS)))
            for tr, te in splits:
                proba = self.fit_predict(cand, tr, te, f"cross-validating candidate {overrides or 'as configured'}")
                pred = np.asarray(LABELS, dtype=object)[proba.argmax(axis=1)]
                scores.append(f1_score(self.y[te], pred, average="macro", zero_division=0))
                oof[[position[int(i)] for i in te]] = proba
            oofs.append(oof)
            candidates.append({
                "params": overrides,
                "fold_macro_f1": [round(float(s), _ROUND) for s in scores],
                "mean_macro_f1": round(float(np.mean(scores)), _ROUND),
                "std_macro_f1": round(float(np.std(scores)), _ROUND),
            })
        means = [c["mean_macro_f1"] for c in candidates]
        order = sorted(range(len(candidates)), key=lambda i: (-means[i], i))
        for rank, i in enumerate(order, start=1):
            candidates[i]["rank"] = rank
        best = order[0]
        selected = apply_overrides(self.params, candidates[best]["params"])
        if (selected.get("priors") or {}).get("tune", False) and embeddings_enabled(selected):
            raise StanceError("train.priors.tune: not available with train.features.embeddings "
                              "(averaged probabilities)")
        priors = tune_priors(oofs[best], self.y[train_idx], selected.get("priors") or {})
        return {
            "scoring": "f1_macro",
            "cv": {"n_splits": len(splits), "seed": int(seed), "grouped_by": "article_id",
                   "splitter": "StratifiedGroupKFold"},
            "classifier": self.params.get("classifier", "logreg"),
            "candidates": candidates,
            "best_index": best,
            "best_params": candidates[best]["params"],
            "best_mean_macro_f1": candidates[best]["mean_macro_f1"],
            "best_std_macro_f1": candidates[best]["std_macro_f1"],
            "oof_proba": oofs[best],
            "selected": selected,
            "priors": priors,
        }

    def select_fit_predict(self, train_idx, test_idx, seed: int) -> tuple[Any, dict[str, Any]]:
        """Select on ``train_idx`` (inner grouped CV), refit the winner there, predict ``test_idx``.

        With too few articles or labels for the inner CV, the configured parameters (first grid
        candidate) are used and the report says ``"selection": "skipped"``.

        The scores are also calibrated as ``stance train`` calibrates them (``train.calibration``,
        fitted on the inner selection's out-of-fold probabilities): ``info["calibrated"]``, an
        array like *proba* (equal to it for ``none``, or when the inner CV was skipped), and
        ``info["calibration"]`` (the fitted temperature and biases).

        Returns
        -------
        proba : float array (len(test_idx), 3); report : dict (``best_params``, ``selection``,
            ``calibrated``, ``calibration``)
        """
        import numpy as np

        from pipeline.model.calibration import calibrate, fit_calibration  # (loads scikit-learn)

        method = self.params.get("calibration", "none")
        try:
            report = self.select(train_idx, seed)
            chosen, info = report["selected"], {"best_params": report["best_params"], "selection": "inner_cv"}
            priors = report["priors"]
            truth = [LABELS.index(str(v)) for v in self.y[np.asarray(train_idx)]]
            fitted = fit_calibration(shift_proba(report["oof_proba"], priors), truth, method)
        except InnerCVImpossible:
            first = grid_candidates(self.params)[0]
            chosen, info = apply_overrides(self.params, first), {"best_params": first, "selection": "skipped"}
            priors = {}
            fitted = fit_calibration(np.zeros((0, len(LABELS))), [], "none")
        proba = shift_proba(self.fit_predict(chosen, train_idx, test_idx), priors)
        if priors:
            info["priors"] = priors
        info["calibration"] = fitted
        info["calibrated"] = calibrate(proba, fitted["temperature"], fitted["bias"]) if fitted["method"] != "none" \
            else proba
        self.clear()
        return proba, info


# ---------------------------------------------------------------------- class priors

def shift_proba(proba, priors: dict[str, float]):
    """Probabilities times ``exp(offset)`` per class, renormalised (what :func:`pipeline.model.features.
    apply_priors` does to a logistic regression's intercepts)."""
    import numpy as np

    if not priors:
        return proba
    w = np.exp(np.array([float(priors.get(label, 0.0)) for label in LABELS]))
    out = proba * w
    total = out.sum(axis=1, keepdims=True)
    return np.divide(out, total, out=np.full_like(out, 1.0 / len(LABELS)), where=total > 0)


def tune_priors(oof_proba, y_true, cfg: dict[str, Any]) -> dict[str, float]:
    """Log-prior offsets of ``support`` and ``oppose`` (``neutral`` stays 0) that maximise the
    macro-F1 of the inner out-of-fold predictions (``train.priors``: ``tune``, ``offsets``).

    Ties go to the smallest total shift, then to the grid order. Returns {} when not tuning.
    """
    import itertools

    import numpy as np
    from sklearn.metrics import f1_score

    if not cfg.get("tune", False):
        return {}
    grid = [float(v) for v in (cfg.get("offsets") or [0.0])]
    y = np.asarray(y_true, dtype=object)
    best, best_key = {}, None
    for i, (b_sup, b_opp) in enumerate(itertools.product(grid, grid)):
        offsets = {"support": b_sup, "oppose": b_opp, "neutral": 0.0}
        pred = np.asarray(LABELS, dtype=object)[shift_proba(oof_proba, offsets).argmax(axis=1)]
        score = round(float(f1_score(y, pred, labels=list(LABELS), average="macro", zero_division=0)), 9)
        key = (-score, abs(b_sup) + abs(b_opp), i)
        if best_key is None or key < best_key:
            best, best_key = offsets, key
    return best


# ---------------------------------------------------------------------- nested CV


# ---------------------------------------------------------------------- cross-source


