"""The readers' located errors, called as a library: every bad record names the file, line and field. The same
files through the command line (one line, exit 2, nothing written) are in tests/faults/cases_data.py."""

from __future__ import annotations

import json

import pytest

from loradyn.data import read_annotated, read_chaosnli
from loradyn.errors import DataError

GOOD = {
    "uid": "u1",
    "label_counter": {"e": 60, "n": 30, "c": 10},
    "example": {"uid": "u1", "premise": "A dog runs.", "hypothesis": "An animal moves."},
    "old_label": "e",
}


def _chaos_file(tmp_path, second: str) -> str:
    path = tmp_path / "chaosNLI_snli.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + second + "\n")
    return str(path)


def _with(**changes) -> str:
    record = json.loads(json.dumps(GOOD))
    record["uid"] = "u2"
    for key, value in changes.items():
        if value is None:
            record.pop(key)
        else:
            record[key] = value
    return json.dumps(record)


CASES = {
    "malformed JSON": ('{"uid": "u2", "label_counter": {', None, "malformed JSON"),
    "missing field": (_with(old_label=None), "old_label", "missing field"),
    "missing text": (_with(example={"premise": "p"}), "hypothesis", "missing field"),
    "zero counts": (_with(label_counter={"e": 0, "n": 0, "c": 0}), "label_counter", "sum to zero"),
    "unknown vote label": (_with(label_counter={"e": 50, "x": 50}), "label_counter", "unknown label 'x'"),
    "unknown gold label": (_with(old_label="maybe"), "old_label", "unknown label 'maybe'"),
    "negative count": (_with(label_counter={"e": -1, "n": 5}), "label_counter", "non-negative integer"),
    "duplicate id": (_with(uid="u1"), "uid", "duplicate id 'u1' (first on line 1)"),
    "wrong type": (_with(uid=7), "uid", "expected str"),
}


@pytest.mark.parametrize("case", CASES)
def test_chaosnli_record_errors_name_file_line_and_field(tmp_path, case):
    line, field, message = CASES[case]
    path = _chaos_file(tmp_path, line)
    with pytest.raises(DataError) as err:
        read_chaosnli(path, "snli")
    assert str(err.value).startswith(f"{path}:2: ")
    assert err.value.line == 2 and err.value.field == field
    assert message in str(err.value)
    assert "Fix:" in str(err.value)


def test_empty_file(tmp_path):
    path = tmp_path / "chaosNLI_snli.jsonl"
    path.write_text("\n\n")
    with pytest.raises(DataError, match="file is empty"):
        read_chaosnli(path, "snli")


def test_user_file_errors(tmp_path):
    path = tmp_path / "votes.csv"
    path.write_text("id,text,yes,no\na,t,1,1\nb,t,x,1\n")
    with pytest.raises(DataError, match=r"votes.csv:3: field 'yes': vote count must be a non-negative integer"):
        read_annotated(path, text_fields=["text"], count_fields=["yes", "no"], id_field="id")
    path.write_text("id,text,yes,no\na,t,1,1\na,t,2,1\n")
    with pytest.raises(DataError, match=r"votes.csv:3: field 'id': duplicate id 'a'"):
        read_annotated(path, text_fields=["text"], count_fields=["yes", "no"], id_field="id")
    path.write_text("id,text,yes,no\na,t,0,0\n")
    with pytest.raises(DataError, match=r"votes.csv:2: field 'yes,no': vote counts sum to zero"):
        read_annotated(path, text_fields=["text"], count_fields=["yes", "no"], id_field="id")
    path.write_text("id,text,labels\na,t,yes|no|perhaps\n")
    with pytest.raises(DataError, match=r"votes.csv:2: field 'labels': unknown label 'perhaps'"):
        read_annotated(path, text_fields=["text"], labels_field="labels", label_names=["yes", "no"])
    path.write_text("id,text,yes,no\n")
    with pytest.raises(DataError, match="file is empty"):
        read_annotated(path, text_fields=["text"], count_fields=["yes", "no"])


def test_standard_split_with_an_unknown_label(tmp_path):
    from loradyn.data import load_standard

    (tmp_path / "ag_news").mkdir()
    (tmp_path / "ag_news" / "test.jsonl").write_text('{"text": "a", "label": 0}\n{"text": "b", "label": 4}\n')
    with pytest.raises(DataError, match=r"test.jsonl:2: field 'label': unknown label 4"):
        load_standard("ag-news", "test", data_dir=tmp_path)
