"""Gromov-Wasserstein between two point clouds, and its plan.

GW compares metric spaces, not positions: a spiral in the plane and the same spiral turned,
bent out of the plane into R^3 and shuffled have no common coordinates, yet their
squared-distance matrices nearly agree, so the GW plan matches each point to its twin. The
fast path :func:`gwrep.ot.gromov_wasserstein_points` never forms the n x n costs; its value
is checked against the dense solver :func:`gwrep.ot.entropic_gromov_wasserstein2` on the
same costs (which takes POT's signature and gives POT's value).
"""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from _output import figure_path  # noqa: E402
from gwrep.ot import entropic_gromov_wasserstein2, gromov_wasserstein_points  # noqa: E402

path = figure_path("ot_point_clouds", __doc__.splitlines()[0])
torch.manual_seed(0)
n = 150
t = torch.linspace(0.0, 1.0, n, dtype=torch.float64)  # position along the spiral, the colour below
radius, angle = 0.3 + t, 3.0 * math.pi * t
X = torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1)  # (n, 2)

# The same spiral, turned in the plane, lifted onto a gentle bump in R^3, with a little noise,
# its points in another order.
turn = torch.tensor([[0.6, -0.8], [0.8, 0.6]], dtype=torch.float64)
planar = X @ turn.T
lift = 0.15 * torch.sin(2.0 * planar[:, :1])
order = torch.randperm(n)
Y = (torch.cat([planar, lift], dim=1) + 0.01 * torch.randn(n, 3, dtype=torch.float64))[order]

scale_x, scale_y = torch.cdist(X, X).max(), torch.cdist(Y, Y).max()  # unit diameter: epsilon is in cost units
X, Y = X / scale_x, Y / scale_y
res = gromov_wasserstein_points(X, Y, epsilon=5e-3, inner_max_iter=5000)
dense = entropic_gromov_wasserstein2(torch.cdist(X, X) ** 2, torch.cdist(Y, Y) ** 2, epsilon=5e-3, inner_max_iter=5000)
matched = res.plan.argmax(dim=1)  # for each point of X, its heaviest partner in Y
hits = (order[matched] == torch.arange(n)).double().mean().item()
print(f"GW value, fast path {res.value.item():.6f}; dense solver {dense.item():.6f}")
print(f"converged: {bool(res.converged)} after {int(res.n_iter)} iterations; "
      f"{hits:.0%} of the points matched to their own twin")

fig = plt.figure(figsize=(12, 4))
ax = fig.add_subplot(1, 3, 1)
ax.scatter(X[:, 0], X[:, 1], c=t, cmap="viridis", s=12)
ax.set_title("X: a spiral in R^2")
ax.set_aspect("equal")
ax = fig.add_subplot(1, 3, 2, projection="3d")
colour = (res.plan.T @ t) / res.plan.sum(dim=0)  # each point of Y gets the mean colour of its partners
ax.scatter(Y[:, 0], Y[:, 1], Y[:, 2], c=colour, cmap="viridis", s=12, vmin=0, vmax=1)
ax.view_init(elev=50, azim=-70)
ax.set_box_aspect((1, 1, 0.35))
ax.set_zticks([])
ax.set_title("Y: turned, bent into R^3, shuffled;\ncoloured through the plan")
ax = fig.add_subplot(1, 3, 3)
inverse = torch.argsort(order)  # columns in the spiral's order: a matched plan is diagonal
ax.imshow(res.plan[:, inverse], cmap="magma_r", aspect="auto")
ax.set_title(f"plan T (n = {n}), GW = {res.value.item():.4f}")
ax.set_xlabel("point of Y (spiral order)")
ax.set_ylabel("point of X")
fig.tight_layout()
fig.savefig(path, dpi=90)
print(f"wrote {path}")
