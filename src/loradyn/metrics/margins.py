"""Area under the margin (AUM; Pleiss et al., 2020) from inline training-pass margins."""

from __future__ import annotations

import pandas as pd


def aum(inline: pd.DataFrame) -> pd.Series:
    """Mean margin (assigned-label logit minus the largest other logit) over every presentation of each example
    in the training pass, as the ``aum`` package computes it; indexed by ``example_id``."""
    return inline.groupby("example_id", sort=True)["margin"].mean().rename("aum")
