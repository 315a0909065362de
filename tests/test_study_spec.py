"""Tests of gwrep.study.spec: the study file format, its checks and the plan of runs."""
from __future__ import annotations

import textwrap

import pytest

from gwrep.study.spec import load_study, study_names

MINIMAL = """
name: tiny
base: {model_options: {latent_dim: 4}, steps: 5}
datasets: {shapes2d: {data_options: {image_size: 28}}, shapes3d: {}}
models:
  beta-vae: {hparam: beta, values: [1, 4, 16]}
  dip-vae-i: {hparam: lambda_od, values: [1, 10, 50], options: {model_options: {lambda_d: 5}}}
scales:
  smoke: {seeds: [0, 1], grid_positions: [1, 3], datasets: [shapes2d]}
  small: {seeds: [3], train: {steps: 7}, model_train: {dip-vae-i: {steps: 9}}}
"""


def write(tmp_path, text: str):
    path = tmp_path / "study.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_shipped_locatello2019_matches_unsupervised_study_v1():
    study = load_study("locatello2019")
    assert "locatello2019" in study_names()
    grids = {label: (m.hparam, m.values) for label, m in study.models.items()}
    assert grids["beta-vae"] == ("beta", [1, 2, 4, 6, 8, 16])
    assert grids["annealed-vae"] == ("c_max", [5, 10, 25, 50, 75, 100])
    assert grids["factor-vae"] == ("gamma", [10, 20, 30, 40, 50, 100])
    assert grids["dip-vae-i"] == ("lambda_od", [1, 2, 5, 10, 20, 50])
    assert grids["dip-vae-ii"] == ("lambda_od", [1, 2, 5, 10, 20, 50])
    assert grids["beta-tcvae"] == ("beta", [1, 2, 4, 6, 8, 10])
    assert len(grids["gwae-fnp"][1]) == 6
    paper = study.runs("paper")
    assert len(paper) == 7 * 6 * 50 * 7
    options = paper[0].options
    assert options["model_options"]["latent_dim"] == 10 and options["batch_size"] == 64
    assert options["model_options"]["reconstruction"] == "bernoulli" and options["steps"] == 300000
    annealed = next(r for r in paper if r.model == "annealed-vae")
    assert annealed.options["model_options"]["gamma"] == 1000
    assert annealed.options["model_options"]["iteration_threshold"] == 100000
    small = study.runs("small")
    assert len(small) == 7 * 2 * 3 * 2 and {r.dataset for r in small} == {"shapes2d", "shapes3d"}
    assert {r.hparam_rank for r in small if r.model != "annealed-vae"} == {0, 3}
    # AnnealedVAE regularises less as c_max grows: c_max 100 is its weakest setting, rank 0
    ranks = {r.hparam_value: r.hparam_rank for r in small if r.model == "annealed-vae"}
    assert ranks == {5.0: 5, 50.0: 2}
    assert {r.hparam_value: r.hparam_rank for r in small if r.model == "beta-vae"} == {1.0: 0, 6.0: 3}


def test_runs_merge_order_values_and_names(tmp_path):
    study = load_study(write(tmp_path, MINIMAL))
    runs = study.runs("smoke")
    assert [r.seed for r in runs] == [0] * 4 + [1] * 4  # seed-major
    names = [r.name for r in runs]
    assert "shapes2d-beta-vae-beta=16-s1" in names and "shapes2d-dip-vae-i-lambda_od=1-s0" in names
    dip = next(r for r in runs if r.model == "dip-vae-i" and r.hparam_rank == 2)
    assert dip.options["model_options"] == {"latent_dim": 4, "lambda_od": 50.0, "lambda_d": 5}
    assert dip.options["data_options"] == {"image_size": 28} and dip.options["model"] == "dip-vae-i"
    small = study.runs("small")
    assert {r.options["steps"] for r in small if r.model == "beta-vae"} == {7}
    assert {r.options["steps"] for r in small if r.model == "dip-vae-i"} == {9}
    assert len(small) == 2 * 2 * 3  # both data sets, every value, one seed
    overridden = study.runs("smoke", seeds=[5], datasets=["shapes3d"], overrides={"steps": 2})
    assert {(r.seed, r.dataset, r.options["steps"]) for r in overridden} == {(5, "shapes3d", 2)}


@pytest.mark.parametrize("old, new, words", [
    ("values: [1, 4, 16]", "values: []", "values"),
    ("values: [1, 4, 16]", "values: [1, 1, 4]", "twice"),
    ("values: [1, 4, 16]", "values: [a, b]", "numbers"),
    ("grid_positions: [1, 3]", "grid_positions: [1, 4]", "grid_positions"),
    ("datasets: [shapes2d]}", "datasets: [mnist]}", "unknown dataset"),
    ("seeds: [0, 1]", "seeds: []", "seeds"),
    ("smoke: {", "huge: {", "scale 'huge'"),
    ("{hparam: beta, values", "{hparam: beta, colour: red, values", "unknown keys"),
    ("{hparam: beta, values", "{hparam: beta, regularisation: sideways, values", "regularisation"),
    ("name: tiny", "name: tiny\nwhat: 1", "unknown keys"),
    ("name: tiny", "name: ../escape", "name must be a name"),
    ("  beta-vae: {hparam", "  ../beta-vae: {hparam", "model label must be a name"),
    ("datasets: {shapes2d: {data", "datasets: {/tmp/x: {data", "dataset label must be a name"),
    ("model_options: {latent_dim: 4}", "model_options: {latent_dim: -4}", "latent_dim"),
])
def test_bad_files_name_the_problem(tmp_path, old, new, words):
    assert old in MINIMAL
    with pytest.raises(ValueError, match=words) as info:
        load_study(write(tmp_path, MINIMAL.replace(old, new, 1)))
    assert "study.yaml" in str(info.value) or "latent_dim" in str(info.value)


def test_unknown_names_and_scales():
    with pytest.raises(ValueError, match="shipped studies: .*locatello2019"):
        load_study("no-such-study")
    with pytest.raises(ValueError, match="has no scale 'huge'"):
        load_study("locatello2019").runs("huge")
    with pytest.raises(ValueError, match="seeds must be non-negative integers, got \\[-1\\]"):
        load_study("locatello2019").runs("smoke", seeds=[0, -1])
    with pytest.raises(ValueError, match="no data set"):
        load_study("locatello2019").runs("smoke", datasets=["mnist"])
