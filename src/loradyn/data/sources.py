"""Where data come from: a local folder laid out like ``../shared/data``, the Hugging Face hub, or the official
ChaosNLI release, downloaded once, checksum-verified and cached."""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
import zipfile
from pathlib import Path

from loradyn.errors import DataError
from loradyn.io import write_atomic

DATA_DIR_ENV = "LORADYN_DATA_DIR"
CACHE_DIR_ENV = "LORADYN_CACHE_DIR"

#: The files a data directory may hold, per folder (the layout of ``../shared/data``).
LAYOUT = {
    "chaosnli": ("chaosNLI_snli.jsonl", "chaosNLI_mnli_m.jsonl", "chaosNLI_alphanli.jsonl"),
    "snli": ("train.jsonl", "validation.jsonl", "test.jsonl"),
    "mnli": ("train.jsonl", "validation_matched.jsonl"),
    "ag_news": ("train.jsonl", "test.jsonl"),
}

#: The official ChaosNLI v1.0 release, as linked from the authors' repository (easonnie/ChaosNLI); the first
#: address is the current one, the second the one the paper's code used.
CHAOSNLI_URLS = (
    "https://www.dropbox.com/scl/fi/06nj75xq9djj5g72tzbmp/chaosNLI_v1.0.zip?rlkey=ihbteiy7nmgn79xplz9oicmj5&dl=1",
    "https://www.dropbox.com/s/h4j7dqszmpt2679/chaosNLI_v1.0.zip?dl=1",
)
#: SHA-256 of the v1.0 files inside the release zip (the zip itself is re-packed by the host, so its own hash is
#: not stable); the alphaNLI hash is the one ../shared/data/README.md gives for its copy of the release file.
CHAOSNLI_SHA256 = {
    "chaosNLI_snli.jsonl": "99f9015ddda7d85f66a087452bc30d53974314fe27e7d589e2f41ad44bd509c1",
    "chaosNLI_mnli_m.jsonl": "8eb49b589488e7b1a9ec95fb8a864bd50f0509b4f808eed0aed3f8167617664d",
    "chaosNLI_alphanli.jsonl": "f55817ecc11a02ba3030cd7d2c567d23843456809020723abad53f4fde024c9e",
}

#: The most a download may bring (the body, and each file unpacked from it): the v1.0 zip is a few MB and each of
#: its files under 10 MB, so anything far larger is not the release (or a zip bomb) and is refused before it fills
#: memory or disk.
MAX_DOWNLOAD_BYTES = 64 * 2**20

_LAYOUT_FIX = f"point --data-dir or {DATA_DIR_ENV} at a folder laid out like ../shared/data: " + "; ".join(
    f"{folder}/{{{','.join(files)}}}" for folder, files in LAYOUT.items()
)


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The local data folder: ``data_dir`` if given, else ``$LORADYN_DATA_DIR``, else ``None`` (use the hub)."""
    value = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise DataError("data directory does not exist", path=path, fix=_LAYOUT_FIX)
    return path


def local_file(data_dir: Path, folder: str, filename: str) -> Path:
    """``data_dir/folder/filename``, or an error that says what the folder holds and how it should look."""
    path = data_dir / folder / filename
    if path.is_file():
        return path
    holds = sorted(p.name for p in path.parent.iterdir()) if path.parent.is_dir() else []
    found = f"{folder}/ holds {', '.join(holds)}" if holds else f"there is no {folder}/ folder"
    raise DataError(f"missing from the data directory ({found})", path=path, fix=_LAYOUT_FIX)


def cache_dir() -> Path:
    """Where downloads are kept: ``$LORADYN_CACHE_DIR``, else ``~/.cache/loradyn``."""
    return Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "loradyn").expanduser()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_chaosnli(
    *,
    urls: tuple[str, ...] = CHAOSNLI_URLS,
    sha256: dict[str, str | None] | None = None,
    cache: str | os.PathLike[str] | None = None,
    timeout: float = 60.0,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
) -> Path:
    """Download the official ChaosNLI v1.0 zip, verify its files and cache them; return the cache folder.

    Files already cached with the right hash are not downloaded again. Each address in ``urls`` is tried in
    turn. Nothing is written unless every pinned file in the zip matches its SHA-256 (``CHAOSNLI_SHA256``); a body
    or an unpacked file over ``max_bytes`` is refused as it arrives.
    """
    expected = CHAOSNLI_SHA256 if sha256 is None else sha256
    folder = Path(cache) if cache is not None else cache_dir() / "chaosnli" / "v1.0"
    if all(_cached_ok(folder / name, digest) for name, digest in expected.items()):
        return folder
    failures = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                blob = _read_bounded(response, max_bytes)
            members = _release_members(blob, expected, url, max_bytes)
        except (OSError, zipfile.BadZipFile, DataError) as err:
            failures.append(f"{url}: {err}")
            continue
        for name, data in members.items():
            write_atomic(folder / name, lambda tmp, data=data: tmp.write_bytes(data))
            write_atomic(folder / f"{name}.sha256", lambda tmp, data=data: tmp.write_text(_sha256(data) + "\n"))
        return folder
    raise DataError(
        "no local data folder is set, and the ChaosNLI release could not be downloaded into this cache ("
        + "; ".join(" ".join(f.split()) for f in failures)
        + ")",
        path=folder,
        fix=f"download chaosNLI_v1.0.zip by hand, unzip its .jsonl files into a chaosnli/ folder and set "
        f"{DATA_DIR_ENV} (or --data-dir) to the folder above it",
    )


def _cached_ok(path: Path, digest: str | None) -> bool:
    recorded = path.with_name(path.name + ".sha256")
    if not path.is_file() or not recorded.is_file():
        return False
    actual = _sha256(path.read_bytes())
    return actual == recorded.read_text().strip() and digest in (None, actual)


def _too_large(what: str, size: int, max_bytes: int) -> DataError:
    return DataError(
        f"{what} is {size:,} bytes, over the {max_bytes:,} a ChaosNLI release can hold",
        fix="check the release address (this is not chaosNLI_v1.0.zip), or raise max_bytes",
    )


def _read_bounded(response, max_bytes: int) -> bytes:
    """A response body of at most ``max_bytes``: a larger declared length is refused before reading, a longer
    body after ``max_bytes + 1`` bytes."""
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large("the body (Content-Length)", int(declared), max_bytes)
    blob = response.read(max_bytes + 1)
    if len(blob) > max_bytes:
        raise _too_large("the body", len(blob), max_bytes)
    return blob


def _release_members(blob: bytes, expected: dict[str, str | None], url: str, max_bytes: int) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(blob))
    members = {}
    for info in archive.infolist():
        name = Path(info.filename).name
        if name in expected and not info.filename.startswith("__MACOSX"):
            if info.file_size > max_bytes:  # zipfile never unpacks past the declared size
                raise _too_large(f"{info.filename} unpacked", info.file_size, max_bytes)
            members[name] = archive.read(info)
    missing = sorted(set(expected) - set(members))
    if missing:
        raise DataError(f"the zip from {url} lacks {', '.join(missing)}", fix="check the release address")
    for name, data in members.items():
        if expected[name] is not None and _sha256(data) != expected[name]:
            raise DataError(
                f"checksum mismatch for {name} from {url}: sha256 {_sha256(data)}, expected {expected[name]}",
                fix="the download is corrupt or not ChaosNLI v1.0; retry, or supply the files by hand",
            )
    return members
