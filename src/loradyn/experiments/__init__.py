"""Every experiment that plans or runs many training runs, and reads them back.

``sweep`` and ``sweepfile`` expand a sweep file into named runs; ``execution`` trains a sweep into its directory
(skip, resume, refuse another plan); ``executors`` dispatch runs to worker processes, Ray or Slurm, and ``worker``
trains one; ``steps`` makes any experiment's training runs resumable and refuses a folder made with another
configuration; ``detect`` runs the noisy-label detectors (`loradyn.noisy`) over run directories (``loradyn
detect``), with ``kfold`` training the held-out folds confident learning needs; ``ract_config`` and
``ract_rounds`` run RACT (``loradyn ract``): train a low- and a high-rank adapter, detect, retrain without the
flagged examples, and compare with training on noisy and on clean data; ``presets`` holds the demo's run.
"""
