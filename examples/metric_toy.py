"""A disentanglement metric on a toy representation.

The observations of :class:`gwrep.data.DummyFactorData` are its factors, so a representation
is any function of them. Two representations of the same four factors: one keeps each factor
on its own code (plus two pure-noise codes), the other is the same codes mixed by a random
rotation. DCI (Eastwood & Williams 2018, disentanglement_lib's definition) reads the
difference off the importance matrix R: one code per factor against importance spread over
every code; MIG (Chen et al. 2018) agrees.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from _output import figure_path  # noqa: E402
from gwrep.data import DummyFactorData  # noqa: E402
from gwrep.eval.metrics import compute_dci_importance, compute_mig  # noqa: E402

path = figure_path("metric_toy", __doc__.splitlines()[0])
data = DummyFactorData(factor_sizes=(4, 5, 6, 8), factor_names=("shape", "scale", "angle", "x"))
rng = np.random.default_rng(0)
rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))  # a random orthogonal mixing of the 6 codes


def disentangled(x: np.ndarray) -> np.ndarray:
    """(N, 4, 1, 1) observations -> (N, 6) codes: each factor on one code, then two noise codes."""
    factors = x.reshape(len(x), -1)
    noise = np.random.default_rng(len(x)).normal(scale=0.05, size=(len(x), 6))
    return np.concatenate([factors, np.zeros((len(x), 2))], axis=1) + noise


def entangled(x: np.ndarray) -> np.ndarray:
    """The same codes, rotated: the information is all there, but spread over every code."""
    return disentangled(x) @ rotation


fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, represent in zip(axes, (disentangled, entangled)):
    scores, importance = compute_dci_importance(represent, data, num_train=2000, num_test=1000,
                                                importance="random_forest", seed=0)
    mig = compute_mig(represent, data, num_train=2000, seed=0)["discrete_mig"]
    print(f"{represent.__name__:>12}: DCI disentanglement {scores['disentanglement']:.2f}, "
          f"completeness {scores['completeness']:.2f}, informativeness {scores['informativeness_test']:.2f}; "
          f"MIG {mig:.2f}")
    ax.imshow(importance, cmap="Greens", vmin=0)
    ax.set_xticks(range(len(data.factor_names)), data.factor_names)
    ax.set_yticks(range(importance.shape[0]), [f"z{i}" for i in range(importance.shape[0])])
    ax.set_xlabel("factor")
    ax.set_ylabel("code")
    ax.set_title(f"{represent.__name__}: D = {scores['disentanglement']:.2f}, "
                 f"C = {scores['completeness']:.2f}, MIG = {mig:.2f}")
fig.suptitle("DCI importance matrix R (code x factor)")
fig.tight_layout()
fig.savefig(path, dpi=90)
print(f"wrote {path}")
