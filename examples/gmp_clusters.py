"""The Gaussian-mixture prior (GMP) and its clusters.

GWAE's clustering meta-prior (Nakagawa et al. 2023, Sec. 4.2) draws a component c, then
z = BN(mu_c + L_c eps). In eval mode the BatchNorm is a fixed affine map, so the prior has an
exact density (:meth:`GaussianMixturePrior.log_prob`) and a posterior p(c | z)
(:meth:`GaussianMixturePrior.posterior`), which is how :meth:`GWAE.component_posterior`
clusters a model's codes. Here the prior alone is fitted by maximum likelihood to three
clusters of unequal size (60 / 30 / 10 %) standing in for codes; its mixing weights, its
samples and the clusters of p(c | z) are compared with the truth (adjusted Rand index,
scikit-learn).
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

from _output import figure_path  # noqa: E402
from gwrep.priors import GaussianMixturePrior  # noqa: E402

path = figure_path("gmp_clusters", __doc__.splitlines()[0])
torch.manual_seed(0)
centres = torch.tensor([[-2.0, 0.0], [1.5, 1.5], [1.5, -1.5]])
share = torch.tensor([0.6, 0.3, 0.1])
label = torch.multinomial(share, 3000, replacement=True)
data = centres[label] + 0.35 * torch.randn(3000, 2)
data = (data - data.mean(0)) / data.std(0)  # the prior ends in a BatchNorm: standardised codes


prior = GaussianMixturePrior(2, num_components=3).eval()  # eval: BN is the fixed map of its running stats
optimizer = torch.optim.Adam(prior.parameters(), lr=0.05)
for step in range(400):
    loss = -prior.log_prob(data).mean()  # negative log-likelihood of the whole set
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

with torch.no_grad():
    z, c = prior.sample(1500, generator=torch.Generator().manual_seed(2), return_component=True)
    cluster = prior.posterior(data).argmax(1)
# Components are numbered arbitrarily: name each after the true cluster most of its points belong to.
names = torch.tensor([torch.bincount(label[cluster == k], minlength=3).argmax() for k in range(3)])
weights = prior.mixing_weights.detach()[torch.argsort(names)]
ari = adjusted_rand_score(label.numpy(), cluster.numpy())
print(f"mean log-likelihood {-loss.item():.3f}; mixing weights {[round(w, 3) for w in weights.tolist()]} "
      f"(data: 0.6, 0.3, 0.1); adjusted Rand index of argmax p(c | z) against the true clusters: {ari:.3f}")

fig, axes = plt.subplots(1, 3, figsize=(13, 5), sharex=True, sharey=True)
grid = torch.stack(torch.meshgrid(torch.linspace(-3, 3, 200), torch.linspace(-3, 3, 200), indexing="xy"), -1)
with torch.no_grad():
    region = names[prior.posterior(grid.reshape(-1, 2)).argmax(1)].reshape(200, 200)
axes[0].scatter(data[:, 0], data[:, 1], c=label, cmap="tab10", vmin=0, vmax=9, s=3)
axes[0].set_title("data: three clusters, 60 / 30 / 10 %")
axes[1].scatter(z[:, 0], z[:, 1], c=names[c], cmap="tab10", vmin=0, vmax=9, s=3)
axes[1].set_title("GMP samples by component c\nmixing weights " + " / ".join(f"{w:.2f}" for w in weights.tolist()))
axes[2].contourf(grid[..., 0], grid[..., 1], region, levels=np.arange(-0.5, 3), colors=plt.get_cmap("tab10").colors[:3], alpha=0.2)
axes[2].scatter(data[:, 0], data[:, 1], c=names[cluster], cmap="tab10", vmin=0, vmax=9, s=3)
axes[2].set_title(f"data clustered by argmax p(c | z)\nadjusted Rand index {ari:.2f}")
for ax in axes:
    ax.set_xlim(-3, 3)
    ax.set_ylim(-3, 3)
    ax.set_aspect("equal")
fig.tight_layout()
fig.savefig(path, dpi=90)
print(f"wrote {path}")
