"""The quickstart model: predict a test score from the hours a student studied.

A least-squares line fitted, in plain Python, to twenty (hours, score) pairs; it
needs no download and no numerical library. Serve it with the ``local`` provider::

    hostkit.deploy(provider="local", model="hostkit_examples.study_score:predict")

and invoke it with ``{"hours": 6}`` or ``{"hours": [2, 5, 8]}``.
"""

from __future__ import annotations

from typing import Any

#: (hours studied, exam score out of 100)
DATA: list[tuple[float, float]] = [
    (0.5, 34.0), (1.0, 38.0), (1.5, 41.0), (2.0, 47.0), (2.5, 49.0),
    (3.0, 52.0), (3.5, 58.0), (4.0, 59.0), (4.5, 63.0), (5.0, 66.0),
    (5.5, 70.0), (6.0, 71.0), (6.5, 76.0), (7.0, 79.0), (7.5, 80.0),
    (8.0, 85.0), (8.5, 88.0), (9.0, 90.0), (9.5, 93.0), (10.0, 95.0),
]  # fmt: skip


def fit(data: list[tuple[float, float]]) -> tuple[float, float]:
    """Slope and intercept of the least-squares line through ``data``."""
    n = len(data)
    mean_x = sum(x for x, _ in data) / n
    mean_y = sum(y for _, y in data) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in data)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in data)
    slope = sxy / sxx
    return slope, mean_y - slope * mean_x


SLOPE, INTERCEPT = fit(DATA)


def predict(payload: Any) -> dict[str, Any]:
    """``{"hours": 6}`` or ``{"hours": [2, 5]}`` -> ``{"scores": [...], "model": ...}``."""
    hours = payload.get("hours") if isinstance(payload, dict) else payload
    values = hours if isinstance(hours, list) else [hours]
    if not values or not all(
        isinstance(h, int | float) and not isinstance(h, bool) for h in values
    ):
        raise ValueError('expected {"hours": <number>} or {"hours": [<number>, ...]}')
    if any(h < 0 or h > 24 for h in values):
        raise ValueError("hours must be between 0 and 24")
    scores = [round(min(100.0, SLOPE * h + INTERCEPT), 1) for h in values]
    return {
        "scores": scores,
        "model": f"score = {SLOPE:.2f} * hours + {INTERCEPT:.2f}",
    }
