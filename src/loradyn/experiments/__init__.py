"""Ready-made run configurations: the demo, and (to come) the papers' grids."""
