"""Noisy-label detectors and their evaluation, as pure functions of recorded dynamics.

``detectors`` (small loss, AUM, data-map confidence, forgetting events, prediction disagreement), ``ract`` (rank
discrepancy of a low- and a high-rank run), ``confident`` (cleanlab's confident learning) and ``folds`` (planning
the held-out folds it needs) give scores where larger means more likely noisy; ``thresholds`` turns scores into
flags; ``evaluation`` scores detectors against the truth; ``runs`` does all of it over run directories.
"""
