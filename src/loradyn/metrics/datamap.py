"""Dataset Cartography (Swayamdipta et al., 2020): confidence, variability, correctness, and regions."""

from __future__ import annotations

import numpy as np
import pandas as pd

REGIONS = ("easy", "ambiguous", "hard")


def data_map(
    p_gold: np.ndarray,
    correct: np.ndarray,
    *,
    ambiguous_quantile: float = 2 / 3,
    confidence_threshold: float = 0.5,
) -> pd.DataFrame:
    """Data-map coordinates from ``(N, T)`` arrays of p(gold) and correctness over checkpoints or epochs.

    ``confidence`` is the mean p(gold), ``variability`` its standard deviation (ddof=0, as in the original code),
    ``correctness`` the share of correct predictions. Regions: ``ambiguous`` for the most variable third
    (variability at or above its ``ambiguous_quantile``); of the rest, ``easy`` when confidence is at least
    ``confidence_threshold``, else ``hard``. Works on probe rows or on inline (training-pass) rows, which is what
    the original used.
    """
    p_gold = np.asarray(p_gold, dtype=float)
    confidence = p_gold.mean(axis=1)
    variability = p_gold.std(axis=1)
    cut = np.quantile(variability, ambiguous_quantile)
    region = np.where(variability >= cut, "ambiguous", np.where(confidence >= confidence_threshold, "easy", "hard"))
    return pd.DataFrame(
        {
            "confidence": confidence,
            "variability": variability,
            "correctness": np.asarray(correct, dtype=float).mean(axis=1),
            "region": region,
        }
    )
