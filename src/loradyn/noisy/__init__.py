"""Noisy-label detectors and their evaluation, as pure functions of recorded dynamics, and the pipelines that train
what they need.

``detectors`` (small loss, AUM, data-map confidence, forgetting events, prediction disagreement), ``ract`` (rank
discrepancy of a low- and a high-rank run) and ``confident`` (cleanlab's confident learning, on out-of-sample
probabilities that ``kfold`` trains held-out folds for) give scores where larger means more likely noisy;
``thresholds`` turns scores into flags; ``evaluation`` scores detectors against the truth; ``runs`` does all of it
over run directories (``loradyn detect``); ``ract_config`` and ``ract_pipeline`` run RACT end to end
(``loradyn ract``): train a low- and a high-rank adapter, detect, retrain without the flagged examples, and compare
with training on noisy and on clean data; ``steps`` makes their training runs resumable.
"""
