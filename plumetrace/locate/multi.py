"""Simultaneous sources of one gas, found jointly where the data can tell them apart (pure math on arrays).

The one-at-a-time search (explain the strongest, subtract it, re-test) can fail when two plumes overlap in the
data: one source far upwind with a plume wide enough to half-explain both — the likelihood's model error
(scale ∝ the prediction) makes being roughly right everywhere cheaper than being exactly right on one plume and
missing the other. Here every pair of cells of the coarse lattice is screened by the weighted least-squares misfit
of two sources there (closed form from the Gram matrix of the cells' unit predictions), and the best pairs are
scored with both sources present:

    ℓ(pair) = β Σ_i t_ν(r_i − Q₁g₁ᵢ − Q₂g₂ᵢ; v_i + (α μ_i)²)

with (Q₁, Q₂) ≥ 0 by weighted non-negative least squares on the unit predictions of the central configuration
(the same Student-t likelihood, model error and tempering as the grid search, without the meander blocks), and
against the same score of the one-at-a-time solution. A pair that beats it by the acceptance threshold seeds
two sources, which backfitting then re-locates on the full grid (each with the other explained away).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from plumetrace.locate.grid import ALPHA, NU, subset, unit_predictions
from plumetrace.locate.posterior import lattice

#: The pair search runs when this many observations stand this many σ above the sequential sources' plumes.
UNEXPLAINED_SIGMA = 5.0
UNEXPLAINED_MIN = 5


def _t_loglik(r: np.ndarray, var: np.ndarray, nu: float = NU) -> float:
    return float(np.sum(-0.5 * (nu + 1.0) * np.log1p(r * r / (nu * var)) - 0.5 * np.log(var)))


def score_sources(obs, preds: list[np.ndarray], beta: float, alpha: float = ALPHA) -> tuple[float, np.ndarray]:
    """(tempered log-likelihood, rates ≥ 0) of sources with unit predictions ``preds`` [ppb per g/s] at ``obs``."""
    if not preds:
        return beta * _t_loglik(obs.enhancement, obs.variance), np.zeros(0)
    G = np.column_stack(preds)
    w = 1.0 / np.sqrt(obs.variance)
    q, _ = nnls(G * w[:, None], obs.enhancement * w)
    mu = G @ q
    return beta * _t_loglik(obs.enhancement - mu, obs.variance + (alpha * mu) ** 2), q


def best_pair(obs, cells: np.ndarray, predict_many, beta: float, separation: float, screen: int = 8,
              chunk: int = 20_000, anchors: np.ndarray | None = None, alpha: float = ALPHA):
    """The best pair of sources among ``cells`` (n, 2) [m]: ((cell a, cell b), score, rates) or None.

    ``predict_many(obs, east, north)`` gives the unit predictions (observations, cells). Every pair is screened by
    its weighted least-squares misfit — from the Gram matrix K = G W Gᵀ of the cells' unit predictions G and
    t = G W r (accumulated over chunks of ``chunk`` observations: memory grows with the cells, not the survey),
    the two-source residual is rᵀWr − tᵀ M⁻¹ t with M the pair's 2 × 2 block of K — keeping pairs at least
    ``separation`` apart with both rates positive; the ``screen`` best are scored with the Student-t likelihood
    (:func:`score_sources`, relative model error ``alpha``). ``anchors`` (bool per cell): only pairs with at
    least one of them are screened, and only their rows of K are computed (the cost falls with their share of the
    cells).
    """
    n = cells.shape[0]
    rows = np.arange(n) if anchors is None else np.flatnonzero(anchors)
    if rows.size == 0:
        return None
    K = np.zeros((rows.size, n))  # the anchors' rows of the Gram matrix
    diag = np.zeros(n)
    t = np.zeros(n)
    for a0 in range(0, len(obs), chunk):
        keep = np.zeros(len(obs), dtype=bool)
        keep[a0:a0 + chunk] = True
        sub, _ = subset(obs, None, keep)
        G = predict_many(sub, cells[:, 0], cells[:, 1]).T  # (cells, observations)
        w = 1.0 / sub.variance
        K += (G[rows] * w[None, :]) @ G.T
        diag += np.einsum("ij,ij,j->i", G, G, w)
        t += G @ (w * sub.enhancement)
    live = diag > 0
    pos = np.full(n, -1)
    pos[rows] = np.arange(rows.size)
    a, b = np.meshgrid(rows[live[rows]], np.flatnonzero(live), indexing="ij")
    a, b = a.ravel(), b.ravel()
    pair = (a != b) & ~((pos[b] >= 0) & (b < a))  # each unordered pair once
    a, b = a[pair], b[pair]
    far = np.hypot(cells[a, 0] - cells[b, 0], cells[a, 1] - cells[b, 1]) >= separation
    a, b = a[far], b[far]
    if a.size == 0:
        return None
    kaa, kbb, kab = diag[a], diag[b], K[pos[a], b]
    det = kaa * kbb - kab * kab
    ok = det > 1e-12 * np.maximum(kaa * kbb, 1e-300)
    a, b, kaa, kbb, kab, det = a[ok], b[ok], kaa[ok], kbb[ok], kab[ok], det[ok]
    qa = (kbb * t[a] - kab * t[b]) / det
    qb = (kaa * t[b] - kab * t[a]) / det
    pos = (qa > 0) & (qb > 0)
    if not pos.any():
        return None
    gain = (qa * t[a] + qb * t[b])[pos]  # tᵀ M⁻¹ t: the misfit the pair removes
    a, b = a[pos], b[pos]
    best = None
    for k in np.argsort(-gain)[:screen]:
        ia, ib = a[k], b[k]
        g = predict_many(obs, cells[[ia, ib], 0], cells[[ia, ib], 1])
        s, q = score_sources(obs, [g[:, 0], g[:, 1]], beta, alpha)
        if np.all(q > 0) and (best is None or s > best[1]):
            best = ((tuple(cells[ia]), tuple(cells[ib])), s, q)
    return best


def joint_pair(search, obs, mine: list, height: float, code: float, subtract_error: float) -> list:
    """The channel's sources as a jointly found pair where that beats the one-at-a-time ones, else ``mine``.

    Only when the sequential sources leave plume unexplained (at least :data:`UNEXPLAINED_MIN` observations above
    :data:`UNEXPLAINED_SIGMA` after they are subtracted, with their model error) is the pair screened, on the
    coarse lattice of ``search`` (the central configuration: no wind offset, stability
    ``code``, the first σ family, release ``height`` [m]; pairs with a source that can reach an unexplained
    observation); when it scores at least the evidence threshold above
    the sequential solution, each of its sources is searched on the full grid with the other's plume explained
    away (``subtract_error``), and both must clear the threshold.
    """
    residual = obs
    for p in mine:
        residual = search.subtract(residual, p, subtract_error)
    z = residual.enhancement / np.sqrt(residual.variance)
    if int(np.sum(z > UNEXPLAINED_SIGMA)) < UNEXPLAINED_MIN:
        return mine  # the sequential sources explain the data: no second plume is left to pair
    m, c = search.margin, search.coarse_resolution
    cx, cy = lattice(obs.east.min() - m, obs.east.max() + m, obs.north.min() - m, obs.north.max() + m, c)

    def predict_many(o, e, n):
        return unit_predictions(o, e, n, height, 0.0, code, search.sigma_models[0], search.mixing_height)

    # a pair that leaves the unexplained plume unexplained cannot settle it: one of its sources must be able to
    # produce one of those observations' residual enhancements at the largest rate of the grid
    unexplained = z > UNEXPLAINED_SIGMA
    sub, _ = subset(residual, None, unexplained)
    reach = predict_many(sub, cx, cy) * float(search.q_grid[-1]) >= sub.enhancement[:, None]
    pair = best_pair(obs, np.column_stack((cx, cy)), predict_many, search.beta, search.exclusion_radius,
                     anchors=reach.any(axis=0), alpha=search.model_error)
    sequential, _ = score_sources(obs, [search.config_prediction(obs, p) for p in mine], search.beta,
                                  search.model_error)
    if pair is None or pair[1] - sequential < search.min_log_bayes:
        return mine
    (a, b), _, q = pair
    seeded = []
    for k, other in enumerate((b, a)):
        g = predict_many(obs, np.array([other[0]]), np.array([other[1]]))[:, 0]
        residual = search.subtract_prediction(obs, q[1 - k] * g, subtract_error)
        post = search.posterior(residual, exclude=[(other[0], other[1])])
        if post is None or post.log_bayes < search.min_log_bayes:
            return mine
        seeded.append(post)
    return seeded


def backfit(search, obs, posts: list, subtract_error: float) -> list:
    """Simultaneous sources of one gas refitted jointly: each re-located with the others' plumes explained away.

    The sequential search finds the strongest source first while the second's plume still adds to the data, which
    pulls the first towards it; backfitting (Hastie & Tibshirani 1990, §5.2) re-locates each source in turn on the
    observations with every other source's current plume subtracted (its variance inflated as in the search),
    away from them, and keeps the refit when it still clears the evidence threshold. Returns the sources, in order.
    """
    posts = list(posts)
    for k in range(len(posts)):
        rest = [p for j, p in enumerate(posts) if j != k]
        residual = obs
        for p in rest:
            residual = search.subtract(residual, p, subtract_error)
        refit = search.posterior(residual, exclude=[(p.east, p.north) for p in rest])
        if refit is not None and refit.log_bayes >= search.min_log_bayes:
            posts[k] = refit
    return posts
