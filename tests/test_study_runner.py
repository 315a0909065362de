"""Tests of gwrep.study.runner and ``gwrep study``: train, score, resume, failures, Ray, the smoke study."""
from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pytest
import torch

from gwrep.cli import main
from gwrep.study import runner
from gwrep.study.spec import load_study
from gwrep.study.table import read_records

TINY = """
name: tiny
base: {model_options: {latent_dim: 3, architecture: mlp}, steps: 4, batch_size: 16, eval_every: 2, val_batches: 1,
       log_every: 2, checkpoint_every: 2, figures: false, device: cpu, data_options: {image_size: 28}}
datasets: {shapes2d: {}}
models:
  beta-vae: {hparam: beta, values: [1, 8]}
scores: {preset: fast}
scales:
  smoke: {seeds: [0, 1]}
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(textwrap.dedent(TINY))
    return load_study(path)


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def invocations(run_dir):
    return json.loads((run_dir / "machine.json").read_text())["invocations"]


def test_failed_run_is_recorded_and_resumed(tiny, tmp_path, monkeypatch, one_thread):
    real = runner.score_study_run

    def flaky(run_dir, *args, **kwargs):
        if "beta=8-s1" in str(run_dir):
            raise RuntimeError("disk on fire")
        return real(run_dir, *args, **kwargs)

    monkeypatch.setattr(runner, "score_study_run", flaky)
    out = tmp_path / "study"
    first = runner.run_study(tiny, "smoke", out, stream=None, report=False)
    assert first["failed"] == ["shapes2d-beta-vae-beta=8-s1"]
    rows = {r["run"]: r for r in read_records(out)}
    assert len(rows) == 4 and all(r["status"] == "completed" for r in rows.values())
    broken = rows["shapes2d-beta-vae-beta=8-s1"]
    assert math.isnan(broken["mig"]) and math.isnan(broken["udr"])  # no scores, and no partner codes for UDR
    assert np.isfinite(rows["shapes2d-beta-vae-beta=1-s0"]["mig"])
    assert np.isfinite(rows["shapes2d-beta-vae-beta=1-s0"]["udr"])  # its cell (beta 1) has both seeds scored
    assert not (out / "runs" / "shapes2d-beta-vae-beta=8-s1" / runner.SCORES_FILE).exists()

    monkeypatch.setattr(runner, "score_study_run", real)
    scored = []
    monkeypatch.setattr(runner, "score_study_run", lambda d, *a, **k: scored.append(d.name) or real(d, *a, **k))
    runner.run_study(tiny, "smoke", out, stream=None, report=False)
    assert scored == ["shapes2d-beta-vae-beta=8-s1"]  # only the missing scores; nothing retrained
    for run_dir in (out / "runs").iterdir():
        assert len(invocations(run_dir)) == 1
    rows = {r["run"]: r for r in read_records(out)}
    assert np.isfinite(rows["shapes2d-beta-vae-beta=8-s1"]["mig"]) and np.isfinite(rows["shapes2d-beta-vae-beta=8-s1"]["udr"])


def test_training_failure_does_not_stop_the_study(tiny, tmp_path, monkeypatch, one_thread):
    from gwrep.train import sweep

    real = sweep._train_point

    def failing(options, *args, **kwargs):
        if options["out"].endswith("beta=1-s0"):
            raise ValueError("bad data on this one")
        return real(options, *args, **kwargs)

    monkeypatch.setattr(sweep, "_train_point", failing)
    result = runner.run_study(tiny, "smoke", tmp_path / "s", stream=None, report=False)
    assert result["failed"] == ["shapes2d-beta-vae-beta=1-s0"]
    statuses = {r["run"]: r["status"] for r in result["rows"]}
    assert list(statuses.values()).count("completed") == 3


def test_resume_retrains_only_a_missing_run_and_rescored_stale_scores(tiny, tmp_path, one_thread):
    import shutil

    out = tmp_path / "study"
    runner.run_study(tiny, "smoke", out, stream=None, report=False)
    before = {r["run"]: r for r in read_records(out)}
    shutil.rmtree(out / "runs" / "shapes2d-beta-vae-beta=1-s1")
    scores = out / "runs" / "shapes2d-beta-vae-beta=8-s0" / runner.SCORES_FILE
    document = json.loads(scores.read_text())
    document["fingerprint"] = "stale"
    scores.write_text(json.dumps(document))
    lines = []

    class Stream:
        def write(self, text):
            lines.append(text)

        def flush(self):
            pass

    runner.run_study(tiny, "smoke", out, stream=Stream(), report=False)
    assert "2 done and scored, 1 to train, 2 to score" in lines[0]
    after = {r["run"]: r for r in read_records(out)}
    for name in before:  # deterministic: the retrained run and the rescored one give the same numbers
        assert after[name]["mig"] == pytest.approx(before[name]["mig"], abs=1e-9)
    assert len(invocations(out / "runs" / "shapes2d-beta-vae-beta=8-s0")) == 1


def test_report_only_trains_nothing(tiny, tmp_path, one_thread):
    out = tmp_path / "study"
    runner.run_study(tiny, "smoke", out, seeds=[0], stream=None, report=False)  # half the study: seed 0
    result = runner.run_study(tiny, "smoke", out, stream=None, report=False, work=False)
    statuses = {r["run"]: r["status"] for r in result["rows"]}
    assert statuses == {"shapes2d-beta-vae-beta=1-s0": "completed", "shapes2d-beta-vae-beta=8-s0": "completed",
                        "shapes2d-beta-vae-beta=1-s1": "not run", "shapes2d-beta-vae-beta=8-s1": "not run"}
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["shapes2d-beta-vae-beta=1-s0",
                                                                "shapes2d-beta-vae-beta=8-s0"]
    assert len(read_records(out)) == 4


def test_ctrl_c_keeps_the_table_and_the_wall_time(tiny, tmp_path, monkeypatch, one_thread):
    real, calls = runner.study_task, []

    def stopping(job):
        calls.append(job["name"])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(job)

    monkeypatch.setattr(runner, "study_task", stopping)
    out = tmp_path / "study"
    result = runner.run_study(tiny, "smoke", out, stream=None)
    assert result["interrupted"] and "report" not in result
    statuses = [r["status"] for r in read_records(out)]
    assert statuses.count("completed") == 1 and statuses.count("not run") == 3
    meta = json.loads((out / "study_meta.json").read_text())
    assert meta["invocations"][-1]["runs_trained"] == 1


def test_changed_plan_is_refused(tiny, tmp_path, one_thread):
    out = tmp_path / "study"
    runner.run_study(tiny, "smoke", out, seeds=[0], datasets=["shapes2d"], stream=None, report=False)
    with pytest.raises(ValueError, match="other options"):
        runner.run_study(tiny, "smoke", out, seeds=[0], overrides={"steps": 5}, stream=None, report=False)


def test_ray_backend_runs_each_run_as_a_task_with_the_sequential_results(tiny, tmp_path, monkeypatch, one_thread):
    ray = pytest.importorskip("ray", reason="the ray backend test needs the 'ray' extra (pip install -e '.[ray]')")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    sequential = runner.run_study(tiny, "smoke", tmp_path / "seq", stream=None, report=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = runner.run_study(tiny, "smoke", tmp_path / "ray", backend="ray", stream=None, report=False)
    finally:
        ray.shutdown()
    assert on_ray["failed"] == [] and on_ray["meta"]["invocations"][-1]["backend"] == "ray"
    for a, b in zip(sequential["rows"], on_ray["rows"]):
        assert a["run"] == b["run"]
        for column in ("mig", "sap", "dci_disentanglement", "gaussian_total_correlation", "reconstruction_error"):
            assert a[column] == pytest.approx(b[column], rel=1e-5, abs=1e-7), column
        wa = torch.load(tmp_path / "seq" / "runs" / a["run"] / "model" / "weights.pt", weights_only=True)
        wb = torch.load(tmp_path / "ray" / "runs" / b["run"] / "model" / "weights.pt", weights_only=True)
        assert all(torch.allclose(wa[k], wb[k], atol=1e-6) for k in wa)


def test_ray_address_reaches_ray_init(tiny, tmp_path, monkeypatch):
    ray = pytest.importorskip("ray", reason="needs the 'ray' extra")
    seen = {}

    def fake_init(address=None, **kwargs):
        seen["address"] = address
        raise ConnectionError("no cluster here")

    monkeypatch.setattr(ray, "init", fake_init)
    with pytest.raises(ConnectionError):
        runner.run_study(tiny, "smoke", tmp_path / "s", backend="ray", ray_address="ray://head:10001", stream=None)
    assert seen["address"] == "ray://head:10001"
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    with pytest.raises(ConnectionError):
        runner.run_study(tiny, "smoke", tmp_path / "s", backend="ray", stream=None)
    assert seen["address"] == "auto"


def test_cli_list_and_dry_run(capsys):
    assert main(["study", "list"]) == 0
    assert "locatello2019" in capsys.readouterr().out
    assert main(["study", "locatello2019", "--scale", "small", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "84 runs" in out and "shapes3d-gwae-fnp-coef_d=3-s2" in out


def test_smoke_study_end_to_end(tmp_path, capsys, one_thread):
    """``gwrep study locatello2019 --scale smoke``: every model trains, every score and analysis is written."""
    out = tmp_path / "smoke"
    assert main(["study", "locatello2019", "--scale", "smoke", "--out", str(out)]) == 0
    study = load_study("locatello2019")
    rows = read_records(out)
    assert len(rows) == len(study.runs("smoke"))
    assert {r["model"] for r in rows} == set(study.models) and {r["status"] for r in rows} == {"completed"}
    for column in ("mig", "sap", "dci_disentanglement", "modularity", "beta_vae_score", "factor_vae_score",
                   "gaussian_total_correlation", "gaussian_total_correlation_sampled", "mutual_info_score",
                   "downstream_logreg_acc_10", "reconstruction_error", "udr"):
        assert all(np.isfinite(r[column]) for r in rows), column
    report = (out / "study.md").read_text()
    assert "locatello2019" in report or "Locatello" in report
    assert list((out / "figures").glob("*.png"))
    capsys.readouterr()
    assert main(["study", "locatello2019", "--scale", "smoke", "--out", str(out)]) == 0  # resumes: nothing to do
    assert f"({len(rows)} done and scored, 0 to train, 0 to score)" in capsys.readouterr().out
