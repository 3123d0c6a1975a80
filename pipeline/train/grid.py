"""The search grid of ``train.grid``: its candidates, and params with a candidate's values set."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from pipeline.core.params import TrainParams, coerce

__all__ = ["apply_overrides", "grid_candidates"]


def _flatten_grid(node: Any, prefix: str, out: dict[str, list]) -> None:
    if isinstance(node, dict):
        for key in sorted(node):
            _flatten_grid(node[key], f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = list(node) if isinstance(node, list) else [node]


def grid_candidates(params: TrainParams | dict[str, Any]) -> list[dict[str, Any]]:
    """Candidates of ``train.grid.<classifier>``, in a fixed order.

    Parameters
    ----------
    params : TrainParams or mapping
        The ``train`` section (a mapping is validated, grid included, by :mod:`pipeline.core.params`).

    Returns
    -------
    candidates : list of dict
        Each maps a dotted parameter path (e.g. ``"features.char.enabled"``) to one value;
        the Cartesian product of the axes, keys sorted, last key varying fastest. A grid that
        is missing or empty gives one candidate, ``{}`` (the params as they are).
    """
    p = coerce(TrainParams, params, "train")
    axes: dict[str, list] = {}
    _flatten_grid((p.grid or {}).get(p.classifier) or {}, "", axes)
    keys = list(axes)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(axes[k] for k in keys))]


def apply_overrides(params: TrainParams | dict[str, Any], overrides: dict[str, Any]):
    """Return a copy of *params* with dotted-path *overrides* set (input untouched).

    A :class:`~pipeline.core.params.TrainParams` gives a checked TrainParams; a mapping a deep-copied dict.
    """
    if isinstance(params, TrainParams):
        return params.with_overrides(overrides)
    out = copy.deepcopy(params)
    for dotted, value in overrides.items():
        node = out
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = copy.deepcopy(value)
    return out
