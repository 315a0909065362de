"""The model API checks its inputs once, in gwrep.models.base.Model (issue 25, case 9).

``encode``, ``represent``, ``reconstruct``, ``ood_score``, ``decode``, ``sample`` and ``prior_sample``
on a wrong shape, dtype, range or count: one ``ValueError``/``TypeError`` line naming the method and
what it expects, for every model (the checks live in the base class); numpy arrays and other float
dtypes are converted, giving the same numbers as float32 tensors.
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from gwrep.models.base import CHECKED_INPUTS, Model, ModelConfig, build_model

SHAPE = (1, 28, 28)
#: One model of each family whose hooks differ (GWAE's nets, the VAE family, DAGMM's features and mixture).
MODELS = {"gwae": {}, "vae": {}, "beta-tcvae": {}, "dagmm": {}, "wae-mmd": {}}
#: The models the full matrix of bad images runs on (the rest run the shorter tests).
IMAGE_MATRIX = ["gwae", "vae", "dagmm"]


def _model(name: str) -> Model:
    return build_model(name, image_shape=SHAPE, latent_dim=3, **MODELS[name]).eval()


def _images(n: int = 4) -> Tensor:
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1))


def _one_line(info: pytest.ExceptionInfo) -> str:
    text = str(info.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize("name", IMAGE_MATRIX)
@pytest.mark.parametrize("method", ["encode", "represent", "reconstruct", "ood_score"])
@pytest.mark.parametrize("bad, error, match", [
    (torch.rand(*SHAPE), ValueError, r"takes images \(N, 1, 28, 28\); got a tensor of shape \(1, 28, 28\): add the "
                                     r"batch dimension"),
    (torch.rand(2, 28, 28, 1), ValueError, r"got a tensor of shape \(2, 28, 28, 1\): it looks channels-last"),
    (torch.rand(2, 3, 28, 28), ValueError, r"takes images \(N, 1, 28, 28\); got a tensor of shape \(2, 3, 28, 28\)"),
    (torch.rand(2, 1, 64, 64), ValueError, r"got a tensor of shape \(2, 1, 64, 64\)$"),
    (torch.rand(2, 1, 28, 28) * 255, ValueError, r"x ranges over \[\d.*, 2\d\d.*\]; images must lie in \[0, 1\] "
                                                 r"\(divide by 255\)"),
    (torch.rand(2, 1, 28, 28) - 0.5, ValueError, r"x ranges over \[-0\.\d+, 0\.\d+\]; images must lie in \[0, 1\]$"),
    (torch.full((2, 1, 28, 28), float("nan")), ValueError, "x holds NaN or infinite values"),
    (torch.full((2, 1, 28, 28), float("inf")), ValueError, "x holds NaN or infinite values"),
    ((torch.rand(2, 1, 28, 28) * 255).to(torch.uint8), TypeError, r"got uint8: convert with x.float\(\) / 255"),
    (torch.ones(2, 1, 28, 28, dtype=torch.int64), TypeError, "got dtype int64"),
    (torch.ones(2, 1, 28, 28, dtype=torch.bool), TypeError, "got dtype bool"),
    ([[0.5]], TypeError, "takes a torch tensor or numpy array, got list"),
])
def test_bad_images_are_one_line_naming_the_method(name, method, bad, error, match):
    model = _model(name)
    with pytest.raises(error, match=match) as info:
        getattr(model, method)(bad)
    assert _one_line(info).startswith(f"{type(model).__name__}.{method}")


@pytest.mark.parametrize("name", list(MODELS))
def test_numpy_and_other_float_dtypes_are_converted_to_the_same_numbers(name):
    model = _model(name)
    x = _images()
    want_codes, want_scores = model.represent(x), model.ood_score(x)
    for given in (x.numpy(), x.double(), x.double().numpy()):
        torch.testing.assert_close(model.represent(given), want_codes)
        assert model.represent(given).dtype == torch.float32
    torch.testing.assert_close(model.represent(x.half()), model.represent(x.half().float()), rtol=0, atol=0)
    torch.testing.assert_close(model.ood_score(x.double()), want_scores)
    torch.testing.assert_close(model.decode(want_codes.double().numpy()), model.decode(want_codes))
    model.double()  # a float64 model takes float32 input, converted to its own dtype
    assert model.represent(x).dtype == torch.float64


@pytest.mark.parametrize("name", list(MODELS))
def test_bad_codes_and_counts(name):
    model = _model(name)
    cases = [(torch.rand(2, 5), ValueError, r"decode takes codes \(N, 3\); got a tensor of shape \(2, 5\)$"),
             (torch.rand(3), ValueError, r"got a tensor of shape \(3,\): add the batch dimension"),
             (torch.tensor([[0.0, float("nan"), 1.0]]), ValueError, "codes hold NaN or infinite values"),
             (torch.ones(2, 3, dtype=torch.long), TypeError, r"decode takes float codes \(N, 3\); got dtype int64")]
    for bad, error, match in cases:
        with pytest.raises(error, match=match) as info:
            model.decode(bad)
        _one_line(info)
    for method in ("sample", "prior_sample"):
        for n in (0, -2, 2.5, True, "3", None):
            with pytest.raises(ValueError, match=rf"{method}: n must be a positive int .*got {n!r}".replace("(", r"\(")):
                getattr(model, method)(n)
        assert getattr(model, method)(np.int64(2)).shape[0] == 2  # numpy ints are ints


@pytest.mark.parametrize("name", list(MODELS))
def test_good_input_gives_what_it_gave_before_the_checks(name):
    """The wrapped methods compute what the model's own hooks compute (the checks change no number)."""
    model = _model(name)
    x = _images()
    unwrapped = {m: getattr(type(model), m).__wrapped__ for m in ("encode", "decode", "ood_score")
                 if hasattr(getattr(type(model), m), "__wrapped__")}
    assert "encode" in unwrapped or "ood_score" in unwrapped
    if "encode" in unwrapped:
        torch.testing.assert_close(model.encode(x)[0], unwrapped["encode"](model, x)[0], rtol=0, atol=0)
    if "ood_score" in unwrapped:
        torch.testing.assert_close(model.ood_score(x), unwrapped["ood_score"](model, x), rtol=0, atol=0)


