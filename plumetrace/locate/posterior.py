"""The grid search of one source in one gas channel, and its evidence (pure math on arrays).

:class:`GridSearch` holds how the posterior is searched — grids, release heights, the rate grid, the wind,
stability and σ-family configurations marginalised over, the meander random effect — and computes:

* :meth:`GridSearch.posterior`: a coarse grid over the surveyed area plus a margin finds where the posterior
  lives; a fine grid there (through a middle level) gives the posterior over position × release height × rate,
  the Bayes factor against "no source" and the most probable configuration (a :class:`ChannelPosterior`);
* :meth:`GridSearch.evidence`: the per-cell evidence for a weak source on a campaign-aligned lattice, which
  fusion adds up across surveys (an :class:`EvidenceMap`);
* :meth:`GridSearch.subtract`: observations with a found plume explained away (explain, subtract, re-test).

The likelihood kernel is :func:`plumetrace.locate.grid.grid_log_likelihood`; the rate is integrated out on its
log-spaced grid by :func:`log_integral_over_rate`. The passes over cells (coarse, middle and fine levels, bagging,
evidence maps) read the kernel's rate terms from a per-observation table of log μ
(:func:`plumetrace.locate.grid.likelihood_table`: within 0.005 nats per observation, before tempering); the rate
posterior evaluates them. Method and references: docs/methods.md §4 (grid posterior).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from shapely.geometry import box
from shapely.ops import unary_union

from plumetrace.locate.grid import (
    ALPHA,
    NU,
    Meander,
    grid_log_likelihood,
    likelihood_table,
    meander_blocks,
    rate_step,
    reachable_observations,
    subset,
    table_origin,
    unit_prediction,
)
from plumetrace.locate.levels import children, every_other, lattice, log_integral_over_rate, screen_configs
from plumetrace.locate.observations import Observations, changed_observations
from plumetrace.locate.rates import wls_rate
from plumetrace.numerics import log_sum_exp

#: [nats] A channel whose coarse evidence is this far below the threshold is rejected without the fine pass:
#: measured on 8 suite scenarios, the fine evidence exceeds the coarse one by at most 6.7 nats.
COARSE_EVIDENCE_MARGIN = 7.5
#: At most this many coarse cells (the most probable, holding up to 99 % of the coarse posterior) and their four
#: neighbours are refined.
MAX_COARSE_CELLS = 24
#: Mass of the coarse posterior whose cells are refined, and of the middle level's kept for the fine level.
COARSE_KEEP_MASS = 0.99
MID_KEEP_MASS = 0.995
#: Fewer binned observations than this carry no localisable source.
MIN_OBSERVATIONS = 10
#: The rate posterior is refined on this many log-spaced rates, from at most this many of the most probable
#: (configuration, cell, height) triples holding 99 % of the mass.
RATE_GRID_POINTS = 300
RATE_POSTERIOR_PICKS = 60
#: Likelihood tables (one per observations and rate step) a :class:`GridSearch` keeps for its next passes.
TABLES_KEPT = 4


@dataclass
class ChannelPosterior:
    """Posterior of one source from one channel on the fine grid.

    ``cells`` are cell centres (east, north) [m] of side ``resolution`` [m] with posterior ``mass`` (sums to 1);
    ``q_grid`` [g/s] and ``q_mass`` the rate's marginal posterior; ``log_bayes`` the natural-log Bayes factor
    against "no source"; ``east``, ``north`` the most probable cell, ``height`` the posterior-mean release height
    [m]; ``rate_g_s`` and ``rate_ci90_g_s`` the posterior median rate and its 5–95 % interval; ``config`` the most
    probable configuration (wind offset, stability code, σ-family index, height, rate, cell); ``setting_mass``
    (stability code, σ-family index, release height [m]) → the joint posterior mass of that setting and each cell
    (the settings' arrays sum to ``mass``: a follow-up planner draws the class and the height with the cell, since a
    source farther upwind in a more unstable class, or released lower, explains the same crossings as a nearer one
    in a stabler class, or released higher).
    """

    channel: str
    species: str
    cells: np.ndarray
    resolution: float
    mass: np.ndarray
    q_grid: np.ndarray
    q_mass: np.ndarray
    log_bayes: float
    east: float
    north: float
    height: float
    rate_g_s: float
    rate_ci90_g_s: tuple[float, float]
    config: dict = field(default_factory=dict)
    setting_mass: dict | None = None

    def class_mass(self) -> dict[float, float]:
        """Posterior probability of each Pasquill class code searched (summed over offsets and σ families)."""
        mass: dict[float, float] = {}
        for (_, code, _, _), m in zip(self.config["configs"], self.config["config_mass"], strict=True):
            mass[code] = mass.get(code, 0.0) + m
        return mass

    def reweighted(self, keep: np.ndarray, mass: np.ndarray, **changes) -> ChannelPosterior:
        """The posterior on the cells ``keep`` (indices) with a new ``mass`` there (and other fields ``changes``).

        Each setting's joint mass is scaled cell by cell as the cell's mass is (the settings' shares of a cell stay).
        """
        old = self.mass[keep]
        factor = np.divide(mass, old, out=np.zeros_like(mass, dtype=float), where=old > 0)
        settings = None if self.setting_mass is None else {k: v[keep] * factor for k, v in self.setting_mass.items()}
        return ChannelPosterior(**{**self.__dict__, "cells": self.cells[keep], "mass": mass, "setting_mass": settings,
                                   **changes})

    def credible_radius(self, level: float = 0.9) -> float:
        """Radius of the disc around the estimate holding ``level`` of the posterior mass [m]."""
        d = np.hypot(self.cells[:, 0] - self.east, self.cells[:, 1] - self.north)
        order = np.argsort(d)
        cum = np.cumsum(self.mass[order])
        k = int(np.searchsorted(cum, level))
        return float(d[order][min(k, d.size - 1)] + self.resolution / 2)

    def credible_polygon(self, level: float = 0.9):
        """Union of the highest-posterior cells holding ``level`` of the mass (shapely geometry)."""
        order = np.argsort(-self.mass)
        cum = np.cumsum(self.mass[order])
        k = int(np.searchsorted(cum, level)) + 1
        half = self.resolution / 2
        squares = [box(x - half, y - half, x + half, y + half) for x, y in self.cells[order[:k]]]
        return unary_union(squares)

    @classmethod
    def rejected(cls, obs: Observations, log_bayes: float) -> ChannelPosterior:
        """A posterior that did not reach the evidence threshold (only its evidence is computed)."""
        empty = np.empty(0)
        return cls(channel=obs.channel, species=obs.species, cells=np.empty((0, 2)), resolution=0.0, mass=empty,
                   q_grid=empty, q_mass=empty, log_bayes=log_bayes, east=math.nan, north=math.nan, height=math.nan,
                   rate_g_s=math.nan, rate_ci90_g_s=(math.nan, math.nan))


@dataclass
class EvidenceMap:
    """Per-cell evidence for a source of one channel: log Bayes factor "a source in this cell" against "none".

    The cells form a lattice aligned on multiples of ``step`` in the survey's local frame (so maps of surveys
    read in one campaign frame line up cell for cell): cell (i, j) is centred at
    ``(x0 + (i + 0.5)·step, y0 + (j + 0.5)·step)`` [m]. The middle release height is used and the rate is
    integrated out under its prior; wind offsets, stability classes and σ families are averaged.
    """

    channel: str
    species: str
    x0: float
    y0: float
    step: float
    log_bf: np.ndarray  # (nx, ny) float32

    @property
    def log_bayes(self) -> float:
        """Evidence of the whole mapped area under a uniform prior (log of the mean Bayes factor)."""
        return float(log_sum_exp(self.log_bf.astype(np.float64)) - math.log(self.log_bf.size))


@dataclass
class CoarsePass:
    """The coarse pass of :meth:`GridSearch.posterior` over ``obs``.

    The box searched (x0, x1, y0, y1) [m] with its ``margin`` [m], the lattice ``cells`` (n, 2) [m] and, per σ
    family, the kernel's log-likelihood ratio (n, 1, n_q) at the middle height in the central configuration.
    """

    obs: Observations
    margin: float
    box: tuple[float, float, float, float]
    cells: np.ndarray
    delta: list


@dataclass
class GridSearch:
    """How the posterior of one source in one channel is searched (see the module docstring).

    Parameters
    ----------
    sigma_models : list of SigmaModel
        σ families marginalised with equal prior weight.
    stability_weights : list of (float, float)
        Pasquill class codes with their prior weights, the central class first (the coarse pass uses it).
    resolution, coarse_resolution : float
        Fine and coarse cell sides [m].
    margin : float
        Distance beyond the observations' extent that is searched [m].
    heights : numpy.ndarray
        Candidate release heights [m] (uniform prior).
    q_grid : numpy.ndarray
        Log-spaced emission rates [g/s] (log-uniform prior).
    wind_offset_sd_deg : float
        Wind-direction error marginalised over as offsets −σ, 0, +σ (weights ¼, ½, ¼) [deg].
    mixing_height : float or None
        Mixing height [m].
    beta : float
        Tempering of the observation log-likelihoods (bin length / error correlation time).
    p_off : float
        Probability that the source is off during a meander block.
    meander_sd_deg : float or None
        σ of the per-block wind-direction offset [deg]; None: no meander random effect.
    meander_block_s : float
        Meander block length [s].
    meander_offsets : int
        Gauss–Hermite points of the meander offset.
    min_log_bayes : float
        Evidence threshold; a posterior below it is returned by :meth:`ChannelPosterior.rejected`.
    exclusion_radius : float
        Cells within this distance of an already found source are not searched [m].
    mid_level : bool
        Refine through a middle level at twice the fine spacing when the coarse spacing is an even multiple
        (≥ 4) of the fine one.
    keep_rejected : bool
        A posterior that reached the fine level but not the threshold keeps its cells, mass and configuration
        (a candidate; its rate marginal is the search grid's), instead of only its evidence.
    model_error : float
        Relative model error α of the likelihood: an observation's variance is its noise variance + (α μ)² for a
        prediction μ.
    """

    sigma_models: list
    stability_weights: list
    resolution: float
    coarse_resolution: float
    margin: float
    heights: np.ndarray
    q_grid: np.ndarray
    wind_offset_sd_deg: float
    mixing_height: float | None
    beta: float
    p_off: float
    meander_sd_deg: float | None
    meander_block_s: float
    meander_offsets: int
    min_log_bayes: float
    exclusion_radius: float
    mid_level: bool = True
    keep_rejected: bool = False
    model_error: float = ALPHA
    _tables: list = field(default_factory=list, init=False, repr=False, compare=False)

    # -- configurations, meander --------------------------------------------------------------------------
    def configs(self) -> list[tuple[float, float, int, float]]:
        """(wind offset [deg], stability code, σ-family index, prior weight) of every configuration."""
        sd = self.wind_offset_sd_deg
        offsets = [(-sd, 0.25), (0.0, 0.5), (sd, 0.25)] if sd > 0 else [(0.0, 1.0)]
        wm = 1.0 / len(self.sigma_models)
        return [(o, c, m, wo * wc * wm) for o, wo in offsets for c, wc in self.stability_weights
                for m in range(len(self.sigma_models))]

    def meander(self, obs: Observations) -> Meander | None:
        """The meander blocks of ``obs`` (None without a meander random effect or intermittency)."""
        sd = self.meander_sd_deg
        if not sd and not self.p_off:
            return None
        return meander_blocks(obs.time, obs.platform, self.meander_block_s, sd or 0.0, self.meander_offsets)

    def _loglik(self, x, y, heights, obs, offset, code, model, q, meander, block_weights=None, tabulated=False,
                table=None):
        """The kernel on the observations some cell can reach (:func:`reachable_observations`: exact).

        ``tabulated``: the rate terms from ``obs``'s :func:`likelihood_table` (built once per observations and rate
        grid step, kept for the calls that follow), or from ``table`` when given.
        """
        spread = float(np.max(np.abs(meander.offsets_deg))) if meander is not None else 0.0
        keep = reachable_observations(obs, x, y, offset, spread, code, self.sigma_models[model])
        if table is None and tabulated and q.size > 2:
            table = self._table(obs, q)
        if not keep.all():
            obs, meander = subset(obs, meander, keep)
            table = None if table is None else (table[0][keep], table[1][keep], *table[2:])
        return grid_log_likelihood(x, y, heights, obs, offset, code, self.sigma_models[model], q,
                                   self.mixing_height, alpha=self.model_error, beta=self.beta, meander=meander,
                                   p_off=self.p_off, block_weights=block_weights, table=table)

    def clear_tables(self) -> None:
        """Forget the likelihood tables kept for the next passes (they are rebuilt when needed)."""
        self._tables = []

    def _table(self, obs: Observations, q: np.ndarray):
        """:func:`likelihood_table` of ``obs`` for ``q``'s step, from the last few built when they still apply."""
        step = rate_step(q)
        for enhancement, variance, s, table in self._tables:
            if enhancement is obs.enhancement and variance is obs.variance and s == step:
                return table
        table = likelihood_table(obs.enhancement, obs.variance, self.model_error, NU, step)
        self._tables = [(obs.enhancement, obs.variance, step, table)] + self._tables[:TABLES_KEPT - 1]
        return table

    def _excluded_mask(self, x, y, exclude):
        keep = np.ones(x.size, dtype=bool)
        for e, n in exclude:
            keep &= np.hypot(x - e, y - n) > self.exclusion_radius
        return keep

    def _excluded(self, x, y, exclude):
        keep = self._excluded_mask(x, y, exclude)
        return x[keep], y[keep]

    # -- forward operator ---------------------------------------------------------------------------------
    def prediction(self, obs: Observations, east: float, north: float, height: float, offset: float, code: float,
                   model: int = 0) -> np.ndarray:
        """Unit-rate prediction [ppb per g/s] of a source at every observation (sensor response included)."""
        return unit_prediction(obs, east, north, height, offset, code, self.sigma_models[model], self.mixing_height)

    def config_prediction(self, obs: Observations, post: ChannelPosterior, east: float | None = None,
                          north: float | None = None) -> np.ndarray:
        """Unit-rate prediction of ``post``'s most probable configuration, at its site or at (east, north)."""
        cfg = post.config
        return self.prediction(obs, post.east if east is None else east, post.north if north is None else north,
                               cfg["height"], cfg["offset"], cfg["code"], cfg["model"])

    def subtract(self, obs: Observations, post: ChannelPosterior, alpha: float) -> Observations:
        """Observations with a found source's plume explained away.

        Its predicted plume (most probable configuration, weighted least-squares rate) is subtracted, and the
        variance of every observation grows by (α · prediction)²: the found plume is only modelled to within a
        fraction of its own size (meander, intermittency), and without the extra variance its misfit would be
        taken for further sources around it; with α = 1 it also hides a second source whose plume runs inside
        the first one's.
        """
        cfg = post.config
        g = self.prediction(obs, cfg["east"], cfg["north"], cfg["height"], cfg["offset"], cfg["code"], cfg["model"])
        q, _ = wls_rate(g, obs.enhancement, obs.variance)
        return self.subtract_prediction(obs, (cfg["q"] if math.isnan(q) else q) * g, alpha)

    @staticmethod
    def subtract_prediction(obs: Observations, pred: np.ndarray, alpha: float) -> Observations:
        """Observations with a predicted plume ``pred`` [ppb] subtracted, the variance grown by (α · pred)²."""
        out = Observations(**{**obs.__dict__})
        out.enhancement = obs.enhancement - pred
        out.variance = obs.variance + (alpha * pred) ** 2
        return out

    # -- evidence map -------------------------------------------------------------------------------------
    def evidence(self, obs: Observations, step: float) -> EvidenceMap:
        """Evidence for one more source in ``obs`` on the lattice aligned to multiples of ``step`` [m]."""
        c = float(step)
        x0, x1 = np.floor((obs.east.min() - self.margin) / c) * c, np.ceil((obs.east.max() + self.margin) / c) * c
        y0, y1 = np.floor((obs.north.min() - self.margin) / c) * c, np.ceil((obs.north.max() + self.margin) / c) * c
        cx, cy = lattice(x0, x1, y0, y1, c)
        heights = np.asarray(self.heights, float)
        h_mid = heights[len(heights) // 2: len(heights) // 2 + 1]
        q = self.q_grid
        meander = self.meander(obs)
        acc = []
        for offset, code, m, weight in self.configs():
            delta, _ = self._loglik(cx, cy, h_mid, obs, offset, code, m, q, meander, tabulated=True)
            acc.append(log_integral_over_rate(delta)[:, 0] + math.log(weight))
        log_bf = log_sum_exp(np.stack(acc, axis=0), axis=0) - math.log(q.size)
        nx, ny = int(round((x1 - x0) / c)), int(round((y1 - y0) / c))
        return EvidenceMap(obs.channel, obs.species, float(x0), float(y0), c,
                           log_bf.reshape(nx, ny).astype(np.float32))

    # -- coarse pass ----------------------------------------------------------------------------------------
    def coarse_pass(self, obs: Observations, margin: float | None = None,
                    previous: CoarsePass | None = None) -> CoarsePass:
        """The kernel on the coarse lattice (central configuration, middle height) for each σ family.

        With ``previous``, the pass over the same observations before a found plume was subtracted
        (:meth:`subtract`), only the observations the subtraction changed are visited: without meander blocks or
        an off probability the log-likelihood is a sum over observations, so the new pass is the old one plus the
        kernel over the changed observations with the difference of their new and old likelihood tables (the
        plume of each cell computed once for both). A sensor with a modelled response (whose prediction carries
        from one observation to the next), meander blocks or an off probability get the full pass.
        """
        margin = self.margin if margin is None else margin
        x0, x1 = obs.east.min() - margin, obs.east.max() + margin
        y0, y1 = obs.north.min() - margin, obs.north.max() + margin
        cx, cy = lattice(x0, x1, y0, y1, self.coarse_resolution)
        heights = np.asarray(self.heights, float)
        h_mid = heights[len(heights) // 2: len(heights) // 2 + 1]
        code0 = self.stability_weights[0][0]
        q = self.q_grid
        meander = self.meander(obs)
        changed = None
        if previous is not None and previous.margin == margin and meander is None and q.size > 2:
            changed = changed_observations(previous.obs, obs)
        if changed is not None and changed.sum() < 0.5 * changed.size:
            old, _ = subset(previous.obs, None, changed)  # positions, winds and noise of the pass before
            new, _ = subset(obs, None, changed)
            # old and new in one table on the old one's grid (same columns), so that their difference is read
            lo = table_origin(old.variance)
            both, _, h = likelihood_table(np.concatenate((old.enhancement, new.enhancement)),
                                          np.concatenate((old.variance, new.variance)), self.model_error, NU,
                                          rate_step(q), lo=np.concatenate((lo, lo)))
            diff = (both[len(old):] - both[:len(old)], lo, h, 0.0)
            delta = [before + self._loglik(cx, cy, h_mid, old, 0.0, code0, m, q, None, table=diff)[0]
                     for m, before in enumerate(previous.delta)]
        else:
            delta = [self._loglik(cx, cy, h_mid, obs, 0.0, code0, m, q, meander, tabulated=True)[0]
                     for m in range(len(self.sigma_models))]
        return CoarsePass(obs=obs, margin=margin, box=(x0, x1, y0, y1), cells=np.column_stack((cx, cy)), delta=delta)

    # -- posterior ------------------------------------------------------------------------------------------
    def posterior(self, obs: Observations, exclude=(), margin: float | None = None,
                  coarse: CoarsePass | None = None) -> ChannelPosterior | None:
        """Posterior of one more source in ``obs``; cells within ``exclusion_radius`` of ``exclude`` are left out.

        ``coarse``: the :meth:`coarse_pass` of ``obs`` with this ``margin``, when the caller has it.
        None with fewer than :data:`MIN_OBSERVATIONS` observations; a :meth:`ChannelPosterior.rejected` one
        below the evidence threshold.
        """
        if len(obs) < MIN_OBSERVATIONS:
            return None
        heights = np.asarray(self.heights, float)
        q = self.q_grid
        log_prior_q = -np.log(q.size)
        log_prior_h = -np.log(heights.size)
        meander = self.meander(obs)
        margin = self.margin if margin is None else margin
        if coarse is None or coarse.obs is not obs or coarse.margin != margin:
            coarse = self.coarse_pass(obs, margin)
        x0, x1, y0, y1 = coarse.box
        area = (x1 - x0) * (y1 - y0)
        # coarse pass: the central configuration and the middle height find where the posterior lives
        keep = self._excluded_mask(coarse.cells[:, 0], coarse.cells[:, 1], exclude)
        cx, cy = coarse.cells[keep, 0], coarse.cells[keep, 1]
        per_cell = -np.inf
        for delta in coarse.delta:
            per_cell = np.logaddexp(per_cell, log_integral_over_rate(delta[keep])[:, 0])
        uniform_coarse = math.log(self.coarse_resolution ** 2 / area)
        per_cell = per_cell - math.log(len(self.sigma_models)) + uniform_coarse
        coarse_log_bayes = float(log_sum_exp(per_cell)) - math.log(q.size)
        if coarse_log_bayes < self.min_log_bayes - COARSE_EVIDENCE_MARGIN:
            return ChannelPosterior.rejected(obs, coarse_log_bayes)
        order = np.argsort(-per_cell)
        mass = np.exp(per_cell[order] - log_sum_exp(per_cell))
        n_keep = min(int(np.searchsorted(np.cumsum(mass), COARSE_KEEP_MASS)) + 1, MAX_COARSE_CELLS)
        kept = order[:n_keep]
        nb = [np.column_stack((cx[kept], cy[kept]))]
        for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):  # the kept coarse cells and their neighbours
            nb.append(np.column_stack((cx[kept] + dx * self.coarse_resolution, cy[kept] + dy * self.coarse_resolution)))
        centres = np.unique(np.round(np.vstack(nb), 3), axis=0)
        step = self.resolution
        ratio = int(round(self.coarse_resolution / step))
        configs = self.configs()

        def level(parents, parent_step, child_step):
            x, y = children(parents, parent_step, child_step)
            inside = (x > x0) & (x < x1) & (y > y0) & (y < y1)
            return self._excluded(x[inside], y[inside], exclude)

        def evaluate(x, y, child_step, active):
            logpost = []
            for offset, code, m, weight in (configs[i] for i in active):
                d, _ = self._loglik(x, y, heights, obs, offset, code, m, q, meander, tabulated=True)
                logpost.append(d + math.log(weight) + log_prior_h + log_prior_q)
            prior = math.log(child_step * child_step / area)  # uniform over the searched area
            return np.stack(logpost, axis=0) + prior  # (config, cell, height, q)

        every = list(range(len(configs)))
        if self.mid_level and ratio >= 4 and ratio % 2 == 0:
            # a middle level at twice the fine spacing gives the evidence, where 99.5 % of the posterior lives and
            # which configurations hold it; only those are refined to the fine spacing there
            mx, my = level(centres, self.coarse_resolution, 2 * step)
            lq_mid = log_integral_over_rate(evaluate(mx, my, 2 * step, every))
            log_bayes = float(log_sum_exp(lq_mid))
            mid_mass = np.exp(log_sum_exp(lq_mid, axis=(0, 2)) - log_bayes)
            order = np.argsort(-mid_mass)
            n_keep = int(np.searchsorted(np.cumsum(mid_mass[order]), MID_KEEP_MASS)) + 1
            centres = np.column_stack((mx[order[:n_keep]], my[order[:n_keep]]))
            active, pruned_mass = screen_configs(lq_mid)
            fx, fy = level(centres, 2 * step, step)
            lp = evaluate(fx, fy, step, active)
        else:
            # every configuration on every other cell of the fine lattice (a quarter of the cells); those holding
            # at least FINE_MIN_CONFIG_MASS (plumetrace.locate.levels) of the posterior there on the rest
            log_bayes = None
            fx, fy = level(centres, self.coarse_resolution, step)
            sub = every_other(fx, fy, step)
            if len(configs) > 1 and sub.any() and not sub.all():
                lp_sub = evaluate(fx[sub], fy[sub], step, every)
                active, pruned_mass = screen_configs(log_integral_over_rate(lp_sub))
                lp = np.empty((len(active), fx.size) + lp_sub.shape[2:])
                lp[:, sub] = lp_sub[active]
                lp[:, ~sub] = evaluate(fx[~sub], fy[~sub], step, active)
            else:
                active, pruned_mass = every, np.zeros(len(configs))
                lp = evaluate(fx, fy, step, every)
        lq = log_integral_over_rate(lp)  # (active config, cell, height): rate integrated out
        total = log_sum_exp(lq)  # the likelihood ratio averaged under the position prior: evidence vs no source
        if log_bayes is None:
            log_bayes = float(total)
        config_mass = pruned_mass.copy()  # the configurations left out keep their share where they were screened
        config_mass[active] = np.exp(log_sum_exp(lq, axis=(1, 2)) - total) * (1.0 - pruned_mass.sum())
        weak = log_bayes < self.min_log_bayes
        if weak and not self.keep_rejected:
            rejected = ChannelPosterior.rejected(obs, log_bayes)
            rejected.config["coarse_log_bayes"] = coarse_log_bayes
            return rejected
        cell_mass = np.exp(log_sum_exp(lq, axis=(0, 2)) - total)
        setting_mass: dict = {}
        for a, cell_height in zip(active, lq, strict=True):  # (cell, height) of one configuration
            for k, h in enumerate(heights):
                key = (float(configs[a][1]), int(configs[a][2]), float(h))
                setting_mass[key] = setting_mass.get(key, 0.0) + np.exp(cell_height[:, k] - total)
        h_mass = np.exp(log_sum_exp(lq, axis=(0, 1)) - total)
        best = np.unravel_index(int(np.argmax(lp)), lp.shape)
        i_map = int(np.argmax(cell_mass))
        if weak:  # a candidate below the threshold: the rate's marginal on the search grid (no refinement)
            lqm = log_sum_exp(lp, axis=(0, 1, 2))
            q_fine, q_mass = q, np.exp(lqm - log_sum_exp(lqm))
        else:
            q_fine, q_mass = self._rate_posterior(obs, fx, fy, heights, [configs[i] for i in active], lq, total,
                                                  meander)
        cdf = np.cumsum(q_mass)
        logq = np.log(q_fine)

        def quant(p):
            return float(np.exp(np.interp(p, cdf, logq)))

        return ChannelPosterior(
            channel=obs.channel, species=obs.species, cells=np.column_stack((fx, fy)), resolution=step,
            mass=cell_mass, q_grid=q_fine, q_mass=q_mass, log_bayes=log_bayes, east=float(fx[i_map]),
            north=float(fy[i_map]), height=float(np.sum(h_mass * heights)), rate_g_s=quant(0.5),
            rate_ci90_g_s=(quant(0.05), quant(0.95)),
            config={"offset": configs[active[best[0]]][0], "code": configs[active[best[0]]][1],
                    "model": configs[active[best[0]]][2],
                    "height": float(heights[best[2]]), "q": float(q[best[3]]), "east": float(fx[best[1]]),
                    "north": float(fy[best[1]]), "coarse_log_bayes": coarse_log_bayes,
                    "config_mass": config_mass.tolist(), "configs": configs},
            setting_mass=setting_mass,
        )

    def _rate_posterior(self, obs, fx, fy, heights, configs, lq, total, meander):
        """Posterior of the rate on a fine grid, from the (config, cell, height) triples holding 99 % of the mass."""
        q = self.q_grid
        order = np.argsort(-lq, axis=None)
        w = np.exp(lq.ravel()[order] - total)
        n = int(np.searchsorted(np.cumsum(w), 0.99)) + 1
        picks = np.column_stack(np.unravel_index(order[: min(n, RATE_POSTERIOR_PICKS)], lq.shape))
        q_fine = np.logspace(np.log10(q[0]), np.log10(q[-1]), RATE_GRID_POINTS)
        acc = np.full(q_fine.size, -np.inf)
        for ic, ih in {(int(a), int(b)) for a, _, b in picks}:  # one call per configuration and height
            cells = picks[(picks[:, 0] == ic) & (picks[:, 2] == ih), 1]
            offset, code, m, _ = configs[ic]
            d, _ = self._loglik(fx[cells], fy[cells], heights[ih:ih + 1], obs, offset, code, m, q_fine, meander)
            prof = d[:, 0, :] - log_sum_exp(d[:, 0, :], axis=1)[:, None]  # normalised rate profiles
            acc = np.logaddexp(acc, log_sum_exp(lq[ic, cells, ih][:, None] - total + prof, axis=0))
        mass = np.exp(acc - log_sum_exp(acc))
        return q_fine, mass
