"""Memorisation of noisy labels over training (the second study's claims (i) and (iii)), against hand-computed
values on a training pass whose every prediction is set by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loradyn.errors import DataError
from loradyn.noisy.memorisation import memorisation_curve, separation, stays_learned

#: Per example: noisy or not, and whether it is fitted to its training label at each of three epochs' presentations.
FITS = {
    "a": (False, [1, 1, 1]),  # clean, fitted from epoch 0
    "b": (False, [0, 1, 1]),  # clean, fitted from epoch 1
    "c": (True, [0, 0, 1]),  # noisy, memorised in the last epoch
    "d": (True, [1, 0, 0]),  # noisy, fitted once, then its true class wins
    "e": (True, [0, 1, 1]),  # noisy, memorised from epoch 1
}
STEPS_PER_EPOCH = 10


def _pass() -> tuple[pd.DataFrame, pd.Series]:
    rows = []
    for position, (example, (_, fits)) in enumerate(FITS.items()):
        for epoch, fit in enumerate(fits):
            label = 2
            step = epoch * STEPS_PER_EPOCH + position  # each example presented at its own step
            for target in ("noisy", "original"):
                pred = label if fit else 0
                rows.append(
                    dict(
                        example_id=example,
                        step=step,
                        epoch=epoch + position / 10,
                        mode="inline",
                        target=target,
                        label=label if target == "noisy" else 3,
                        pred=pred,
                    )
                )
    rows.append(dict(example_id="a", step=0, epoch=0.0, mode="probe", target="noisy", label=2, pred=0))  # not read
    is_noisy = pd.Series({example: noisy for example, (noisy, _) in FITS.items()})
    return pd.DataFrame(rows), is_noisy


def test_memorisation_curve_counts_each_group_per_epoch():
    dynamics, is_noisy = _pass()
    curve = memorisation_curve(dynamics, is_noisy)
    assert curve["epoch"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(curve["noisy_fit"], [1 / 3, 1 / 3, 2 / 3])
    np.testing.assert_allclose(curve["clean_fit"], [1 / 2, 1, 1])
    assert curve["n_noisy"].tolist() == [3, 3, 3] and curve["n_clean"].tolist() == [2, 2, 2]


def test_stays_learned_gives_the_step_of_the_presentation_from_which_an_item_stays_fitted():
    dynamics, is_noisy = _pass()
    learned = stays_learned(dynamics, is_noisy)
    expected = {"a": 0, "b": 11, "c": 22, "d": np.nan, "e": 14}
    np.testing.assert_array_equal(learned.loc[list(expected), "step"].to_numpy(), list(expected.values()))
    assert learned["is_noisy"].to_dict() == is_noisy.to_dict()
    apart = separation(dynamics, is_noisy)
    assert apart == pytest.approx(
        {"clean_median_step": 5.5, "noisy_median_step": 18.0, "clean_never": 0.0, "noisy_never": 1 / 3}
    )


def test_a_run_without_its_training_pass_is_a_clear_error():
    dynamics, is_noisy = _pass()
    with pytest.raises(DataError, match="no training-pass rows") as err:
        memorisation_curve(dynamics[dynamics["mode"] == "probe"], is_noisy)
    assert "record_inline: true" in err.value.fix
