"""Per-example metrics: pure functions of recorded dynamics (arrays of shape (N, T), one row per example)."""

from loradyn.metrics.calibration import expected_calibration_error, prediction_entropy
from loradyn.metrics.curves import (
    aulc,
    checkpoint_matrices,
    delta_loss,
    first_learned,
    forgetting_events,
    late_unlearning,
    learned,
    learned_then_lost,
    loss_matrix,
    loss_slope,
)
from loradyn.metrics.datamap import data_map
from loradyn.metrics.margins import aum
from loradyn.metrics.table import example_metrics

__all__ = [
    "aulc",
    "aum",
    "checkpoint_matrices",
    "data_map",
    "delta_loss",
    "example_metrics",
    "expected_calibration_error",
    "first_learned",
    "forgetting_events",
    "late_unlearning",
    "learned",
    "learned_then_lost",
    "loss_matrix",
    "loss_slope",
    "prediction_entropy",
]
