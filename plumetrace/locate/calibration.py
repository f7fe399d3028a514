"""Credible regions that widen when the survey's data disagree with the model: the bagged posterior (pure math).

The grid posterior tempers every observation's log-likelihood by a fixed β = bin / 5 s (the model errors of
neighbouring observations are correlated) with a model-error scale α·μ fixed in advance. Both constants were
chosen on the project's own simulator; in a world the model describes less well — a plume narrower or more
intermittent than the averaged one, a transport delay, a sensor lag — the crossings of one survey disagree
about where the source is by more than that posterior allows, and its 90 % region holds the truth far less
often than nine times in ten.

The **bagged posterior** (BayesBag; Bühlmann 2014; Huggins & Miller 2023) measures that disagreement on the
survey itself: the observations are cut into blocks (``block_s`` of one platform, longer than the plume's error
correlation, so that the blocks are roughly exchangeable), each of R replicates re-weighs the blocks with
Bayesian-bootstrap weights (Dirichlet(1, …, 1) × number of blocks: mean 1, Rubin 1981), the posterior is
computed under each replicate's weighted log-likelihood, and the bagged posterior is their average:

    π_bag(θ) = (1/R) Σ_r π(θ | w_r),   π(θ | w) ∝ π(θ) exp(β Σ_b w_b ℓ_b(θ)).

With N blocks its covariance is about J⁻¹/(βN) + J⁻¹ I J⁻¹ / N (Huggins & Miller 2023, Theorem 1), J the
curvature of the per-block log-likelihood and I the variance of its gradient across blocks: the tempered
posterior's own width plus the sandwich (misspecification-robust) covariance of the estimate — the spread of
the loss-likelihood bootstrap (Lyddon, Holmes & Walker 2019). Where the blocks agree (I ≈ βJ) the region widens
by about √2 at most; where they disagree (a world unlike the model's) it widens as far as they disagree. The
weighted log-likelihoods of all replicates come out of one pass of the likelihood kernel
(:func:`plumetrace.locate.grid.grid_log_likelihood` with ``block_weights``).

References
----------
.. [1] Huggins, J. H. and Miller, J. W. (2023). Reproducible model selection using bagged posteriors.
   *Bayesian Analysis* 18(1), 79–104. doi:10.1214/21-BA1301
.. [2] Bühlmann, P. (2014). Discussion of Big Bayes Stories and BayesBag. *Statistical Science* 29(1), 91–94.
.. [3] Lyddon, S. P., Holmes, C. C. and Walker, S. G. (2019). General Bayesian updating and the
   loss-likelihood bootstrap. *Biometrika* 106(2), 465–478.
.. [4] Rubin, D. B. (1981). The Bayesian bootstrap. *Annals of Statistics* 9(1), 130–134.
"""

from __future__ import annotations

import numpy as np

from plumetrace.numerics import log_sum_exp

#: [s] Length of a bootstrap block of one platform: several times the 5 s error-correlation time of the
#: likelihood, so that one plume crossing (with its meander) falls in one block.
BAG_BLOCK_S = 30.0
#: Bootstrap replicates of the bagged posterior.
BAG_REPLICATES = 48


def block_groups(time_s: np.ndarray, platform: np.ndarray, order: np.ndarray, starts: np.ndarray,
                 block_s: float = BAG_BLOCK_S) -> np.ndarray:
    """Bootstrap block of each kernel block: kernel blocks (``order``/``starts``) grouped by platform and time.

    Parameters
    ----------
    time_s : numpy.ndarray
        Observation times [s].
    platform : numpy.ndarray
        Platform of each observation.
    order, starts : numpy.ndarray
        The kernel's blocks (:class:`plumetrace.locate.grid.Meander`): observation indices block after block and
        where each block begins.
    block_s : float
        Bootstrap block length [s].

    Returns
    -------
    numpy.ndarray of int, one per kernel block: consecutive group ids 0 … G − 1 (an empty kernel block gets 0).

    >>> t = np.arange(8) * 10.0
    >>> block_groups(t, np.array(["a"] * 8), np.arange(8), np.arange(9), block_s=30.0).tolist()
    [0, 0, 0, 1, 1, 1, 2, 2]
    """
    t = np.asarray(time_s, float)
    order = np.asarray(order)
    if order.size == 0:
        return np.zeros(starts.size - 1, dtype=np.int64)
    _, pid = np.unique(np.asarray(platform).astype(str), return_inverse=True)
    first = order[np.minimum(starts[:-1], order.size - 1)]  # an observation of each block (empty: the last one)
    key = np.floor((t[first] - t.min()) / max(block_s, 1e-9)).astype(np.int64)
    _, groups = np.unique((pid[first].astype(np.int64) << 40) + key, return_inverse=True)
    return groups.astype(np.int64)


def bootstrap_weights(n_groups: int, n_replicates: int, rng: np.random.Generator) -> np.ndarray:
    """Bayesian-bootstrap weights (replicates × groups): Dirichlet(1, …, 1) scaled to mean 1 (Rubin 1981).

    >>> w = bootstrap_weights(5, 3, np.random.default_rng(0))
    >>> w.shape, bool(np.allclose(w.mean(axis=1), 1.0)), bool((w > 0).all())
    ((3, 5), True, True)
    """
    g = rng.standard_exponential((n_replicates, max(n_groups, 1)))
    return g / g.mean(axis=1, keepdims=True)


def bagged_mass(log_post: np.ndarray) -> np.ndarray:
    """Average of the replicates' normalised posteriors: ``log_post`` (replicates × cells), unnormalised logs.

    >>> bagged_mass(np.log(np.array([[1.0, 0.0 + 1e-300], [1e-300, 1.0]]))).round(3).tolist()
    [0.5, 0.5]
    """
    lp = np.asarray(log_post, float)
    return np.mean(np.exp(lp - log_sum_exp(lp, axis=1)[:, None]), axis=0)
