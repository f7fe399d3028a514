"""The width of a posterior from how far this survey's data disagree with the model (pure math on arrays).

The grid search tempers every observation's log-likelihood by a fixed β = bin / 5 s (model errors of
neighbouring observations are correlated) with a model-error scale α·μ fixed in advance. A survey whose data
disagree with the model more than that — a world unlike the model's, a plume narrower or more intermittent than
assumed — then gets a posterior too narrow for its error. Here the misfit of the accepted source's most probable
plume is measured on the observations the plume reaches (predicted above one noise σ, or read above three):

- **overdispersion** s = median |z| / 0.741, z the residuals in units of the likelihood's own scale
  √(v + (α μ)²) (0.741 is the median of |t₄|): s > 1 means the residuals are wider than the model allows;
- **serial correlation** ρ, the lag-1 autocorrelation of z between consecutive observations of one platform:
  n correlated residuals carry the information of n (1 − ρ)/(1 + ρ) independent ones.

The calibrated tempering is β' = min(β, (1 − ρ)/(1 + ρ) / s²) — the generalised-Bayes learning rate that matches
the loss's curvature to its variance (Holmes & Walker 2017; Lyddon, Holmes & Walker 2019, for the
loss-likelihood bootstrap it approximates), never sharper than the fixed one. The posterior's shape (its cells,
90 % region, rate interval) is recomputed with β'; its evidence stays the fixed-β one, so acceptance and its
false-alarm rate are unchanged.
"""

from __future__ import annotations

import numpy as np

#: Median of |t| for Student-t with ν = 4 (the likelihood's tail).
MEDIAN_ABS_T4 = 0.741
#: Fewer reached observations than this say nothing about the misfit.
MIN_REACHED = 20


def misfit_tempering(obs, prediction: np.ndarray, beta: float, alpha: float) -> tuple[float, float, float]:
    """(β', s, ρ) from the residuals of ``prediction`` [ppb] at ``obs`` (module docstring)."""
    r, v = obs.enhancement, obs.variance
    mu = np.asarray(prediction, float)
    scale = np.sqrt(v + (alpha * mu) ** 2)
    z = (r - mu) / scale
    sd = np.sqrt(v)
    reached = (mu > sd) | (r > 3 * sd)
    if int(reached.sum()) < MIN_REACHED:
        return beta, 1.0, 0.0
    s = float(np.median(np.abs(z[reached])) / MEDIAN_ABS_T4)
    plat = np.asarray(obs.platform).astype(str)
    order = np.lexsort((obs.time, plat))
    zo, ro, po = z[order], reached[order], plat[order]
    pair = ro[1:] & ro[:-1] & (po[1:] == po[:-1])
    num = float(np.sum(zo[1:][pair] * zo[:-1][pair]))
    den = float(np.sum(zo[ro] ** 2))
    rho = float(np.clip(num / den, 0.0, 0.95)) if den > 0 else 0.0
    b = min(beta, (1.0 - rho) / (1.0 + rho) / max(s, 1e-6) ** 2)
    return float(max(b, 0.01 * beta)), s, rho
