"""gwrep.ot: the GW-loss engine (torch only, any device, batched over a leading dimension).

One problem family per module; every public name is re-exported here:

- ``sinkhorn``: log-domain Sinkhorn for balanced entropic OT (:func:`sinkhorn_log`).
- ``gromov``: entropic Gromov-Wasserstein between cost matrices, POT's signatures, values and
  conventions (:func:`entropic_gromov_wasserstein`, :func:`entropic_gromov_wasserstein2`).
- ``points``: the fast path for point clouds under squared Euclidean costs,
  O(nm(d + k)) per iteration (:func:`gromov_wasserstein_points`).
- ``gw_solver``: the projected-gradient loop both share, its checks, its result object and the
  differentiable value in two modes (implicit differentiation or the envelope theorem).
- ``gwae``: GWAE's sample estimator (:func:`gwae_gw_loss`) and the coupling-based GW loss
  between a data batch and a latent batch (:func:`coupled_gw_loss`).
- ``divergences``: Sinkhorn divergence through geomloss and IMQ-kernel MMD.

Solvers return plans and values with the inputs' dtype and device, and numpy arrays for numpy
inputs; a value's autograd gradient is the derivative of that value (the GW solvers' ``objective``
picks which value: POT's GW loss of the entropic plan or the entropic optimum); bad input
raises ValueError naming the problem; a result that cannot be trusted (an iteration limit hit,
marginals off, a plan stuck at its start) warns with :class:`ConvergenceWarning` and says so on
the result, and a non-finite plan raises FloatingPointError. Solvers take float32 or float64 and
refuse float16 / bfloat16 (:func:`gwrep.ot.utils.check_precision`); the GWAE losses compute
half-precision input in float32. ``epsilon`` is in the units of the costs, as POT's: scale costs
to about [0, 1]. The benchmark against POT and ott-jax is :mod:`gwrep.bench.gw`.
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
