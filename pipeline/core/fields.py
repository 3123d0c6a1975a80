"""The field helper of the params schema: each field's type check, range and doc in its metadata.

Shared by :mod:`pipeline.core.params` and :mod:`pipeline.core.evaluation_params`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any

__all__ = ["_copy", "_f"]


def _f(default: Any, kind: str, doc: str, **rules: Any):
    """A schema field: *kind* names the type check, *rules* its range (min, max, choices...)."""
    meta = {"kind": kind, "doc": doc, **rules}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: _copy(default), metadata=meta)
    if dataclasses.is_dataclass(default):
        return field(default_factory=type(default), metadata=meta)
    return field(default=default, metadata=meta)


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value
