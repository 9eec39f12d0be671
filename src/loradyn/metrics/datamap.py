"""Dataset Cartography (Swayamdipta et al., 2020): confidence, variability, correctness, and regions."""

from __future__ import annotations

import warnings

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
    """Data-map coordinates from ``(N, T)`` arrays of p(gold) and correctness (see `curves.learned`; NaN where a
    cell is missing, which is left out).

    Dataset Cartography's map is per-epoch statistics of the training pass (inline rows, one column per epoch):
    that is what `loradyn.analyze` calls the data map; the same function over probe checkpoints gives the
    ``probe_`` map. ``confidence`` is the mean p(gold), ``variability`` its standard deviation (ddof=0, as in the
    original code), ``correctness`` the share of learned recordings. Regions: ``ambiguous`` for the most variable
    third (variability at or above its ``ambiguous_quantile``); of the rest, ``easy`` when confidence is at least
    ``confidence_threshold``, else ``hard``; undefined (None) where nothing was recorded, and for every example when
    no example varies (one epoch).
    """
    p_gold = np.asarray(p_gold, dtype=float)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an example with no recording gets NaN, counted upstream
        confidence = np.nanmean(p_gold, axis=1)
        variability = np.nanstd(p_gold, axis=1)
        correctness = np.nanmean(np.asarray(correct, dtype=float), axis=1)
    cut = np.nanquantile(variability, ambiguous_quantile)
    region = np.where(variability >= cut, "ambiguous", np.where(confidence >= confidence_threshold, "easy", "hard"))
    undefined = np.isnan(confidence) | (np.nanmax(variability, initial=0.0) == 0)  # one recording: no spread
    region = np.where(undefined, None, region)
    return pd.DataFrame(
        {
            "confidence": confidence,
            "variability": variability,
            "correctness": correctness,
            "region": region,
        }
    )
