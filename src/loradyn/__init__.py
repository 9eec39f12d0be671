"""loradyn: per-example training dynamics in fine-tuning (LoRA, IA3, full) and why examples behave as they do."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("loradyn")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
