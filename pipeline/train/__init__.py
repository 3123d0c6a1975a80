"""The ``train`` stage: ``folds`` (grouped CV folds and fit guards), ``grid`` (search-grid
candidates), ``engine`` (the CV engine that selects a candidate, caching feature blocks) and
``stage`` (select, refit, save; the CLI)."""

from pipeline.core.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "folds": ("grouped_splits", "single_threaded_blas"),
    "grid": ("apply_overrides", "grid_candidates"),
    "engine": ("CVEngine",),
    "stage": ("fit_final", "select_model", "train"),
})
