"""Noisy-label detectors and their evaluation: pure functions of recorded dynamics (nothing here trains).

``detectors`` (small loss, AUM, data-map confidence, forgetting events, prediction disagreement), ``ract`` (rank
discrepancy of a low- and a high-rank run) and ``confident`` (cleanlab's confident learning on given out-of-sample
probabilities) give scores where larger means more likely noisy; ``rows`` selects the recorded rows they read;
``thresholds`` turns scores into flags; ``evaluation`` scores detectors against the truth. Running them over run
directories, and the experiments that train what they need (K-fold, RACT), are in `loradyn.experiments`.
"""
