"""Out-of-distribution detection: the ROC curves of a small VAE.

A VAE is trained for a few seconds on procedural dSprites (``shapes2d``, 28x28) without its
hearts, through ``gwrep.train(config, dataset=...)``; held-out squares and ellipses are
in-distribution and hearts are the novelty. It scores them with its two OoD scores:
-log p(mu(x)), the prior density at the encoded mean (the default), and the negative ELBO
(``ood_score_kind="neg_elbo"``, as ``gwrep ood --score-option``). Higher means more
anomalous; :func:`gwrep.eval.ood_metrics` gives AUROC, AUPR and FPR at 95% TPR, and
:func:`gwrep.eval.plot_roc_curves` draws the curves. Which score separates which
sets is an empirical matter, and an AUROC below 0.5 is a score ranking the novelty as *more*
typical: on MNIST vs Omniglot the prior density was the inverted one (docs/results.md,
section 2); on these shapes, after 150 steps, read the printed numbers.
"""
import tempfile

import torch

import gwrep
import gwrep.data as gd
from _output import figure_path
from gwrep.eval import ood_metrics, ood_roc_curve, plot_roc_curves

path = figure_path("ood_roc", __doc__.splitlines()[0])
HEART = 2  # the values of the "shape" factor: square, ellipse, heart


def images(split: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random images of a split, (n, 1, 28, 28), and whether each is a heart."""
    data = gd.load("shapes2d", split=split, image_size=28)
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:n]
    items = [data[int(i)] for i in pick]
    return torch.stack([x for x, _ in items]), torch.tensor([int(f[0]) == HEART for _, f in items])


x, heart = images("train", 6000, seed=0)
train_set = torch.utils.data.TensorDataset(x[~heart], torch.zeros(int((~heart).sum())))
with tempfile.TemporaryDirectory() as runs:
    gwrep.train({"model": "vae", "model_options": {"latent_dim": 8}, "steps": 150, "batch_size": 64, "seed": 0,
                 "out": f"{runs}/vae", "figures": False, "eval_every": 1000, "log_every": 1000}, dataset=train_set)
    model = gwrep.load(f"{runs}/vae")

x, heart = images("test", 1500, seed=1)
curves = {}
for kind, name in (("neg_log_prior", "-log p(mu(x))"), ("neg_elbo", "negative ELBO")):
    model.config.ood_score_kind = kind
    scores = model.ood_score(x).numpy()
    metrics = ood_metrics(scores[~heart.numpy()], scores[heart.numpy()])
    print(f"{name:>15}: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()))
    curves[name] = (*ood_roc_curve(scores[~heart.numpy()], scores[heart.numpy()]), metrics["auroc"])
plot_roc_curves(curves, path, title="VAE trained without hearts: hearts as OoD")
print(f"wrote {path}")
