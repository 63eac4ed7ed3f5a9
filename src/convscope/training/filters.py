"""What the first layer learned, in numbers: ``metrics["filters"]`` and its one-line summary.

``{"init": {...}, "final": {...}, "null": {...}}``: the `measure.filter_stats` of the first
convolution at initialisation and after the last epoch, and its null level, the same measures
over `NULL_DRAWS` random initialisations of the same layer (`measure.run_null_level`: seeds
``config.seed + 1`` on, so the run's own initialisation is not among them; the first layer
only, a fraction of a second). The report and ``convscope viz filters`` use the same
function, so a run has one null level.
"""

from __future__ import annotations

from .. import measure

__all__ = ["NULL_DRAWS", "filters_line", "final_filters", "initial_filters"]

NULL_DRAWS = measure.NULL_DRAWS

_NAMES = {"orientation_selectivity": "orientation energy selectivity",
          "colour_opponency": "colour opponency"}


def initial_filters(model, seed: int) -> dict | None:
    """``{"init": ..., "null": ...}`` for a freshly initialised `model` (None: no 2-D conv)."""
    weight = measure.first_conv_weight(model)
    if weight is None:
        return None
    return {"init": measure.filter_stats(weight),
            "null": measure.run_null_level(model, seed)}


def final_filters(record: dict | None, model) -> None:
    """Add ``"final"``, the trained model's first-layer measures, to `record` (in place)."""
    if record is not None:
        record["final"] = measure.filter_stats(measure.first_conv_weight(model))


def filters_line(record: dict | None) -> str | None:
    """One line: each trained measure, its initial value and null level, and how many null
    standard deviations the trained value lies above the null mean."""
    if not record or "final" not in record:
        return None
    parts = []
    for key, value in record["final"].items():
        null = record["null"][key]
        sd = (value - null["mean"]) / null["std"] if null["std"] > 0 else float("nan")
        parts.append(f"{_NAMES.get(key, key)} {value:.3f} (init {record['init'][key]:.3f}, "
                     f"null {null['mean']:.3f} +- {null['std']:.3f}: {sd:+.1f} sd)")
    return (f"first-layer filters vs {NULL_DRAWS} random initialisations: "
            + "; ".join(parts))
