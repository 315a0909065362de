"""Tests of eval/sequence.py: the judge-classifier evaluation of Li & Mandt (2018, Sec. 5.1), gwrep eval on clip runs.

Oracles: on a tiny clip set whose frames spell out their factors, a model that keeps f
and z exactly scores 1 on what it keeps and chance on what it redraws, and a model that
ignores its input scores chance everywhere.
"""
import json

import numpy as np
import pytest
import torch
from torch import nn

from gwrep.data.factordata import GridFactorData
from gwrep.eval.sequence import JUDGE_FAST, ClipJudge, factor_accuracy, judge_scores

T = 4


class TinyClips(GridFactorData):
    """Clips (4, 1, 1, 2): pixel 0 = static class s / 2 in every frame, pixel 1 = ((d + t) mod 4) / 3 at frame t."""

    factor_names = ("s", "d")
    factor_sizes = (3, 4)
    observation_shape = (T, 1, 1, 2)
    static_factors = (0,)
    dynamic_factors = (1,)

    def render(self, factors):
        t = np.arange(T)
        out = np.zeros((len(factors), T, 1, 1, 2), dtype=np.float32)
        out[..., 0] = (factors[:, 0] / 2.0)[:, None, None, None]
        out[..., 1] = (((factors[:, 1:2] + t[None]) % 4) / 3.0)[:, :, None, None]
        return out


class OracleJudge:
    """Reads the factors off the first frame."""

    def predict(self, clips):
        s = torch.round(clips[:, 0, 0, 0, 0] * 2).long()
        d = torch.round(clips[:, 0, 0, 0, 1] * 3).long()
        return torch.stack([s, d], dim=1)


class OracleModel(nn.Module):
    """f = one-hot of the static class, z_t = the dynamic pixel at frame t; the decoder redraws them exactly.

    ``ignore_input``: the decoder draws a clip of random factors whatever f and z are.
    """

    static_dim, dynamic_dim = 3, 1

    def __init__(self, ignore_input=False):
        super().__init__()
        self.ignore_input = ignore_input
        self.anchor = nn.Parameter(torch.zeros(()))
        self.rng = np.random.default_rng(0)

    @property
    def device(self):
        return self.anchor.device

    def encode_static(self, x):
        s = torch.round(x[:, 0, 0, 0, 0] * 2).long()
        f = nn.functional.one_hot(s, 3).float()
        return f, torch.zeros_like(f)

    def encode_dynamic(self, x, f):
        z = x[:, :, 0, 0, 1:2]
        return z, torch.zeros_like(z)

    def sample_static(self, n, generator=None):
        return nn.functional.one_hot(torch.randint(0, 3, (n,), generator=generator), 3).float()

    def sample_dynamic(self, n, generator=None):
        d = torch.randint(0, 4, (n, 1), generator=generator)
        return (((d + torch.arange(T)) % 4) / 3.0)[:, :, None]

    def decode_clip(self, f, z):
        if self.ignore_input:
            factors = TinyClips().sample_factors(len(f), self.rng)
            return torch.from_numpy(TinyClips().render(factors))
        out = torch.zeros(len(f), T, 1, 1, 2)
        out[..., 0] = (f.argmax(1).float() / 2.0)[:, None, None, None]
        out[..., 1] = z[..., None]
        return out


def _scores(model, n=3000):
    data = TinyClips()
    factors = data.sample_factors(n, np.random.default_rng(1))
    clips = torch.from_numpy(data.render(factors))
    return judge_scores(model, clips, factors, OracleJudge(), factor_names=data.factor_names,
                        static_factors=data.static_factors, dynamic_factors=data.dynamic_factors,
                        factor_sizes=data.factor_sizes, seed=0)


def test_factor_accuracy_by_hand():
    acc = factor_accuracy(np.array([[0, 1], [1, 1], [2, 0], [2, 3]]), np.array([[0, 1], [1, 2], [2, 0], [1, 3]]))
    np.testing.assert_allclose(acc, [0.75, 0.75])
    with pytest.raises(ValueError, match=r"must both be \(N, K\)"):
        factor_accuracy(np.zeros((3, 2)), np.zeros((3, 1)))


