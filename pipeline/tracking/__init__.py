"""MLflow: ``uri`` (the tracking URI and its reachability check; no mlflow), ``registry`` (the
registered model, the champion alias, ``stance promote``), ``store`` (runs of dead processes, the
``check_store`` stage), ``runs`` (the run of an evaluation), ``serving`` (the pyfunc model,
logged as code) and ``serve`` (``stance serve``, the same checks over plain HTTP). Importing any of
these but ``serving`` does not import mlflow."""

from pipeline.core.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "uri": ("check_tracking_uri", "resolve_tracking_uri"),
    "registry": ("champion_decision", "load_version_model", "log_registered_model", "promote"),
    "store": ("check_store", "close_dead_runs"),
    "runs": ("log_evaluation",),
    "serve": ("make_server", "served_model"),
})
