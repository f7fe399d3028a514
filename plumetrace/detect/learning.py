"""Learning from outcomes: per area, the attribution's class prior and the detection threshold.

What partners find on the ground (the outcomes of closed leads) updates two beliefs per area (a tile of the map).
Pure functions; the store adapter is :mod:`plumetrace.leads.learning`.

**Class prior — Dirichlet counts, learnt by EM from every event of the area.** The prior over source classes is
π ~ Dirichlet(α). It starts weak and uniform — one pseudo-observation spread evenly over the K classes
(α_k = ``strength``/K) — which is what the attribution assumes without outcomes. Outcomes label only the events
that became leads, and those were chosen *because* they looked like the target: counting labels alone would
learn the class mix of the leads, not of the area (selection bias). So every attributed event of the area
counts (:func:`fit_class_prior`): α_k = α⁰_k + Σ_i r_ik, where r_ik is the event's class responsibility —
its posterior under the current prior when it has no outcome; a one-hot on c when its lead was *confirmed* as
class c; the posterior with c removed and renormalised when it was a *false positive* for c (an emitter, not
c); nothing when *nothing was found* (no emitter behind it). Prior and responsibilities are iterated to a fixed
point: EM for a Dirichlet–multinomial mixture with partial labels (Dempster, Laird & Rubin 1977; Nigam et al.
2000, *Machine Learning* 39:103, for labelled and unlabelled documents). The prior used by the attribution is
E[π_k] = α_k / Σα. (:func:`update_belief` is the one-lead form of the same update, for the labels alone.)

**Detection threshold — Beta on "a hit is a real emitter".** Of the leads of an area, a fraction r came from a
real emitter (confirmed, false positive — a benign emitter was there — or relocated) and 1 − r from nothing
(*nothing found*: a transient, a sensor artefact). r ~ Beta(a, b) with prior mean ``r0``. The detector's floor
threshold k_min [σ] is right at the prior odds o₀ = r0/(1 − r0). The generalised likelihood ratio of a peak of z
σ against noise is exp(z²/2) (unknown amplitude, Gaussian noise: Kay 1998, *Fundamentals of Statistical Signal
Processing II: Detection Theory*, §6.4), so keeping the posterior odds of a reported hit constant when the area's
prior odds move from o₀ to o_a = E[r]/(1 − E[r]) needs z²/2 to move by ln(o₀/o_a):

    k_a = sqrt(k_min² + 2 ln(o₀ / o_a)),   clipped to [``k_floor``, ``k_ceiling``].

*Duplicate* outcomes carry no information and change nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: The side of an area's tile [degrees of latitude and longitude]: about 1.1 km × 0.7 km at 52° N — a
#: neighbourhood, small enough for its own mix of emitters, large enough to collect outcomes.
AREA_TILE_DEG = 0.01

#: Outcomes and what each observes: (class observation, real emitter?) — None where it says nothing.
OUTCOME_EVIDENCE = {"confirmed": ("is", True), "false_positive": ("is_not", True), "relocated": (None, True),
                    "nothing_found": (None, False), "duplicate": (None, None)}


def area_key(lat: float, lon: float, tile_deg: float = AREA_TILE_DEG) -> str:
    """The key of the tile holding (lat, lon) [degrees], e.g. ``"5210:510"`` (tile row : column)."""
    return f"{math.floor(lat / tile_deg)}:{math.floor(lon / tile_deg)}"


def log_evidences_from_posterior(probabilities: dict[str, float], keys: list[str], prior_unknown: float = 0.1,
                                 class_prior: dict[str, float] | None = None) -> np.ndarray:
    """The log evidences (up to a constant) behind a stored class posterior, given the prior it was made under.

    Inverts :func:`plumetrace.detect.attribution.posterior`: log L_k = log p_k − log w_k. A probability of 0
    is floored at 1e-300 (its evidence is then merely very small). Columns: ``keys``, then unknown.
    """
    w = np.array([1.0 if class_prior is None else float(class_prior.get(k, 0.0)) for k in keys])
    w = (1 - prior_unknown) * w / w.sum()
    w = np.concatenate([w, [prior_unknown]])
    p = np.array([float(probabilities.get(k) or 0.0) for k in keys] + [float(probabilities.get("unknown") or 0.0)])
    with np.errstate(divide="ignore"):
        return np.log(np.maximum(p, 1e-300)) - np.log(np.maximum(w, 1e-300))


@dataclass
class AreaBelief:
    """What the outcomes of one area's leads say: Dirichlet counts per class and Beta counts of real emitters."""

    alpha: dict[str, float]
    real: float
    spurious: float
    outcomes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A JSON-able form."""
        return {"alpha": dict(self.alpha), "real": self.real, "spurious": self.spurious,
                "outcomes": dict(self.outcomes)}

    @classmethod
    def from_dict(cls, d: dict) -> AreaBelief:
        """Inverse of :meth:`to_dict`."""
        return cls(dict(d["alpha"]), float(d["real"]), float(d["spurious"]), dict(d.get("outcomes", {})))


def initial_belief(classes, strength: float = 1.0, r0: float = 0.9, r_strength: float = 10.0) -> AreaBelief:
    """The belief before any outcome: a uniform Dirichlet of total ``strength`` and Beta of mean ``r0``.

    Parameters
    ----------
    classes : iterable of str
        The class keys of the library.
    strength : float
        Pseudo-observations of the class prior (1: one outcome outweighs the prior of its class K-fold).
    r0, r_strength : float
        Prior mean and pseudo-observations of the fraction of leads that come from a real emitter.
    """
    keys = list(classes)
    if not keys or strength <= 0 or not 0 < r0 < 1 or r_strength <= 0:
        raise ValueError("need classes, strength > 0, 0 < r0 < 1 and r_strength > 0")
    return AreaBelief({k: strength / len(keys) for k in keys}, r0 * r_strength, (1 - r0) * r_strength)


def update_belief(belief: AreaBelief, outcome: str, claimed: str | None,
                  class_probabilities: dict[str, float] | None = None) -> AreaBelief:
    """The belief after one closed lead (a new object; ``belief`` is not changed).

    Parameters
    ----------
    outcome : str
        One of :data:`OUTCOME_EVIDENCE`.
    claimed : str or None
        The class the lead named.
    class_probabilities : dict, optional
        The lead's class posterior (for the expected counts of a false positive); uniform over the other
        classes when absent.
    """
    if outcome not in OUTCOME_EVIDENCE:
        raise ValueError(f"outcome {outcome!r} is not one of {', '.join(OUTCOME_EVIDENCE)}")
    kind, real = OUTCOME_EVIDENCE[outcome]
    alpha = dict(belief.alpha)
    if kind == "is" and claimed in alpha:
        alpha[claimed] += 1.0
    elif kind == "is_not" and claimed in alpha:
        probs = class_probabilities or {}
        others = {k: max(0.0, float(probs.get(k, 0.0))) for k in alpha if k != claimed}
        total = sum(others.values())
        if total <= 0:
            others, total = {k: 1.0 for k in others}, float(len(others))
        for k, p in others.items():
            alpha[k] += p / total
    outcomes = {**belief.outcomes, outcome: belief.outcomes.get(outcome, 0) + 1}
    return AreaBelief(alpha, belief.real + (real is True), belief.spurious + (real is False), outcomes)


def fit_class_prior(log_ev: np.ndarray, keys: list[str], labels: list[tuple[str, str] | None],
                    strength: float = 1.0, prior_unknown: float = 0.1, iterations: int = 50) -> dict[str, float]:
    """Dirichlet counts α of an area's class prior from all its events, by EM (see the module docstring).

    Parameters
    ----------
    log_ev : numpy.ndarray
        (n_events, K + 1) log evidence of each class and, last, of the unknown alternative
        (:func:`plumetrace.detect.attribution.log_evidences`).
    keys : list of str
        The K class keys, in the columns' order.
    labels : list
        Per event: None (no outcome), or (outcome, claimed class) of its closed lead.
    strength : float
        Pseudo-observations of the uniform starting prior.

    Returns
    -------
    dict
        Class → α_k (the prior's pseudo-counts; :func:`class_prior` of an :class:`AreaBelief` normalises them).
    """
    log_ev = np.asarray(log_ev, float).reshape(-1, len(keys) + 1)
    if len(labels) != len(log_ev):
        raise ValueError("one label (or None) per event")
    k = len(keys)
    alpha0 = np.full(k, strength / k)
    index = {key: i for i, key in enumerate(keys)}
    fixed = np.zeros((len(log_ev), k))  # responsibilities fixed by an outcome
    free = np.ones(len(log_ev), bool)  # events whose responsibility follows the prior
    mask = np.ones((len(log_ev), k))  # classes an event may be (a false positive is not its claimed class)
    for i, lab in enumerate(labels):
        if lab is None:
            continue
        outcome, claimed = lab
        kind, real = OUTCOME_EVIDENCE.get(outcome, (None, None))
        if real is False:
            free[i] = False  # nothing there: no class to count
        elif kind == "is" and claimed in index:
            free[i] = False
            fixed[i, index[claimed]] = 1.0
        elif kind == "is_not" and claimed in index:
            mask[i, index[claimed]] = 0.0
    # an event without an outcome may be unknown (its mass leaves the classes); one with an outcome is an emitter
    # of the library, so its class responsibilities are normalised over the classes alone
    labelled = np.array([lab is not None for lab in labels], bool)
    alpha = alpha0.copy()
    for _ in range(iterations):
        w = (1 - prior_unknown) * alpha / alpha.sum()
        with np.errstate(divide="ignore"):
            logp = np.concatenate([np.log(w), [np.log(prior_unknown)]])[None, :] + log_ev
        logp -= logp.max(axis=1, keepdims=True)
        p = np.exp(logp)
        cls = p[:, :k] * mask
        denom = np.where(labelled, cls.sum(axis=1), cls.sum(axis=1) + p[:, k])
        resp = np.divide(cls, denom[:, None], out=np.zeros_like(cls), where=denom[:, None] > 0)
        resp = np.where(free[:, None], resp, fixed)
        new = alpha0 + resp.sum(axis=0)
        if np.allclose(new, alpha, rtol=1e-6, atol=1e-9):
            alpha = new
            break
        alpha = new
    return dict(zip(keys, (float(a) for a in alpha), strict=True))


def class_prior(belief: AreaBelief) -> dict[str, float]:
    """The posterior-mean class prior E[π_k] = α_k / Σα."""
    total = sum(belief.alpha.values())
    return {k: a / total for k, a in belief.alpha.items()}


def real_fraction(belief: AreaBelief) -> float:
    """Posterior mean of the fraction of leads that come from a real emitter."""
    return belief.real / (belief.real + belief.spurious)


def detection_threshold(belief: AreaBelief, k_min: float, r0: float = 0.9, k_floor: float = 3.0,
                        k_ceiling: float = 12.0) -> float:
    """The area's floor threshold [σ]: k_min moved so the posterior odds of a reported hit stay as at ``r0``."""
    r = min(max(real_fraction(belief), 1e-6), 1 - 1e-6)
    k2 = k_min**2 + 2.0 * math.log((r0 / (1 - r0)) / (r / (1 - r)))
    return float(min(max(math.sqrt(max(k2, 0.0)), k_floor), k_ceiling))
