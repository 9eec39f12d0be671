import numpy as np
import pandas as pd

from loradyn.metrics.curves import aulc, delta_loss, loss_matrix


def test_aulc_and_delta_loss_on_hand_made_trajectories():
    losses = np.array([[1.0, 0.5, 0.3], [0.2, 0.6, 1.0], [1.0, np.nan, 0.4], [np.nan, np.nan, 0.7]])
    np.testing.assert_allclose(aulc(losses), [0.6, 0.6, 0.7, np.nan])
    np.testing.assert_allclose(delta_loss(losses[:2]), [-0.7, 0.8])


def test_loss_matrix_orders_checkpoints_by_step():
    rows = pd.DataFrame({"example_id": ["b", "a", "a", "b"], "step": [10, 10, 0, 0], "loss": [0.4, 0.3, 1.1, 1.2]})
    ids, steps, values = loss_matrix(rows)
    assert ids.tolist() == ["a", "b"] and steps.tolist() == [0, 10]
    np.testing.assert_array_equal(values, [[1.1, 0.3], [1.2, 0.4]])
