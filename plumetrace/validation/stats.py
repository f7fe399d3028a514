"""Standard air-quality model evaluation statistics (Chang & Hanna 2004).

References
----------
.. [1] Chang, J. C. and Hanna, S. R. (2004). Air quality model performance evaluation. *Meteorology and
   Atmospheric Physics* 87, 167–196. doi:10.1007/s00703-003-0070-7
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class EvaluationStatistics:
    """FB, NMSE, MG, VG and FAC2 of N observed/predicted pairs (Chang & Hanna 2004, eqs. 1–6).

    Attributes
    ----------
    N : int
        Number of pairs.
    FB : float
        Fractional bias (positive: the model under-predicts).
    NMSE : float
        Normalised mean square error.
    MG : float
        Geometric mean bias (> 1: under-prediction).
    VG : float
        Geometric variance (1 is perfect).
    FAC2 : float
        Fraction of predictions within a factor of two of the observations.
    threshold : float
        Lower threshold applied for MG, VG and FAC2 (0 means none).
    """

    N: int
    FB: float
    NMSE: float
    MG: float
    VG: float
    FAC2: float
    threshold: float = 0.0

    def as_dict(self) -> dict:
        """Plain dict for JSON output (NaN becomes None)."""
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in asdict(self).items()}


def evaluation_statistics(observed: ArrayLike, predicted: ArrayLike, threshold: float = 0.0) -> EvaluationStatistics:
    r"""Compute the Chang & Hanna (2004) performance measures.

    Parameters
    ----------
    observed, predicted : array_like
        Paired concentrations Co and Cp (any one unit), ≥ 0.
    threshold : float
        Lower threshold (same unit). For MG and VG, values below it are raised to it (the logarithms
        are undefined at zero); for FAC2 a pair whose two values are both below it counts as agreeing.
        With the default 0, MG and VG use only pairs where both values are positive.

    Returns
    -------
    EvaluationStatistics

    Notes
    -----
    .. math::

        FB = \frac{\overline{C_o} - \overline{C_p}}{0.5(\overline{C_o} + \overline{C_p})},\quad
        NMSE = \frac{\overline{(C_o - C_p)^2}}{\overline{C_o}\,\overline{C_p}},\quad
        MG = \exp(\overline{\ln C_o} - \overline{\ln C_p}),\quad
        VG = \exp\left(\overline{(\ln C_o - \ln C_p)^2}\right),

    and FAC2 is the fraction of pairs with 0.5 ≤ Cp/Co ≤ 2. Chang & Hanna's acceptance criteria for a
    "good" model in field experiments: |FB| < 0.3, NMSE < 1.5 (the review says < 4 for urban), 0.7 < MG <
    1.3, VG < 4, FAC2 ≥ 0.5.

    Examples
    --------
    >>> s = evaluation_statistics([1.0, 2.0, 4.0], [1.0, 1.0, 4.0])
    >>> s.N, round(s.FB, 4), round(s.FAC2, 3)
    (3, 0.1538, 1.0)
    """
    co = np.asarray(observed, dtype=np.float64).ravel()
    cp = np.asarray(predicted, dtype=np.float64).ravel()
    if co.shape != cp.shape:
        raise ValueError(f"observed ({co.size}) and predicted ({cp.size}) differ in length")
    if np.any(~np.isfinite(co)) or np.any(~np.isfinite(cp)) or np.any(co < 0) or np.any(cp < 0):
        raise ValueError("concentrations must be finite and >= 0")
    n = co.size
    if n == 0:
        nan = float("nan")
        return EvaluationStatistics(0, nan, nan, nan, nan, nan, float(threshold))
    mo, mp = co.mean(), cp.mean()
    fb = float((mo - mp) / (0.5 * (mo + mp))) if mo + mp > 0 else float("nan")
    nmse = float(np.mean((co - cp) ** 2) / (mo * mp)) if mo * mp > 0 else float("nan")
    if threshold > 0:
        lo, lp = np.log(np.maximum(co, threshold)), np.log(np.maximum(cp, threshold))
    else:
        keep = (co > 0) & (cp > 0)
        lo, lp = np.log(co[keep]), np.log(cp[keep])
    if lo.size:
        mg = float(np.exp(np.mean(lo - lp)))
        vg = float(np.exp(np.mean((lo - lp) ** 2)))
    else:
        mg = vg = float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = cp / co
    within = (ratio >= 0.5) & (ratio <= 2.0)
    if threshold > 0:
        within |= (co < threshold) & (cp < threshold)
    fac2 = float(np.mean(within))
    return EvaluationStatistics(int(n), fb, nmse, mg, vg, fac2, float(threshold))
