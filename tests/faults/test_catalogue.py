"""The bad-input and file-fault catalogue through the real command line: each case exits with its status, says one
line naming the path, line and field where they apply and the fix, prints no traceback, and leaves its folder as it
was (`catalogue.Outcome.problems`). The cases are data, in the cases_*.py files beside this one."""

from __future__ import annotations

import json

import cases_data
import cases_faults
import cases_runs
import cases_training
import pytest
from catalogue import run_case

CASES = [*cases_data.CASES, *cases_training.CASES, *cases_runs.CASES, *cases_faults.CASES]


def test_every_case_has_its_own_name():
    ids = [case.id for case in CASES]
    assert len(set(ids)) == len(ids), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case(case, tmp_path, data_dir, record_property):
    outcome = run_case(case, tmp_path, data_dir)
    record_property("catalogue", json.dumps(outcome.record()))
    assert not outcome.problems(), "\n".join(outcome.problems())