@dataclasses.dataclass
class _CountingConfig(ModelConfig):
    image_shape: tuple[int, int, int] = SHAPE
    latent_dim: int = 2


class _CountingModel(Model):
    """A user's model written against the documented hooks only: the base class checks its inputs too."""

    config_class = _CountingConfig

    def __init__(self, config):
        super().__init__(config)
        self.net = nn.Linear(28 * 28, 4)
        self.checks = 0

    def encode(self, x):
        mean, logvar = self.net(x.flatten(1)).chunk(2, dim=1)
        return mean, logvar

    def decode_logits(self, z):
        return z.sum(1, keepdim=True)[:, :, None, None].expand(-1, *SHAPE)

    def prior_sample(self, n, generator=None):
        return torch.randn(n, 2, generator=generator)

    def loss(self, x):
        mean, _ = self.encode(x)
        return (self.decode(mean) - x).pow(2).mean(), {}

    def ood_score(self, x):
        return self.encode(x)[0].pow(2).sum(1)

    def check_input(self, method, kind, value):
        self.checks += 1
        return super().check_input(method, kind, value)


def test_a_new_models_hooks_are_checked_once_per_call():
    model = _CountingModel(_CountingConfig())
    with pytest.raises(ValueError, match=r"_CountingModel.encode takes images \(N, 1, 28, 28\)"):
        model.encode(torch.rand(2, 3, 28, 28))
    model.checks = 0
    model.ood_score(_images())  # ood_score -> encode: one check, not two
    model.sample(2)  # sample -> prior_sample -> decode -> decode_logits: one check
    model.training_step(_images())  # training_step -> loss -> encode, decode: one check
    assert model.checks == 3
    with pytest.raises(ValueError, match="training_step: x ranges over"):
        model.training_step(_images() * 255)
    assert set(CHECKED_INPUTS) >= {"encode", "represent", "ood_score", "decode", "sample", "prior_sample"}


def test_a_failed_call_leaves_later_calls_checked():
    model = _model("vae")
    with pytest.raises(ValueError):
        model.ood_score(torch.rand(2, 1, 28, 28) * 255)
    with pytest.raises(ValueError, match="VAE.encode: x ranges over"):
        model.encode(torch.rand(2, 1, 28, 28) * 255)  # the depth counter was reset


@pytest.mark.usefixtures("keep_threads")
def test_input_checks_benchmark_runs_and_its_numbers_add_up(tmp_path, capsys):
    """benchmarks/input_checks.py at a tiny size: it runs, and its derived numbers follow from its medians."""
    from conftest import load_benchmark

    out = tmp_path / "ic.json"
    result = load_benchmark("input_checks").main(["--images", "130", "--size", "28", "--channels", "1",
                                                  "--repeats", "1", "--out", str(out)])
    assert json.loads(out.read_text()) == result
    med = result["median_s"]
    assert result["data_check_ms_per_batch"] == pytest.approx(1e3 * (med["checked"] - med["raw"]) / 3)  # 3 batches
    assert result["api_check_ms_per_call"] == pytest.approx(1e3 * (med["api_checked"] - med["api_unchecked"]))
    assert "every item checked" in capsys.readouterr().out
