"""The model: ``features`` (the scikit-learn pipeline built from ``train`` params), ``embeddings``
(the opt-in dense block), ``files`` (the one place that loads, checks, trusts and saves model
files), ``fast`` (an output-identical, faster scoring view), ``scorer`` (labels and class scores
of texts, shared by predict and analyze) and ``errors`` (the out-of-fold error of the class
probabilities, measured by evaluate and included in analyze's share intervals)."""

from pipeline.core.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "features": ("build_pipeline", "lexicon_predict"),
    "files": ("SKOPS_ALLOWED", "champion_note", "check_model", "export_model", "file_sha256", "load_model",
              "save_model", "write_champion_record"),
    "fast": ("scoring_view",),
    "scorer": ("Scorer", "model_classes"),
    "errors": ("ErrorModel", "fold_residuals"),
})
