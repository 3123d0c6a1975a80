"""sanctions-stance: sentence-level stance towards sanctions, from raw articles to a served model.

Importing the package switches off MLflow telemetry for every process that uses it, so no
stage, test or CLI call reaches the network (the project's own setting, not the user's shell).
"""

import os as _os

# Project-wide offline settings: set before anything can import mlflow.
_os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
_os.environ.setdefault("DO_NOT_TRACK", "1")

from pipeline.core.data import LABELS as LABELS  # noqa: E402 - after the environment settings

__version__ = "0.1.0"
