"""Tests of gwrep.study.table (the tidy table and its loader) and the runner's progress line."""
from __future__ import annotations

import io
import json
import math

import pytest

from gwrep.study.runner import StudyProgress
from gwrep.study.table import COLUMNS, SCORE_COLUMNS, load_table, read_records, write_table


def rows():
    return [{"dataset": "shapes2d", "model": "beta-vae", "hparam": "beta", "hparam_value": 4.0, "hparam_rank": 2,
             "seed": 0, "run": "a", "status": "completed", "steps": 10, "mig": 0.25, "udr": math.nan},
            {"dataset": "shapes3d", "model": "gwae-fnp", "hparam": "coef_d", "hparam_value": 0.1, "hparam_rank": 0,
             "seed": 1, "run": "b", "status": "failed", "steps": None, "mig": None}]


def test_round_trip_csv_and_json(tmp_path):
    csv_path, json_path = write_table(rows(), tmp_path)
    for path in (csv_path, json_path, tmp_path):
        back = read_records(path)
        assert [r["run"] for r in back] == ["a", "b"]
        assert back[0]["mig"] == 0.25 and back[0]["hparam_rank"] == 2 and back[0]["seed"] == 0
        assert math.isnan(back[0]["udr"]) and math.isnan(back[1]["mig"]) and math.isnan(back[1]["steps"])
        assert set(back[0]) == set(COLUMNS)
    document = json.loads(json_path.read_text())  # strict JSON: NaN written as null
    assert document["rows"][0]["udr"] is None and document["columns"] == list(COLUMNS)
    header = csv_path.read_text().splitlines()[0].split(",")
    assert header == list(COLUMNS) and set(SCORE_COLUMNS) <= set(header)


def test_load_table_frame_or_records(tmp_path):
    write_table(rows(), tmp_path)
    records = load_table(tmp_path, as_frame=False)
    assert isinstance(records, list) and records[1]["model"] == "gwae-fnp"
    pd = pytest.importorskip("pandas")
    frame = load_table(tmp_path)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(COLUMNS)
    assert frame.loc[0, "mig"] == 0.25 and frame["mig"].isna().sum() == 1


def test_missing_or_wrong_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no study table"):
        read_records(tmp_path)
    (tmp_path / "study.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a study table"):
        read_records(tmp_path / "study.json")


def test_progress_line_counts_failures_and_eta():
    stream = io.StringIO()
    times = iter([0.0, 30.0, 90.0])
    progress = StudyProgress(total=5, already=2, stream=stream, clock=times.__next__)
    first = progress.update("r1", "completed")
    assert first.startswith("study: 3/5 runs done | 0 failed | 0:00:30 elapsed | ETA 0:01:00")
    second = progress.update("r2", "failed")
    assert "4/5" in second and "1 failed" in second and "ETA 0:00:45" in second
    assert stream.getvalue().count("\n") == 2  # off a terminal: one line per update
