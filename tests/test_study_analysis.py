"""The study's analyses (gwrep.study.analysis) on synthetic tables with known answers, and their
numerical cores against independent references (scipy's Spearman, least-squares R^2, a loop-by-loop
transfer)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import rankdata, spearmanr

from gwrep.study import analysis as A
from gwrep.study.analysis import (CANNOT_TELL, CLAIMS, HELD, HEADLINE_METRICS, NOT_HELD, analyse, study_data,
                                  synthetic_table)

MODELS = ("beta-vae", "factor-vae", "dip-vae-ii")
NB = 60  # bootstrap resamples in tests: enough for the interval's side, cheap


def _verdict(result: dict, key: str) -> dict:
    return next(v for v in result["verdicts"] if v["key"] == key)


def _metrics(value: float) -> dict[str, float]:
    return {c: value for c in HEADLINE_METRICS}


# ------------------------------------------------------------------------------------------- cores


def test_ranks_match_scipy_with_ties_and_nan_last():
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(4, 40)), 1)
    x[rng.random(x.shape) < 0.2] = np.nan
    ranks = A._ranks(x)
    for row, r in zip(x, ranks):
        ok = np.isfinite(row)
        np.testing.assert_allclose(r[ok], rankdata(row[ok]))
        assert (r[~ok] > ok.sum()).all()


def test_spearman_matrix_matches_scipy_pairwise_complete():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 5))
    x[:, 1] = x[:, 0] + 0.3 * rng.normal(size=60)
    x[:, 2] = np.round(x[:, 2])  # ties
    x[rng.random(x.shape) < 0.15] = np.nan  # different missing rows per column
    rho, counts = A.spearman_matrix(x)
    for i in range(5):
        for j in range(5):
            ok = np.isfinite(x[:, i]) & np.isfinite(x[:, j])
            assert counts[i, j] == ok.sum()
            assert rho[i, j] == pytest.approx(spearmanr(x[ok, i], x[ok, j])[0], abs=1e-12)
    assert A.spearman([1, 2], [2, 1]) != A.spearman([1, 2], [2, 1])  # NaN below 3 pairs
    assert math.isnan(A.spearman([1, 1, 1, 1], [1, 2, 3, 4]))


def test_resampled_rank_correlations_equal_those_of_the_materialised_resample():
    rows = synthetic_table(("a", "b"), MODELS, values=3, seeds=5, seed=2, failed=0.1)
    for row in rows[::5]:
        row["udr"] = math.nan  # a column with its own missing runs: the pairwise path
    study = study_data(rows)
    draw = np.array([4, 4, 0, 2, 2])
    resampled = study.resample(draw)
    names = ["mig", "udr", "factor_vae_score"]
    got = A._cross_rho(resampled, names, names)
    for d in range(2):
        cols = [resampled.get(c)[d].ravel() for c in names]  # the resample, materialised slot by slot
        for i in range(3):
            for j in range(3):
                ok = np.isfinite(cols[i]) & np.isfinite(cols[j])
                assert got[d, i, j] == pytest.approx(spearmanr(cols[i][ok], cols[j][ok])[0], abs=1e-12)


def test_variance_shares_equal_least_squares_r2_of_one_hot_factors():
    rng = np.random.default_rng(3)
    y = rng.normal(size=(3, 4, 5)) + rng.normal(size=(3, 1, 1)) + rng.normal(size=(3, 4, 1))
    y[0, 1, 2] = y[2, 3, 0] = np.nan
    model, hparam, seed = A._shares(y)
    ok = np.isfinite(y)
    m_idx, r_idx, _ = np.nonzero(ok)
    target = y[ok]

    def r2(groups: np.ndarray) -> float:
        design = np.eye(groups.max() + 1)[groups]
        fit = design @ np.linalg.lstsq(design, target, rcond=None)[0]
        return 1 - ((target - fit) ** 2).sum() / ((target - target.mean()) ** 2).sum()

    assert model == pytest.approx(r2(m_idx), abs=1e-12)
    assert model + hparam == pytest.approx(r2(m_idx * 4 + r_idx), abs=1e-12)
    assert model + hparam + seed == pytest.approx(1.0)


def _naive_transfer(study: A.StudyData, c: np.ndarray) -> np.ndarray:
    """Loop-by-loop reference of _transfer with slot k counted c[k] times."""
    metrics = study.columns(HEADLINE_METRICS)
    n_d, n_m, k_slots = len(study.datasets), len(metrics), study.cube_slots
    cube = {j: study.cube[m].reshape(n_d, -1, k_slots) for j, m in enumerate(metrics)}
    settings = cube[0].shape[1]

    def p_run(d, j, s, k):
        v = cube[j][d, s, k]
        num = den = 0.0
        for s2 in range(settings):
            if s2 == s:
                continue
            for k2 in range(k_slots):
                w = c[k2]
                if w and np.isfinite(cube[j][d, s2, k2]):
                    num += w * ((cube[j][d, s2, k2] < v) + 0.5 * (cube[j][d, s2, k2] == v))
                    den += w
        return num / den if den else math.nan

    def choose(d, j, leave_out=None):
        best, best_mean = None, -math.inf
        for s in range(settings):
            vals = [(c[k], cube[j][d, s, k]) for k in range(k_slots)
                    if k != leave_out and c[k] and np.isfinite(cube[j][d, s, k])]
            if vals:
                mean = sum(w * v for w, v in vals) / sum(w for w, _ in vals)
                if mean > best_mean:
                    best, best_mean = s, mean
        return best

    out = np.full((n_d, n_m, n_d, n_m), np.nan)
    for a in range(n_d):
        for j in range(n_m):
            s_star = choose(a, j)
            for b in range(n_d):
                for j2 in range(n_m):
                    num = den = 0.0
                    for k in range(k_slots):
                        s = choose(a, j, leave_out=k) if b == a else s_star
                        if s is None or not c[k] or not np.isfinite(cube[j2][b, s, k]):
                            continue
                        p = p_run(b, j2, s, k)
                        if np.isfinite(p):
                            num += c[k] * p
                            den += c[k]
                    out[a, j, b, j2] = num / den if den else math.nan
    return out


@pytest.mark.parametrize("draw", [None, [3, 0, 0, 1]])
def test_transfer_matches_a_loop_by_loop_reference(draw):
    rows = synthetic_table(("a", "b"), MODELS, values=2, seeds=4, seed=4, failed=0.1)
    study = study_data([{k: v for k, v in r.items() if k in A.IDENTITY + ("mig", "sap")} for r in rows])
    if draw is not None:
        study = study.resample(np.array(draw))
    got = A._transfer(study)
    want = _naive_transfer(study, study.weights())
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_hypervolume_of_hand_points():
    assert A._hypervolume(np.array([[1.0, 0.5], [0.5, 1.0]])) == pytest.approx(0.75)
    assert A._hypervolume(np.array([[1.0, 0.5], [0.5, 0.25]])) == pytest.approx(0.5)  # a dominated point adds 0


def test_decide_follows_the_interval_rule():
    claim = CLAIMS["d1"]  # predicts < 0.5
    assert A.decide(claim, 0.2, 0.1, 0.3)["verdict"] == HELD
    assert A.decide(claim, 0.8, 0.7, 0.9)["verdict"] == NOT_HELD
    assert A.decide(claim, 0.45, 0.4, 0.6)["verdict"] == CANNOT_TELL
    assert A.decide(claim, 0.2, math.nan, math.nan)["verdict"] == CANNOT_TELL
    lacking = A.decide(claim, 0.2, 0.1, 0.3, "2 seeds per cell")
    assert lacking["verdict"] == CANNOT_TELL and lacking["reason"] == "2 seeds per cell"


# ------------------------------------------------------------------------------------------- known answers


def test_only_the_seed_explains_the_variance():
    # every (data set, model, value) cell holds the same five seed values: no variance between cells
    table = synthetic_table(("a", "b"), MODELS, values=3, seeds=5,
                            scores=lambda d, m, r, k, rng: _metrics(0.1 * k + 0.01 * d))
    result = A.variance_explained(study_data(table), n_boot=NB)
    for metric in HEADLINE_METRICS:
        for share in result["shares"][metric].values():
            assert share["model"] == pytest.approx(0.0, abs=1e-12)
            assert share["hparam"] == pytest.approx(0.0, abs=1e-12)
            assert share["seed"] == pytest.approx(1.0)
    d1 = next(v for v in result["verdicts"] if v["key"] == "d1")
    assert d1["verdict"] == HELD and d1["value"] == pytest.approx(0.0, abs=1e-12)
    assert result["cases"] == 0  # every value has the same mean: no best or worst value to compare


def test_only_the_model_explains_the_variance():
    table = synthetic_table(("a", "b"), MODELS, values=3, seeds=4, scores=lambda d, m, r, k, rng: _metrics(float(m)))
    result = A.variance_explained(study_data(table), n_boot=NB)
    assert all(s["model"] == pytest.approx(1.0) for per in result["shares"].values() for s in per.values())
    assert next(v for v in result["verdicts"] if v["key"] == "d1")["verdict"] == NOT_HELD


@pytest.mark.parametrize("noise, expected", [(1.0, HELD), (0.001, NOT_HELD)])
def test_bad_hyperparameter_good_seed(noise, expected):
    # value = rank + seed noise; with noise 1 the seeds overlap across values, with 0.001 they never do
    table = synthetic_table(("a", "b"), MODELS, values=3, seeds=6,
                            scores=lambda d, m, r, k, rng: _metrics(r + noise * (k - 2.5)))
    result = A.variance_explained(study_data(table), n_boot=NB)
    assert result["beat_rate"] == (1.0 if expected == HELD else 0.0)
    case = result["seed_vs_hparam"][0]
    assert case["best_value"] > case["worst_value"]  # ranks 2 and 0 of the grid
    assert case["worst_best_seed"] == pytest.approx(0 + noise * 2.5)
    assert case["best_worst_seed"] == pytest.approx(2 - noise * 2.5)
    assert next(v for v in result["verdicts"] if v["key"] == "d2")["verdict"] == expected


def test_an_unsupervised_score_equal_to_a_metric_selects_perfectly():
    def scores(d, m, r, k, rng):
        value = float(rng.random())
        return {**_metrics(value), "udr": value, "gaussian_total_correlation": float(rng.random())}

    result = A.unsupervised_selection(study_data(synthetic_table(("a", "b"), MODELS, values=3, seeds=4,
                                                                 scores=scores)), n_boot=NB)
    for per_score in result["rho"].values():
        assert all(r == pytest.approx(1.0) for r in per_score["udr"].values())
    udr = result["selection"]["udr"]
    assert udr["p_beat_random"] == 1.0 and udr["beats_random"] == 1.0 and udr["cases"] == 2 * 3 * 6
    tc = result["selection"]["gaussian_total_correlation"]["p_beat_random"]
    assert 0.2 < tc < 0.8  # an unrelated score picks about as well as chance
    e = result["verdicts"][0]
    assert e["value"] == 1.0 and e["verdict"] == NOT_HELD  # a perfect selector refutes "cannot select"


def test_the_same_best_setting_on_both_data_sets_transfers_always():
    # quality = model * 10 + rank, seeds add < 1: every setting's runs sit apart, in the same order on both data sets
    table = synthetic_table(("a", "b"), MODELS, values=3, seeds=4,
                            scores=lambda d, m, r, k, rng: _metrics(10.0 * m + r + 0.1 * k + 0.01 * d))
    result = A.hyperparameter_transfer(study_data(table), n_boot=NB)
    for category in result["categories"].values():
        assert category["p_beat_random"] == 1.0 and category["beats_random"] == 1.0
    assert np.allclose(result["dataset_matrix"], 1.0)
    assert [v["verdict"] for v in result["verdicts"]] == [NOT_HELD, NOT_HELD]


def test_a_random_choice_transfers_at_chance():
    rng = np.random.default_rng(5)
    table = synthetic_table(("a", "b", "c"), MODELS, values=4, seeds=10,
                            scores=lambda d, m, r, k, g: _metrics(float(rng.random())))
    result = A.hyperparameter_transfer(study_data(table), n_boot=NB)
    other = result["categories"]["other data set, same metric"]["p_beat_random"]
    assert abs(other - 0.5) < 0.15
    assert result["verdicts"][0]["verdict"] == HELD


def test_monotone_total_correlation_of_the_sampled_representation():
    def scores(d, m, r, k, rng):
        return {"gaussian_total_correlation_sampled": math.exp(-r) + 0.01 * k,
                "gaussian_total_correlation": 1.0 + r + 0.01 * k}

    result = A.tc_vs_regularisation(study_data(synthetic_table(("a", "b"), MODELS, values=3, seeds=3,
                                                               scores=scores)), n_boot=NB)
    a1, a2 = result["verdicts"]
    assert a1["verdict"] == HELD and a1["value"] < -0.9
    assert a2["verdict"] == HELD and a2["value"] > 0.9
    curve = result["curves"]["a"]["beta-vae"]
    assert curve["ranks"] == [0, 1, 2] and curve["values"] == [1.0, 2.0, 4.0]
    assert curve["sampled"]["mean"] == pytest.approx([1 + 0.01, math.exp(-1) + 0.01, math.exp(-2) + 0.01])


def test_metrics_that_agree_and_a_modularity_that_does_not():
    def scores(d, m, r, k, rng):
        q = float(rng.random())
        out = {c: q + 0.05 * float(rng.random()) for c in HEADLINE_METRICS}
        out["modularity"] = float(rng.random())
        return out

    result = A.score_correlations(study_data(synthetic_table(("a", "b"), MODELS, values=3, seeds=4, scores=scores)),
                                  n_boot=NB)
    b1, b2 = result["verdicts"]
    assert b1["verdict"] == HELD and b1["value"] > 0.8
    assert b2["verdict"] == HELD


def test_a_model_that_always_wins():
    table = synthetic_table(("a", "b"), MODELS, values=3, seeds=4,
                            scores=lambda d, m, r, k, rng: _metrics((m == 1) + 0.1 * float(rng.random())))
    result = A.score_distributions(study_data(table), n_boot=NB)
    assert all(w == "factor-vae" for per in result["winners"].values() for w in per.values())
    assert result["verdicts"][0]["value"] == 1.0 and result["verdicts"][0]["verdict"] == NOT_HELD
    q = result["by_model"]["mig"]["a"]["factor-vae"]
    assert q["n"] == 12 and 1.0 <= q["min"] <= q["median"] <= q["max"] <= 1.1


def test_sample_efficiency_that_follows_the_metrics():
    def scores(d, m, r, k, rng):
        q = float(rng.random())
        return {**_metrics(q), "downstream_logreg_sample_efficiency": 2 * q, "downstream_logreg_acc_10000": 0.9}

    result = A.downstream(study_data(synthetic_table(("a", "b"), MODELS, values=3, seeds=4, scores=scores)), n_boot=NB)
    assert result["rho"]["a"]["mig"]["downstream_logreg_sample_efficiency"] == pytest.approx(1.0)
    assert math.isnan(result["rho"]["a"]["mig"]["downstream_logreg_acc_10000"])  # a constant: no rank correlation
    assert result["verdicts"][0]["verdict"] == NOT_HELD


def test_factor_vae_dominating_beta_vae():
    def scores(d, m, r, k, rng):
        better = m == 1  # factor-vae: lower error and higher score at every value
        return {"reconstruction_error": 50.0 - 10 * better + r + 0.1 * k,
                "factor_vae_score": 0.5 + 0.3 * better + 0.01 * r + 0.001 * k}

    result = A.reconstruction_tradeoff(study_data(synthetic_table(("a", "b"), MODELS, values=3, seeds=3,
                                                                  scores=scores)), n_boot=NB)
    points = result["points"]["a"]["factor-vae"]
    assert points["values"] == [10.0, 20.0, 30.0]
    assert points["recon"] == pytest.approx([40.1, 41.1, 42.1])
    assert result["hypervolume_gap"]["a"] > 0.5
    assert result["verdicts"][0]["verdict"] == HELD


# ------------------------------------------------------------------------------------------- small and broken tables


def test_failed_runs_are_left_out_and_counted():
    rows = synthetic_table(("a", "b"), MODELS, values=3, seeds=4, seed=6, failed=0.2)
    failed = sum(r["status"] == "failed" for r in rows)
    assert failed > 0
    result = analyse(rows, n_boot=NB)
    assert result["sections"]["d"]["excluded"]["mig"] == failed
    assert result["sections"]["b"]["excluded"]["udr"] == failed
    assert result["timing"]["total"]["status"]["failed"] == failed
    assert all(np.isfinite(v["value"]) for v in result["verdicts"] if v["key"] != "h")


@pytest.mark.parametrize("values, seeds", [(3, 1), (3, 2), (1, 4)])
def test_too_small_tables_cannot_tell_and_do_not_crash(values, seeds):
    result = analyse(synthetic_table(("a", "b"), MODELS, values=values, seeds=seeds), n_boot=NB)
    lacking = [v for v in result["verdicts"] if v["verdict"] == CANNOT_TELL]
    if seeds < A.MIN_SEEDS:
        assert len(lacking) == len(CLAIMS)
        assert all("seeds per cell" in v["reason"] for v in lacking)
    else:  # one hyperparameter value: no trend, no best and worst value
        by_key = {v["key"]: v for v in result["verdicts"]}
        assert all(by_key[k]["verdict"] == CANNOT_TELL for k in ("a1", "a2", "d1", "d2", "h"))
        assert "hyperparameter value" in by_key["a1"]["reason"]


def test_one_data_set_cannot_tell_about_transfer_across_data_sets():
    result = A.hyperparameter_transfer(study_data(synthetic_table(("a",), MODELS, values=3, seeds=3)), n_boot=NB)
    f1, f2 = result["verdicts"]
    assert f1["verdict"] == CANNOT_TELL and "no other data set" in f1["reason"]
    assert f2["reason"].startswith("interval")  # across metrics there is something to tell


def test_table_forms_agree_and_bad_tables_are_refused():
    rows = synthetic_table(("a", "b"), MODELS, values=2, seeds=3)
    columns = {name: [r[name] for r in rows] for name in rows[0]}
    by_rows, by_columns = analyse(rows, n_boot=0), analyse(columns, n_boot=0)
    assert [v["value"] for v in by_rows["verdicts"]] == [v["value"] for v in by_columns["verdicts"]]
    with pytest.raises(ValueError, match="no seed"):
        study_data([{k: v for k, v in rows[0].items() if k != "seed"}])
    with pytest.raises(ValueError, match="row 1: column 'mig' holds 'abc'"):
        study_data([rows[0], {**rows[1], "mig": "abc"}])
    with pytest.raises(ValueError, match="more than once"):
        study_data([rows[0], dict(rows[0])])
    with pytest.raises(ValueError, match="hparam_value"):
        study_data([rows[0], {**rows[0], "dataset": "b", "hparam_value": 99.0}])
    with pytest.raises(ValueError, match="differ in length"):
        study_data({"dataset": ["a"], "model": ["b", "c"]})
    with pytest.raises(ValueError, match="no rows"):
        study_data([])


def test_a_dataframe_is_read_without_importing_pandas_in_the_analysis():
    pd = pytest.importorskip("pandas")
    rows = synthetic_table(("a", "b"), MODELS, values=2, seeds=3, failed=0.2)
    frame = pd.DataFrame(rows)
    assert [v["value"] for v in analyse(frame, n_boot=0)["verdicts"]] == \
           pytest.approx([v["value"] for v in analyse(rows, n_boot=0)["verdicts"]], nan_ok=True)


def test_the_bootstrap_is_reproducible():
    rows = synthetic_table(("a", "b"), MODELS, values=3, seeds=4, seed=7)
    first, second = analyse(rows, n_boot=NB, seed=3), analyse(rows, n_boot=NB, seed=3)
    assert [v["ci"] for v in first["verdicts"]] == [v["ci"] for v in second["verdicts"]]


def test_the_analysis_reads_every_score_of_the_tidy_table():
    from gwrep.study import table

    assert sorted(A.SCORE_COLUMNS) == sorted(table.SCORE_COLUMNS)
    assert set(A.IDENTITY) <= set(table.IDENTITY_COLUMNS)
    assert A.model_order()[-1] == "gwae-fnp" and len(A.model_order()) == 7
