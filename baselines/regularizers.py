"""Regularisers of the VAE-family baselines, as module-level pure functions.

Each function implements one equation of its paper and is tested against a hand
computation (``tests/test_baselines_regularizers.py``):

- :func:`linear_capacity`, :func:`capacity_penalty`: AnnealedVAE's capacity schedule and
  its ``|KL - C|`` term (Burgess et al. 2018, Sec. 4 and Eq. 8).
- :func:`covariance_of_mean`, :func:`dip_ii_covariance`, :func:`dip_penalty`: DIP-VAE
  (Kumar et al. 2018, Eq. 6 and 7 and Sec. 3).
- :func:`pairwise_log_density`, :func:`log_importance_weights`, :func:`tc_decomposition`:
  the beta-TCVAE decomposition of the KL term and its minibatch estimators MWS and MSS
  (Chen et al. 2018, Eq. 2, Sec. 4.1 and Appendix C).
- :func:`permute_dims`: FactorVAE's Algorithm 1 (Kim & Mnih 2018).

Shapes: ``mean``, ``logvar``, ``z`` are (B, D) for a batch of B codes of D dimensions.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from gwrep.config import check_choice
from gwrep.models.losses import gaussian_log_density

__all__ = [
    "TC_ESTIMATORS",
    "CAPACITY_FORMS",
    "linear_capacity",
    "capacity_penalty",
    "covariance_of_mean",
    "dip_ii_covariance",
    "dip_penalty",
    "pairwise_log_density",
    "log_importance_weights",
    "tc_decomposition",
    "permute_dims",
]

#: Minibatch estimators of log q(z) in beta-TCVAE: weighted sampling and stratified sampling.
TC_ESTIMATORS = ("mws", "mss")

#: Where the absolute value of ``|KL - C|`` is taken: per input (the paper) or on the batch mean (dlib).
CAPACITY_FORMS = ("sample", "batch")


def linear_capacity(step: int | Tensor, c_max: float, iteration_threshold: int) -> float:
    """AnnealedVAE capacity C(step) = min(C_max, C_max * step / T) (Burgess et al. 2018).

    C grows linearly from 0 at step 0 to ``c_max`` nats at step ``iteration_threshold``
    (T) and stays there, as disentanglement_lib's ``AnnealedVAE``.

    >>> [linear_capacity(s, 25.0, 100) for s in (0, 40, 100, 250)]
    [0.0, 10.0, 25.0, 25.0]
    """
    return float(min(c_max, c_max * float(step) / iteration_threshold))


def capacity_penalty(kl: Tensor, capacity: float, form: str = "sample") -> Tensor:
    """``|KL - C|`` on a batch, from per-sample KLs ``kl`` of shape (N,) (Burgess et al. 2018, Eq. 8).

    ``"sample"``: ``mean_i |KL_i - C|`` (the paper); ``"batch"``: ``|mean_i KL_i - C|``
    (disentanglement_lib). Unweighted (gamma is applied by the caller).

    >>> kl = torch.tensor([1.0, 5.0])
    >>> float(capacity_penalty(kl, 3.0, "sample")), float(capacity_penalty(kl, 3.0, "batch"))
    (2.0, 0.0)
    """
    check_choice("capacity_form", form, CAPACITY_FORMS)
    if form == "sample":
        return (kl - capacity).abs().mean()
    return (kl.mean() - capacity).abs()


def covariance_of_mean(mean: Tensor) -> Tensor:
    """Cov_p(x)[mu(x)] estimated on a batch, (D, D): E[mu mu^T] - E[mu] E[mu]^T.

    The biased (divide-by-B) estimate, as disentanglement_lib's ``compute_covariance_z_mean``;
    DIP-VAE-I regularises this matrix (Kumar et al. 2018, Eq. 6).
    """
    centred = mean - mean.mean(0, keepdim=True)  # (B, D)
    return centred.T @ centred / mean.shape[0]  # (D, D)


def dip_ii_covariance(mean: Tensor, logvar: Tensor) -> Tensor:
    """Cov_q(z)[z] = E_p(x)[diag(sigma^2(x))] + Cov_p(x)[mu(x)], (D, D) (Kumar et al. 2018, Eq. 7).

    The law of total covariance for the aggregate posterior of a diagonal-Gaussian
    encoder: the batch mean of the per-sample variances goes on the diagonal only.
    (nmichlo/disent takes ``torch.diag`` of the (B, D) variance matrix, which gives a
    vector of min(B, D) entries, and adds its mean as one scalar to *every* entry;
    disentanglement_lib averages B diagonal (D, D) matrices, which is correct but costs
    O(B D^2) memory. Here it is one ``diag`` of the mean variance.)
    """
    return covariance_of_mean(mean) + torch.diag(logvar.exp().mean(0))


def dip_penalty(cov: Tensor, lambda_od: float, lambda_d: float) -> Tensor:
    """DIP regulariser lambda_od sum_{i!=j} C_ij^2 + lambda_d sum_i (C_ii - 1)^2 (Kumar et al. 2018, Eq. 6).

    ``cov`` is (D, D): :func:`covariance_of_mean` (DIP-VAE-I) or :func:`dip_ii_covariance`
    (DIP-VAE-II). Returns a scalar.

    >>> dip_penalty(torch.tensor([[2.0, 0.5], [0.5, 1.0]]), lambda_od=1.0, lambda_d=10.0)
    tensor(10.5000)
    """
    diag = torch.diagonal(cov)
    off_diagonal = cov - torch.diag(diag)
    return lambda_od * off_diagonal.pow(2).sum() + lambda_d * (diag - 1.0).pow(2).sum()


def pairwise_log_density(z: Tensor, mean: Tensor, logvar: Tensor) -> Tensor:
    """log q(z_i,d | x_j) for every pair of batch members, (B, B, D).

    Entry [i, j, d] is the log-density of the d-th coordinate of sample i under the
    encoder Gaussian of input j (Chen et al. 2018, Sec. 4.1).
    """
    return gaussian_log_density(z[:, None, :], mean[None, :, :], logvar[None, :, :])


def log_importance_weights(batch_size: int, dataset_size: int, estimator: str, *,
                           dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> Tensor:
    """Log-weights w_ij, (B, B), of the estimate sum_j w_ij q(z_i | x_j) of log q(z_i) (Chen et al. 2018).

    ``"mws"`` (minibatch weighted sampling, Sec. 4.1): every w_ij = 1 / (N B), the paper's
    weights. Their rows sum to 1 / N, not 1, so under MWS sum_j w_ij q(z_i|x_j) is
    q(z_i) / N up to the estimate (the batch average (1 / B) sum_j q(z_i|x_j) is the
    estimate of q(z_i) itself), and every log q(z_i) and log q(z_i,d) lies log N below it.
    The constants have no gradient, so training is unaffected, but the logged values of
    :func:`tc_decomposition` under MWS are shifted from the batch-average ones: mutual
    information up by log N, total correlation up by (D - 1) log N, dimension-wise KL
    down by D log N (their sum, the KL estimate, is unchanged). Read them as relative
    values; MSS's are on the scale of the true quantities.
    ``"mss"`` (minibatch stratified sampling, Appendix C): with M = B - 1,
    w_ii = 1 / N for the sample's own input, w_i,i+1 (cyclically) = (N - M) / (N M)
    for one other member standing for the data outside the batch, and 1 / M for the
    remaining B - 2. Each row sums to one and every input's expected weight is 1 / N, so
    the estimate of q(z_i) is unbiased. The authors' code (``rtqichen/beta-tcvae``,
    ``log_importance_weight_matrix``) writes these values with a stride of B instead of
    B + 1, which puts 1 / N on column 0 rather than on the diagonal (their PR #1); here
    they sit where the appendix puts them.

    >>> log_importance_weights(3, 10, "mss").exp()
    tensor([[0.1000, 0.4000, 0.5000],
            [0.5000, 0.1000, 0.4000],
            [0.4000, 0.5000, 0.1000]])
    """
    check_choice("estimator", estimator, TC_ESTIMATORS)
    if batch_size < 2:
        raise ValueError(f"the total-correlation estimators need a batch of at least 2 codes, got {batch_size}")
    if dataset_size < batch_size:
        raise ValueError(f"dataset_size ({dataset_size}) must be at least the batch size ({batch_size})")
    n, b = float(dataset_size), batch_size
    if estimator == "mws":
        return torch.full((b, b), -math.log(n * b), dtype=dtype, device=device)
    m = b - 1
    weights = torch.full((b, b), 1.0 / m, dtype=dtype, device=device)
    rows = torch.arange(b, device=device)
    weights[rows, (rows + 1) % b] = (n - m) / (n * m)
    weights[rows, rows] = 1.0 / n
    return weights.log()


def tc_decomposition(z: Tensor, mean: Tensor, logvar: Tensor, dataset_size: int,
                     estimator: str = "mws") -> dict[str, Tensor]:
    """The three parts of the beta-TCVAE KL decomposition, batch means (Chen et al. 2018, Eq. 2).

    .. math::

        E_p(n) KL(q(z|n) || p(z)) = I_q(z; n) + KL(q(z) || prod_d q(z_d))
                                    + sum_d KL(q(z_d) || p(z_d))

    estimated on a batch of samples z_i ~ q(z|x_i) as
    ``mutual_information`` = mean_i [log q(z_i|x_i) - log q(z_i)],
    ``total_correlation`` = mean_i [log q(z_i) - sum_d log q(z_i,d)],
    ``dimensionwise_kl`` = mean_i [sum_d log q(z_i,d) - log p(z_i,d)],
    where log q(z_i) = logsumexp_j (log w_ij + sum_d log q(z_i,d|x_j)) and
    log q(z_i,d) = logsumexp_j (log w_ij + log q(z_i,d|x_j)) with the weights of
    :func:`log_importance_weights` (``estimator`` "mws" or "mss"), N = ``dataset_size``,
    and p = N(0, I). The three parts sum to the one-sample estimate of the KL.

    disentanglement_lib's ``total_correlation`` is the MWS estimate without the
    log(N B) terms, i.e. off by the constant (D - 1) log(N B); it has no gradient, so
    training is the same, but the logged value differs.
    """
    b = z.shape[0]
    log_w = log_importance_weights(b, dataset_size, estimator, dtype=z.dtype, device=z.device)  # (B, B)
    log_qz_pairs = pairwise_log_density(z, mean, logvar)  # (B, B, D)
    log_qz = torch.logsumexp(log_w + log_qz_pairs.sum(2), dim=1)  # (B,)
    log_qz_marginals = torch.logsumexp(log_w[:, :, None] + log_qz_pairs, dim=1)  # (B, D)
    log_qz_given_x = gaussian_log_density(z, mean, logvar).sum(1)  # (B,)
    log_pz = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z))  # (B, D)
    return {
        "mutual_information": (log_qz_given_x - log_qz).mean(),
        "total_correlation": (log_qz - log_qz_marginals.sum(1)).mean(),
        "dimensionwise_kl": (log_qz_marginals - log_pz).sum(1).mean(),
    }


def permute_dims(z: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Shuffle each latent dimension independently across the batch, (B, D) (Kim & Mnih 2018, Alg. 1).

    Every column of the result is a permutation of the same column of ``z``, so each
    marginal q(z_d) is kept while the dependence between dimensions is broken: the
    result is a sample of prod_d q(z_d).
    """
    b, d = z.shape
    perms = torch.argsort(torch.rand(b, d, generator=generator, device=z.device), dim=0)  # (B, D)
    return torch.gather(z, 0, perms)
