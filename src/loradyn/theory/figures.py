"""One way to draw and save the theory figures: a headless 6 x 4 inch PNG, written where it is asked to be."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def figure(path) -> Iterator:
    """Yield the axes of a new figure; save it as PNG to ``path`` (the suffix need not say so) and close it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    try:
        yield ax
        fig.tight_layout()
        fig.savefig(path, dpi=120, format="png")
    finally:
        plt.close(fig)
