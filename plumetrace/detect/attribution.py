"""Chemical attribution: which class of source most probably produced a plume event.

Each event carries, per channel, the time-integrated enhancement I_c and its standard error s_c (ppb·s,
converted to mole fraction). A class k of the library (:mod:`plumetrace.detect.signatures`) predicts the pattern
I_c = a · m_kc, where m_kc = Σ_s R_cs ρ_ks combines the class's molar emission ratios ρ (primary species = 1,
absent species = 0) with the channel's response R (1 for a selective analyser, 1/RF for a PID), and a > 0 is
the unknown plume strength. The class's emitter-to-emitter variation of ratios (log-normal, ``log_sd``) widens
each channel's variance to s_c² + (a m_kc τ_kc)², and species present only in some emitters (``presence``)
are mixed over. The evidence of a class integrates the likelihood over a log-uniform prior on a. An
``unknown`` alternative gives every channel its own free amplitude (or none); it wins when no class explains
the pattern, and a class is reported only when its posterior probability reaches ``min_probability``
(otherwise "unknown": evidence too weak to say).

References
----------
.. [1] docs/methods.md §10 (enhancement ratios; ethane/methane; illustrative lab signatures).
.. [2] Ramsden, A. E. et al. (2022). Quantifying fossil and biogenic methane emissions using ethane as an
   uncertain tracer. *ACP* 22, 3911–3929 (ratios as uncertain parameters rather than constants).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from plumetrace.detect.instruments import channel_response
from plumetrace.detect.signatures import SourceClass
from plumetrace.numerics import log_sum_exp
from plumetrace.physics.species import SPECIES

UNKNOWN = "unknown"
_A_GRID = np.logspace(-4, 8, 241)  # plume strength a [ppb·s of the primary species]


@dataclass(frozen=True)
class ClassPattern:
    """Expected channel pattern of a class: mixtures over optional species."""

    key: str
    weights: np.ndarray  # (n_combos,)
    means: np.ndarray  # (n_combos, n_channels) expected I per unit a
    taus: np.ndarray  # (n_combos, n_channels) log-sd of the expected value


def class_patterns(classes: dict[str, SourceClass], channel_species: list[str], max_optional: int = 4):
    """Patterns of every class on the measured channels (species of each channel column, e.g. ``ch4``)."""
    out = []
    responses = [channel_response(sp) for sp in channel_species]
    for cls in classes.values():
        ratios = {cls.primary: (1.0, 0.0, 1.0)}
        for sp, r in cls.ratios.items():
            ratios[sp] = (r.median, r.log_sd, r.presence)
        optional = [sp for sp, (_, _, p) in ratios.items() if p < 1.0][:max_optional]
        combos, weights = [], []
        for present in itertools.product((True, False), repeat=len(optional)):
            w = 1.0
            active = {}
            for sp, on in zip(optional, present, strict=True):
                w *= ratios[sp][2] if on else 1 - ratios[sp][2]
                active[sp] = on
            means = np.zeros(len(channel_species))
            taus = np.zeros(len(channel_species))
            for c, resp in enumerate(responses):
                total, var = 0.0, 0.0
                for sp, (median, log_sd, _) in ratios.items():
                    if not active.get(sp, True) or median <= 0 or sp not in resp:
                        continue
                    contrib = resp[sp] * median
                    total += contrib
                    var += (contrib * log_sd) ** 2
                means[c] = total
                taus[c] = np.sqrt(var) / total if total > 0 else 0.0
            combos.append((means, taus))
            weights.append(w)
        out.append(ClassPattern(cls.key, np.array(weights), np.array([m for m, _ in combos]),
                                np.array([t for _, t in combos])))
    return out


def _log_gauss(x, mean, var):
    return -0.5 * ((x - mean) ** 2 / var + np.log(2 * np.pi * var))


def class_log_evidence(integral: np.ndarray, se: np.ndarray, pattern: ClassPattern) -> float:
    """Log p(I | class) with the strength a marginalised over a log-uniform prior on the grid."""
    keep = pattern.weights > 0
    if not np.any(keep):
        return -np.inf
    means, taus = pattern.means[keep], pattern.taus[keep]  # (m, C)
    expected = _A_GRID[:, None, None] * means[None, :, :]  # (g, m, C)
    var = se[None, None, :] ** 2 + (expected * taus[None, :, :]) ** 2
    ll = _log_gauss(integral[None, None, :], expected, var).sum(axis=2)  # (g, m)
    per_combo = log_sum_exp(ll, axis=0) - np.log(_A_GRID.size)
    return log_sum_exp(np.log(pattern.weights[keep]) + per_combo)


def unknown_log_evidence(integral: np.ndarray, se: np.ndarray) -> float:
    """Evidence of the free pattern: each channel independently nothing, or its own amplitude."""
    a = _A_GRID[:, None]
    var = se[None, :] ** 2 + (0.3 * a) ** 2
    with_signal = log_sum_exp(_log_gauss(integral[None, :], a, var), axis=0) - np.log(_A_GRID.size)
    without = _log_gauss(integral, 0.0, se**2)
    return float(np.sum(np.logaddexp(np.log(0.5) + with_signal, np.log(0.5) + without)))


@dataclass(frozen=True)
class Attribution:
    """Posterior over classes for one event."""

    probabilities: dict[str, float]
    label: str
    probability: float


def log_evidences(integral: np.ndarray, se: np.ndarray, patterns: list[ClassPattern]) -> np.ndarray:
    """Log evidence of each class of ``patterns`` and, last, of the unknown alternative (prior-free)."""
    integral = np.asarray(integral, float)
    se = np.maximum(np.asarray(se, float), 1e-12)
    return np.array([class_log_evidence(integral, se, p) for p in patterns] + [unknown_log_evidence(integral, se)])


def posterior(log_ev: np.ndarray, keys: list[str], prior_unknown: float = 0.1,
              class_prior: dict[str, float] | None = None) -> dict[str, float]:
    """Class probabilities from :func:`log_evidences` under a prior (``class_prior``: relative class weights)."""
    weights = np.array([1.0 if class_prior is None else class_prior.get(k, 0.0) for k in keys])
    if weights.sum() <= 0:
        raise ValueError("the class prior gives no class a positive weight")
    weights = (1 - prior_unknown) * weights / weights.sum()
    with np.errstate(divide="ignore"):
        logp = np.concatenate([np.log(weights), [np.log(prior_unknown)]]) + np.asarray(log_ev, float)
    post = np.exp(logp - log_sum_exp(logp))
    return dict(zip(list(keys) + [UNKNOWN], (float(p) for p in post), strict=True))


def attribute(integral: np.ndarray, se: np.ndarray, patterns: list[ClassPattern], prior_unknown: float = 0.1,
              min_probability: float = 0.5, class_prior: dict[str, float] | None = None) -> Attribution:
    """Posterior class probabilities of one event.

    Parameters
    ----------
    integral, se : numpy.ndarray
        Integrated enhancement per channel and its standard error, in mole-fraction units (ppb·s).
    patterns : list of ClassPattern
        From :func:`class_patterns` for the same channels.
    prior_unknown : float
        Prior probability of the unknown alternative; the classes share the rest (uniformly unless
        ``class_prior`` gives relative weights).
    min_probability : float
        Report a class only at or above this posterior; otherwise the label is ``unknown``.
    """
    probs = posterior(log_evidences(integral, se, patterns), [p.key for p in patterns], prior_unknown, class_prior)
    return label_of(probs, min_probability)


#: The largest molar rate of a site is scaled to this before :func:`attribute_rates` (the strength prior is
#: log-uniform on 10⁻⁴ … 10⁸; until session 13 it was scaled to 10⁹, beyond the grid, and every class fitted equally
#: badly).
ATTRIBUTION_SCALE = 100.0
#: Relative model error of a fitted molar rate in :func:`attribute_rates` (20 %).
RATE_ATTRIBUTION_ERROR = 0.2


def attribute_rates(rates: dict[str, tuple[float, float]], classes: dict[str, SourceClass]):
    """Class of a located site from its species' emission rates: (label, its probability, all probabilities).

    ``rates``: species → (rate, standard error) [g/s]. Molar rates behave like the integrated enhancements of
    :func:`attribute` (the same plume carries every species), so they are attributed the same way, each with a
    relative model error of :data:`RATE_ATTRIBUTION_ERROR` on top of its standard error.
    """
    if not rates:
        return UNKNOWN, 0.0, {}
    species = list(rates)
    mol = np.array([rates[s][0] / SPECIES[s].molar_mass * 1e-3 for s in species])
    se = np.array([rates[s][1] / SPECIES[s].molar_mass * 1e-3 for s in species])
    scale = ATTRIBUTION_SCALE / max(np.max(mol), 1e-30)
    res = attribute(mol * scale, np.sqrt((se * scale) ** 2 + (RATE_ATTRIBUTION_ERROR * mol * scale) ** 2),
                    class_patterns(classes, species))
    return res.label, res.probability, res.probabilities


def label_of(probs: dict[str, float], min_probability: float = 0.5) -> Attribution:
    """The reported class of a posterior: its most probable class if at least ``min_probability``, else unknown."""
    best = max(probs, key=probs.get)
    label = best if probs[best] >= min_probability else UNKNOWN
    return Attribution(probs, label, probs[best] if label == best else probs[UNKNOWN])


def ratios_pattern(primary: str, ratios: dict[str, float], channel_species: list[str]) -> np.ndarray:
    """Channel pattern of one emitter with known molar ratios to its primary species (per unit strength)."""
    full = {primary: 1.0, **{s: r for s, r in ratios.items() if r > 0}}
    out = np.zeros(len(channel_species))
    for c, sp in enumerate(channel_species):
        resp = channel_response(sp)
        out[c] = sum(resp[s] * r for s, r in full.items() if s in resp)
    return out


def indistinguishable(pattern: np.ndarray, candidate: ClassPattern, factor: float = 3.0) -> bool:
    """Whether an emitter's pattern lies within ``factor`` of a class's pattern in every channel ratio.

    Same channels present and absent, and every ratio of two present channels within the factor, for at
    least one of the class's presence combinations.
    """
    on = pattern > 0
    for means in candidate.means:
        if not np.array_equal(means > 0, on):
            continue
        idx = np.flatnonzero(on)
        if idx.size <= 1:
            return True
        ra = np.log(pattern[idx] / pattern[idx[0]])
        rb = np.log(means[idx] / means[idx[0]])
        if np.all(np.abs(ra - rb) <= np.log(factor)):
            return True
    return False


def equivalent_classes(patterns: list[ClassPattern], factor: float = 3.0) -> dict[str, set[str]]:
    """Classes whose measured patterns differ by less than ``factor`` in every channel ratio.

    Two classes are told apart when a channel is present in one pattern and absent in the other, or when the
    ratio of two channels differs by more than ``factor``. Confusing equivalent classes is not an
    attribution error (the channels cannot separate them).
    """
    mean_pattern = {p.key: np.average(p.means, axis=0, weights=p.weights) for p in patterns}
    groups = {}
    for a, ma in mean_pattern.items():
        groups[a] = {a}
        for b, mb in mean_pattern.items():
            if a == b:
                continue
            if np.array_equal(ma > 0, mb > 0):
                on = np.flatnonzero(ma > 0)
                if on.size <= 1:
                    groups[a].add(b)
                    continue
                ra = np.log(ma[on] / ma[on[0]])
                rb = np.log(mb[on] / mb[on[0]])
                if np.all(np.abs(ra - rb) <= np.log(factor)):
                    groups[a].add(b)
    return groups