def test_oracle_keeps_what_it_keeps_and_loses_what_it_redraws():
    out = _scores(OracleModel())
    assert out["real.s"] == out["real.d"] == 1.0
    assert out["reconstruction.static_mean"] == out["reconstruction.dynamic_mean"] == 1.0
    assert out["fix_f.static_mean"] == 1.0 and out["fix_z.dynamic_mean"] == 1.0
    assert out["fix_f.d"] == pytest.approx(0.25, abs=0.03)  # z redrawn: the action at chance
    assert out["fix_z.s"] == pytest.approx(1 / 3, abs=0.03)  # f redrawn: the appearance at chance
    assert out["chance.s"] == pytest.approx(1 / 3) and out["chance.d"] == 0.25


def test_a_model_that_ignores_its_input_scores_chance():
    out = _scores(OracleModel(ignore_input=True))
    for mode in ("reconstruction", "fix_f", "fix_z"):
        assert out[f"{mode}.s"] == pytest.approx(1 / 3, abs=0.03)
        assert out[f"{mode}.d"] == pytest.approx(0.25, abs=0.03)
    assert out["real.static_mean"] == 1.0  # the judge itself is perfect


def test_judge_checks_its_input_shape():
    judge = ClipJudge((T, 3, 28, 28), (3, 4))
    assert [lg.shape for lg in judge(torch.zeros(2, T, 3, 28, 28))] == [(2, 3), (2, 4)]
    assert judge.predict(torch.zeros(5, T, 3, 28, 28)).shape == (5, 2)
    with pytest.raises(ValueError, match=r"judge takes clips \(N, 4, 3, 28, 28\)"):
        judge(torch.zeros(2, 8, 3, 28, 28))


def test_gwrep_eval_on_a_clip_run(tmp_path, monkeypatch, capsys):
    from gwrep.cli import main
    from gwrep.train import train

    monkeypatch.setenv("GWREP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(JUDGE_FAST, "judge_steps", 2)
    monkeypatch.setitem(JUDGE_FAST, "num_test", 16)
    run = train({"model": "ds-vae", "data": "sprite-clips", "data_options": {"image_size": 28}, "batch_size": 4,
                 "steps": 2, "eval_every": 2, "val_batches": 1, "figures": False, "out": str(tmp_path / "run"),
                 "model_options": {"latent_dim": 3, "dynamic_dim": 2, "hidden_dim": 16}})
    assert main(["eval", str(run.dir), "--fast"]) == 0
    doc = json.loads((run.dir / "eval.json").read_text())
    summary = doc["summary"]
    assert {"fix_f_static_acc", "fix_z_dynamic_acc", "fix_f_dynamic_acc", "fix_z_static_acc"} <= set(summary)
    assert all(0.0 <= v <= 1.0 for v in summary.values())
    result = doc["metrics"]["sequence_judge"]
    assert result["num_clips"] == 16 and result["static_factors"] == ["shape", "colour", "size"]
    assert (run.dir / "figures" / "swap.png").is_file() and (run.dir / "figures" / "f_traversal.png").is_file()
    capsys.readouterr()
    assert main(["eval", str(run.dir), "--metrics", "mig"]) == 2
    assert "--metrics mig are image metrics and do not apply" in capsys.readouterr().err
    cached = list((tmp_path / "cache" / "judges").glob("*.pt"))
    assert len(cached) == 1 and result["judge_file"] == str(cached[0])
    # the same data, settings and seed load the cached judge instead of training another
    import gwrep.data as gdata
    from gwrep.eval.sequence import cached_judge

    train_set = gdata.load("sprite-clips", split="train", image_size=28)
    judge, path = cached_judge(train_set, {"data": "sprite-clips", "data_options": {"image_size": 28}, "root": None},
                               seed=0, judge_steps=2, judge_batch=32, judge_lr=1e-3)
    assert path == cached[0] and path.stat().st_mtime == cached[0].stat().st_mtime


@pytest.mark.slow
def test_trained_judge_reads_real_sprite_clips():
    import gwrep.data as gdata
    from gwrep.eval.sequence import train_judge

    train_set = gdata.load("sprite-clips", split="train", image_size=28)
    test_set = gdata.load("sprite-clips", split="test", image_size=28)
    judge = train_judge(train_set, judge_steps=600, seed=0)
    clips, factors = test_set.get_batch(np.arange(len(test_set)))
    assert factor_accuracy(judge.predict(clips), factors).min() > 0.9
