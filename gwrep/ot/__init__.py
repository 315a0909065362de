"""gwrep.ot: the GW-loss engine (torch only, any device, batched over a leading dimension).

One problem family per module; every public name is re-exported here:

- ``sinkhorn``: log-domain Sinkhorn for balanced entropic OT (:func:`sinkhorn_log`).
- ``gromov``: entropic Gromov-Wasserstein between cost matrices, POT's signatures and values
  (:func:`entropic_gromov_wasserstein`, :func:`entropic_gromov_wasserstein2`).
- ``points``: the fast path for point clouds under squared Euclidean costs,
  O(nm(d + k)) per iteration (:func:`gromov_wasserstein_points`).
- ``gw_solver``: the projected-gradient loop both share, and its result object.
- ``gwae``: GWAE's sample estimator (:func:`gwae_gw_loss`) and the coupling-based GW loss
  between a data batch and a latent batch (:func:`coupled_gw_loss`).
- ``divergences``: Sinkhorn divergence through geomloss and IMQ-kernel MMD.
- ``benchmark``: gwrep against POT (``gwrep bench gw``).

Solvers return plans and values with the inputs' dtype and device; value functions are
differentiable by the envelope theorem; bad input raises ValueError naming the problem;
a solver that stops at its iteration limit warns with :class:`ConvergenceWarning`.
Solvers take float32 or float64 and refuse float16 / bfloat16 (:func:`gwrep.ot.utils.check_precision`);
the GWAE losses compute half-precision input in float32. ``epsilon`` is in the units of the costs,
as POT's: scale costs to about [0, 1].
"""
from gwrep.ot.divergences import mmd_imq, sinkhorn_divergence
from gwrep.ot.gromov import entropic_gromov_wasserstein, entropic_gromov_wasserstein2
from gwrep.ot.gw_solver import GWResult
from gwrep.ot.gwae import coupled_gw_loss, gwae_gw_loss
from gwrep.ot.points import gromov_wasserstein_points
from gwrep.ot.sinkhorn import SinkhornResult, sinkhorn_log
from gwrep.ot.utils import ConvergenceWarning

__all__ = [
    "sinkhorn_log",
    "SinkhornResult",
    "entropic_gromov_wasserstein",
    "entropic_gromov_wasserstein2",
    "gromov_wasserstein_points",
    "GWResult",
    "gwae_gw_loss",
    "coupled_gw_loss",
    "sinkhorn_divergence",
    "mmd_imq",
    "ConvergenceWarning",
]
