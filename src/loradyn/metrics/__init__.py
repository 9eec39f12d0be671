"""Per-example metrics: pure functions of recorded dynamics."""
