"""Every experiment that plans or runs many training runs, and reads them back.

``sweep`` and ``sweepfile`` expand a sweep file into named runs; ``execution`` trains a sweep into its directory
(skip, resume, refuse another plan); ``executors`` dispatch runs to worker processes, Ray or Slurm, and ``worker``
trains one; ``steps`` plans an experiment's runs in rounds and trains each round through the same executors (a
finished run is read, an unfinished one resumes, a folder made with another configuration is refused); ``detect``
runs the noisy-label detectors (`loradyn.noisy`) over run directories (``loradyn detect``), with ``kfold``
planning the held-out folds confident learning needs as one such round; ``ract_config`` and ``ract_rounds`` run
RACT (``loradyn ract``): train a low- and a high-rank adapter, detect, retrain without the flagged examples, and
compare with training on noisy and on clean data; ``presets`` holds the demo's run.
"""
