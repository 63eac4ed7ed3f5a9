"""JSON helpers: NumPy-laden data as plain JSON values, and JSON files written atomically.

State dicts, generator states, checkpoint metadata and metrics hold NumPy arrays, NumPy
scalars and tuples; `to_plain` turns them into the lists, numbers and strings that `json`
writes, so that nothing needs pickle.

Example:
    >>> import numpy as np
    >>> to_plain({"lr": np.float32(0.5), "betas": (0.9, 0.999), 1: np.arange(2)})
    {'lr': 0.5, 'betas': [0.9, 0.999], '1': [0, 1]}
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ._args import check_path
from .io import atomic_write_text

__all__ = ["to_plain", "write_json"]


def to_plain(value: Any) -> Any:
    """`value` as JSON-ready data: tuples to lists, arrays to nested lists, NumPy scalars to
    Python numbers, dict keys to strings (state dicts, generator states, `meta`)."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_json(path: str | os.PathLike, value: Any) -> None:
    """Write `to_plain(value)` as indented JSON (with a final newline), atomically."""
    try:
        text = json.dumps(to_plain(value), indent=2) + "\n"
    except (TypeError, ValueError) as exc:
        raise TypeError(f"write_json: value must be JSON data (dicts, lists, numbers, "
                        f"strings, NumPy arrays), {exc}") from None
    atomic_write_text(check_path(path, func="write_json"), text)
