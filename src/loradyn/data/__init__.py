"""The data layer: sources, ChaosNLI, standard datasets, user files, annotation statistics, noise injection."""

from loradyn.data.annotations import (
    annotation_entropy,
    entropy_category,
    majority_confidence,
    majority_label,
    soft_labels,
    stratified_split,
)
from loradyn.data.catalog import FileMapping, load_examples
from loradyn.data.chaosnli import load_chaosnli, read_chaosnli
from loradyn.data.composition import Composition, compose
from loradyn.data.examples import Examples, Task
from loradyn.data.multiannotator import read_annotated
from loradyn.data.noise import NoisyLabels, inject_noise
from loradyn.data.standard import load_standard

__all__ = [
    "Composition",
    "Examples",
    "FileMapping",
    "NoisyLabels",
    "Task",
    "annotation_entropy",
    "compose",
    "entropy_category",
    "inject_noise",
    "load_chaosnli",
    "load_examples",
    "load_standard",
    "majority_confidence",
    "majority_label",
    "read_annotated",
    "read_chaosnli",
    "soft_labels",
    "stratified_split",
]
