"""The bottom layer: default paths and the error type (``config``), the typed params schema
(``params``), labels, columns, the strict CSV and dataset readers and the atomic writers
(``data``). Standard library only at import time (yaml, pandas on demand)."""

from pipeline.core.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "config": ("PATHS", "StanceError", "add_path_argument", "jobs_count", "load_params", "positive_int",
               "repo_root", "resolve_path", "resolve_path_arguments"),
    "data": ("ARTICLE_COLUMNS", "DATASET_COLUMNS", "LABELS", "LABEL_COLUMNS", "QUEUE_COLUMNS", "SENTENCE_COLUMNS",
             "atomic_open", "load_dataset", "normalize_text", "read_csv_rows", "sentence_id", "write_csv_atomic",
             "write_json_atomic", "write_text_atomic"),
    "params": ("AnalyzeParams", "DatasetParams", "EvaluateParams", "MlflowParams", "PredictParams", "SECTIONS",
               "SplitParams", "TrainParams", "coerce", "from_mapping", "load_section", "to_dict"),
})
