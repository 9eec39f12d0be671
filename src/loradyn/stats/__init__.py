"""Statistics of the first study: correlations with bootstrap CIs, partial correlations, regressions, seeds."""
