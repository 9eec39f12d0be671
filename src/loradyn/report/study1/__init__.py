"""The first study's page (``loradyn report``): ``page`` writes it from a sweep directory that ``sweep`` analyses
as one family of ``runs`` and conditions. Its tables: ``correlation_tables`` (Table 1, rank, concordance,
re-binning), ``control_tables`` (the controls, the author's partial correlation, the regressions),
``unlearning_tables``, ``noise_tables`` (the noise-injection test), ``gradient_tables``, ``run_tables`` (accuracy,
multiple testing); ``verdicts`` tests the paper's findings on them; ``figures`` and ``datamap`` (the interactive
map) draw it.
"""
