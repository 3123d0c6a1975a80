"""sanctions-stance: sentence-level stance towards sanctions, from raw articles to a served model.

Subpackages in layers (imports point down only): ``core`` at the bottom; ``split`` and ``model``
above it; ``labels``, ``train``, ``tracking``, ``predict`` and ``analyze`` above those;
``evaluate`` on top; ``cli`` over all (see docs/architecture.md).

Importing the package switches off MLflow telemetry for every process that uses it, so no
stage, test or CLI call reaches the network (the project's own setting, not the user's shell).
It also keeps the module paths that model files saved before the subpackages name (see
:data:`MOVED`) importable.
"""

import os as _os
import sys as _sys

# Project-wide offline settings: set before anything can import mlflow.
_os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
_os.environ.setdefault("DO_NOT_TRACK", "1")

from pipeline.core.data import LABELS as LABELS  # noqa: E402 - after the environment settings

__version__ = "0.1.0"

#: Old module path -> its module now, for the names model files hold: a pickle or skops file of a
#: model with the opt-in embeddings block, saved before the subpackages, names
#: ``pipeline.embeddings.encode``. Only these modules are aliased; nothing else is importable
#: under an old name.
MOVED = {"pipeline.embeddings": "pipeline.model.embeddings"}


class _MovedModules:
    """Import hook: ``import pipeline.embeddings`` gives ``pipeline.model.embeddings`` (the same module)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name not in MOVED:
            return None
        from importlib.util import spec_from_loader

        return spec_from_loader(name, _MovedModules)

    @staticmethod
    def create_module(spec):
        from importlib import import_module

        return import_module(MOVED[spec.name])

    @staticmethod
    def exec_module(module) -> None:
        """Nothing to run: the module was imported under its new name."""


_sys.meta_path.append(_MovedModules)
