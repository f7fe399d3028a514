"""Adaptive follow-up flights: the legs that are expected to tell most about where each candidate source is.

From the grid posterior of each candidate (cells with mass, the rate's marginal, release height, and the joint
mass of each stability class, σ family and release height with the cell), the planner draws N hypotheses (cell,
class, σ family, height, rate) from the posterior and
predicts, with the forward model under the forecast wind, the readings each hypothesis would give on every
candidate leg: crosswind legs at several distances downwind of the candidate, along-wind legs through its plume,
each at a few altitudes. The value of a set of legs S is the expected information gain (mutual information)
between the data and the source's *label* — its building where buildings are given (cells outside every
building keep their own label), else its cell:

    I(S) = E_i E_y|i [ log p(y | label_i) − log p(y) ],   p(y | j) = Π_k N(y_k; μ_jk, σ² + (α μ_jk)²)^β

estimated by Monte Carlo with ``n_draws`` simulated data sets per hypothesis (the nested estimator of Ryan 2003
with the hypotheses as the inner sample; each hypothesis also carries a wind-direction offset drawn from the
forecast's error; METHODS.md §4.10: expected entropy reduction of the grid posterior). The
noise is the sensor's σ plus a model error α of the prediction (meander, intermittency), and the log-likelihood is
tempered by β = reading / error-correlation time as in the locator. Legs are chosen greedily by gain per second of
flight (transit included) within the budget — the classic cost-benefit greedy rule for submodular gains
(Krause & Guestrin 2005) — and each is flown in the direction that shortens the transit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from plumetrace.exceptions import PlanError
from plumetrace.locate.grid import pairwise_t_loglik
from plumetrace.physics.plume import plume_coupling
from plumetrace.physics.sigmas import dispersion_coefficients
from plumetrace.physics.species import SPECIES, mole_fraction
from plumetrace.physics.stability import stability_label
from plumetrace.physics.wind import wind_axes
from plumetrace.plan.airspace import Airspace
from plumetrace.plan.route import (
    CLIMB_RATE_MPS,
    TURN_TIME_S,
    FlightPlan,
    Leg,
    default_home,
    sortie_time,
    sorties,
    takeoff_altitude,
)

#: Time over which the model errors of neighbouring readings are correlated [s] (the locator's tempering).
ERROR_CORRELATION_S = 5.0


@dataclass
class Candidate:
    """A candidate source to be settled: its grid posterior and the forward model's configuration.

    ``cells`` (n, 2) [m] with ``mass``; ``q_grid`` [g/s] with ``q_mass``; ``height`` release height [m];
    ``code`` stability code and ``model`` σ-family name or SigmaModel of the most probable configuration;
    ``species``; ``name``; ``log_bayes``; ``settings``, optionally, (code, model, height [m], joint mass per cell)
    of every class, σ family and release height the posterior holds (the arrays sum to ``mass``; (code, model, mass)
    takes ``height``): hypotheses then draw them with the cell.
    """

    name: str
    cells: np.ndarray
    mass: np.ndarray
    q_grid: np.ndarray
    q_mass: np.ndarray
    height: float
    code: float
    model: object
    species: str = "ch4"
    log_bayes: float = math.nan
    temperature: float = 288.15
    pressure: float = 101325.0
    settings: list | None = None

    @classmethod
    def from_posterior(cls, name: str, post, sigma_models, temperature: float = 288.15,
                       pressure: float = 101325.0) -> Candidate:
        """From a :class:`plumetrace.locate.posterior.ChannelPosterior` and the σ families of its search."""
        cfg = post.config
        settings = None
        if getattr(post, "setting_mass", None):
            settings = [(float(code), sigma_models[int(m)], float(h), np.asarray(v, float))
                        for (code, m, h), v in sorted(post.setting_mass.items())]
        return cls(name, np.asarray(post.cells, float), np.asarray(post.mass, float), np.asarray(post.q_grid),
                   np.asarray(post.q_mass), float(cfg.get("height", post.height)), float(cfg.get("code", 3.0)),
                   sigma_models[int(cfg.get("model", 0))], post.species, float(post.log_bayes), temperature, pressure,
                   settings)

    @property
    def mean(self) -> np.ndarray:
        """Posterior mean position (east, north) [m]."""
        return self.mass @ self.cells / max(float(self.mass.sum()), 1e-300)


@dataclass
class FollowUpPlanner:
    """Plan a follow-up flight over candidate sources (see the module docstring).

    Parameters
    ----------
    wind : (speed [m/s], from [deg])
        Forecast wind.
    budget_min : float
        Flight time of the whole plan, take-off, transits and landing included [min].
    speed_mps : float
        Cruise speed [m/s].
    noise_ppb : float
        Sensor noise of one reading [ppb].
    model_error : float
        α: relative model error of a predicted reading.
    reading_s : float
        Time between readings used (one reading per ``reading_s``) [s].
    n_hypotheses, n_draws : int
        Posterior hypotheses per candidate and simulated data sets per hypothesis.
    distances : sequence of float
        Downwind distances of the crosswind legs from the candidate [m].
    altitude_steps : sequence of float
        Altitudes above the lowest allowed one tried for each leg [m].
    wind_sd_deg : float
        Error of the forecast wind direction [deg]: the hypotheses' plumes turn by it (a leg along a plume that
        may swing away is worth less than one across it).
    leg_offset_sd_deg : float
        σ of a further direction offset drawn per leg and simulated data set [deg]: the plume's direction changes
        from crossing to crossing (the meander) while the likelihood scoring them keeps each hypothesis' one
        direction, as the locator's does. 0 (default): the simulated data follow the hypothesis exactly.
    nu : float or None
        Degrees of freedom of the likelihood that scores the simulated data: None (default) a Gaussian; a number,
        the locator's Student-t (:func:`plumetrace.locate.grid.pairwise_t_loglik`), under which a reading the plume
        swung away from costs little — the planner then values legs by what the locator will make of them.
    score_model_error : float or None
        α of that likelihood (None: ``model_error``; the locator's is :data:`plumetrace.locate.grid.ALPHA`). The
        simulated data always scatter by ``model_error``.
    endurance_min : float or None
        Battery endurance [min].
    buildings : list of Building, optional
        With buildings, the gain is about the source's building.
    random_state : int

    Attributes
    ----------
    plan_ : FlightPlan
    gain_ : float
        Expected information gain of the chosen legs [nats].
    gains_ : list of float
        Cumulative expected gain after each chosen leg [nats].
    prior_entropy_ : dict
        Candidate → entropy of its label before the flight [nats].
    """

    wind: tuple[float, float]
    budget_min: float = 12.0
    speed_mps: float = 6.0
    noise_ppb: float = 2.0
    model_error: float = 0.5
    reading_s: float = 1.0
    n_hypotheses: int = 120
    n_draws: int = 3
    distances: tuple = (15.0, 25.0, 40.0, 60.0, 90.0, 130.0)
    altitude_steps: tuple = (0.0, 5.0, 10.0)
    wind_sd_deg: float = 10.0
    leg_offset_sd_deg: float = 0.0
    nu: float | None = None
    score_model_error: float | None = None
    endurance_min: float | None = 25.0
    buildings: list | None = None
    random_state: int = 0
    plan_: FlightPlan | None = field(default=None, init=False, repr=False)

    # -- hypotheses and predictions ----------------------------------------------------------------------
    def _hypotheses(self, cand: Candidate, rng):
        """(cells, rates, weights, labels, direction offsets, settings) of hypotheses drawn from the posterior.

        With the candidate's ``settings``, a hypothesis draws its (cell, class, σ family, height) from their joint
        mass; ``settings`` are then (code, model, height) per hypothesis, else the candidate's own for every one.
        """
        if cand.settings:
            joint = np.stack([np.asarray(s[-1], float) for s in cand.settings])  # (settings, cells)
            kinds = [(s[0], s[1], s[2] if len(s) == 4 else cand.height) for s in cand.settings]
        else:
            joint, kinds = np.asarray(cand.mass, float)[None, :], [(cand.code, cand.model, cand.height)]
        n_cells = joint.shape[1]
        mass = joint.ravel() / joint.sum()
        n = min(self.n_hypotheses, int(np.count_nonzero(mass > 0)))
        order = np.argsort(-mass)
        keep = order[: max(1, int(np.searchsorted(np.cumsum(mass[order]), 0.999)) + 1)]
        if keep.size <= n:
            idx, w = keep, mass[keep] / mass[keep].sum()
        else:  # systematic resampling: N equally weighted cells in proportion to their mass
            cdf = np.cumsum(mass[keep]) / mass[keep].sum()
            idx = keep[np.minimum(np.searchsorted(cdf, (np.arange(n) + rng.uniform()) / n), keep.size - 1)]
            w = np.full(n, 1.0 / n)
        qcdf = np.cumsum(cand.q_mass) / max(float(np.sum(cand.q_mass)), 1e-300)
        u = (rng.permutation(idx.size) + 0.5) / idx.size
        q = np.exp(np.interp(u, qcdf, np.log(cand.q_grid)))
        setting, idx = idx // n_cells, idx % n_cells
        cells = cand.cells[idx]
        # the forecast's direction error: each hypothesis flies with one of five offsets (quantiles of N(0, σ))
        from scipy.stats import norm

        levels = norm.ppf((np.arange(5) + 0.5) / 5) * self.wind_sd_deg
        offsets = levels[rng.permutation(idx.size) % 5]
        if self.buildings:
            from shapely import STRtree, points

            tree = STRtree([b.footprint for b in self.buildings])
            hit = tree.query(points(cells), predicate="within")
            labels = np.array([f"cell{int(k)}" for k in idx], dtype=object)  # outside every building: the cell
            for pi, bi in zip(hit[0], hit[1], strict=True):
                labels[pi] = "b:" + str(self.buildings[int(bi)].id)
        else:
            labels = np.array([f"cell{int(k)}" for k in idx], dtype=object)
        return cells, q, w, labels, offsets, [kinds[int(k)] for k in setting]

    def _predict(self, cand: Candidate, hyp, pts: np.ndarray, alt: float) -> np.ndarray:
        """Predicted readings [ppb] (hypotheses, points) of the hypotheses on the points at ``alt``."""
        cells, q, _, _, offsets, settings = hyp
        u, frm = self.wind
        n = len(pts)
        out = np.empty((len(cells), n))
        ppb = mole_fraction(1e-3, SPECIES[cand.species].molar_mass, cand.temperature, cand.pressure) * 1e9
        groups: dict = {}  # one forward-model call per (direction offset, class, σ family)
        for i, (off, (code, model, height)) in enumerate(zip(offsets, settings, strict=True)):
            _, members, heights = groups.setdefault((float(off), float(code), id(model)), (model, [], []))
            members.append(i)
            heights.append(height)
        for (off, code, _), (model, members, heights) in groups.items():
            sel = np.array(members)
            g = plume_coupling(pts[:, 0], pts[:, 1], np.full(n, alt), cells[sel, 0], cells[sel, 1],
                               np.asarray(heights, float), np.full(n, float(u)), np.full(n, float(frm) + off),
                               stability_label(code).item(), model=model, min_wind_speed=0.5)
            out[sel] = (g * ppb).T * q[sel, None]
        return out

    # -- candidate legs -----------------------------------------------------------------------------------
    def candidate_legs(self, cand: Candidate, airspace: Airspace) -> list[Leg]:
        """Crosswind legs downwind of the candidate and along-wind legs through its plume, at a few altitudes."""
        down, cross = wind_axes(self.wind[1])
        m = cand.mean
        d = cand.cells - m
        sd_cross = math.sqrt(max(float(cand.mass @ (d @ cross) ** 2) / cand.mass.sum(), 25.0))
        sd_along = math.sqrt(max(float(cand.mass @ (d @ down) ** 2) / cand.mass.sum(), 25.0))
        model = cand.model if isinstance(cand.model, str) else getattr(cand.model, "name", "briggs_rural")
        raw = []
        for dist in self.distances:
            sy, _ = dispersion_coefficients(np.array([dist + sd_along]), stability_label(cand.code).item(), model)
            half = float(np.clip(2 * sd_cross + 2.5 * sy[0] + 10.0, 20.0, 200.0))
            c = m + dist * down
            raw.append((c - half * cross, c + half * cross, f"crosswind {dist:g} m"))
        for off in (-1.0, 0.0, 1.0):
            c = m + off * max(sd_cross, 5.0) * cross
            raw.append((c + 10.0 * down, c + 150.0 * down, "along-wind"))
        legs = []
        for a, b, kind in raw:
            pieces = airspace.clip(a, b, min_length=15.0)
            if not pieces:
                continue
            s, e = max(pieces, key=lambda p: float(np.hypot(*(p[1] - p[0]))))
            lo = airspace.min_altitude(s, e)
            for step in self.altitude_steps:
                alt = lo + step
                if alt <= airspace.alt_max:
                    legs.append(Leg(np.asarray(s), np.asarray(e), float(alt), f"follow-up {kind}", cand.name))
        return legs

    # -- expected information ------------------------------------------------------------------------------
    def _loglik_matrices(self, cand: Candidate, hyp, legs: list[Leg], rng) -> np.ndarray:
        """L[leg, draw, i, j] = tempered log p(y_draw,i | j) on each leg."""
        q = hyp[1]
        beta = min(1.0, self.reading_s / ERROR_CORRELATION_S)
        step = self.speed_mps * self.reading_s
        out = np.zeros((len(legs), self.n_draws, len(q), len(q)), dtype=np.float32)
        for k, leg in enumerate(legs):
            n_pts = max(2, int(leg.length / step) + 1)
            f = np.linspace(0.0, 1.0, n_pts)[:, None]
            pts = np.asarray(leg.start) + f * (np.asarray(leg.end) - np.asarray(leg.start))
            mu = self._predict(cand, hyp, pts, leg.altitude)  # (N, M)
            var = self.noise_ppb ** 2 + (self.model_error * mu) ** 2  # the simulated data's scatter
            alpha = self.model_error if self.score_model_error is None else self.score_model_error
            svar = var if alpha == self.model_error else self.noise_ppb ** 2 + (alpha * mu) ** 2  # the scorer's
            if self.nu is None:  # the Gaussian's terms, as matrix products below
                inv = 1.0 / svar
                logdet = np.sum(np.log(svar), axis=1)  # (N,)
            for dr in range(self.n_draws):
                world, wvar = mu, var
                if self.leg_offset_sd_deg > 0:  # this crossing's plume, turned by the meander
                    turned = (*hyp[:4], hyp[4] + rng.normal(0.0, self.leg_offset_sd_deg), hyp[5])
                    world = self._predict(cand, turned, pts, leg.altitude)
                    wvar = self.noise_ppb ** 2 + (self.model_error * world) ** 2
                y = world + np.sqrt(wvar) * rng.standard_normal(mu.shape)
                if self.nu is not None:
                    out[k, dr] = beta * pairwise_t_loglik(y, mu, svar, self.nu)
                    continue
                # Σ_k −(y_ik − μ_jk)² / (2 v_jk) − ½ log v_jk, as matrix products
                ll = -0.5 * ((y * y) @ inv.T) + y @ (mu * inv).T - 0.5 * np.sum(mu * mu * inv, axis=1)[None, :] \
                    - 0.5 * logdet[None, :]
                out[k, dr] = beta * ll
        return out

    @staticmethod
    def _label_groups(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(onehot (N, K), group_of (N,)): the hypotheses' labels as :meth:`_information` takes them."""
        names, group_of = np.unique(labels.astype(str), return_inverse=True)
        onehot = np.zeros((len(labels), len(names)))
        onehot[np.arange(len(labels)), group_of] = 1.0
        return onehot, group_of

    @staticmethod
    def _information(L: np.ndarray, w: np.ndarray, onehot: np.ndarray, group_of: np.ndarray) -> float:
        """Mutual information [nats] between the label and the data, from summed log-likelihoods L[draw, i, j].

        ``onehot`` (N, K) assigns hypotheses to labels, ``group_of`` (N,) is each hypothesis' label index.
        """
        lw = np.log(w)
        lwl = L + lw[None, None, :]
        mx = lwl.max(axis=2, keepdims=True)
        e = np.exp(lwl - mx)
        total = np.log(e.sum(axis=2))  # log p(y_{d,i}) − max
        by_label = e @ onehot  # (D, N, K)
        own = np.take_along_axis(by_label, np.broadcast_to(group_of[None, :, None], by_label.shape[:2] + (1,)),
                                 axis=2)[..., 0]
        wl = (w @ onehot)[group_of]
        lab = np.log(np.maximum(own, 1e-300)) - np.log(wl)[None, :]
        return float(np.mean(np.sum(w[None, :] * (lab - total), axis=1)))

    def expected_information(self, candidates: list[Candidate], legs: list[Leg]) -> float:
        """Expected information [nats] that flying ``legs`` gives about the candidates' labels.

        Under this planner's model (its hypotheses, forecast wind, noise and model error): what :meth:`fit`
        maximises, for any legs — a fixed pattern's, or a plan's as flown. Transits are not counted (they are not in
        ``legs``).
        """
        if not legs:
            return 0.0
        rng = np.random.default_rng(self.random_state)
        total = 0.0
        for c in candidates:
            hyp = self._hypotheses(c, rng)
            onehot, group_of = self._label_groups(hyp[3])
            L = self._loglik_matrices(c, hyp, legs, rng).sum(axis=0, dtype=np.float64)
            total += self._information(L, hyp[2], onehot, group_of)
        return total

    def fit(self, candidates: list[Candidate], airspace: Airspace, home=None) -> FollowUpPlanner:
        """Choose the legs (module docstring); the flight is in ``plan_``.

        Raises
        ------
        PlanError
            No candidate, no leg inside the airspace, or a budget too short for any leg.
        """
        if not candidates:
            raise PlanError("there is no candidate source to plan a follow-up for (the surveys show no evidence)",
                            "SURVEY")
        rng = np.random.default_rng(self.random_state)
        legs: list[Leg] = []
        for c in candidates:
            legs += self.candidate_legs(c, airspace)
        if not legs:
            raise PlanError("no follow-up leg near the candidates lies inside the authorised airspace",
                            "--authorized/--no-fly")
        home = default_home(airspace, candidates[0].mean if home is None else home)
        per = []
        self.prior_entropy_ = {}
        for c in candidates:
            hyp = self._hypotheses(c, rng)
            _, _, w, labels, _, _ = hyp
            onehot, group_of = self._label_groups(labels)
            pw = w @ onehot
            self.prior_entropy_[c.name] = float(-np.sum(pw * np.log(pw)))
            per.append((self._loglik_matrices(c, hyp, legs, rng), w, onehot, group_of))
        acc = [np.zeros(L.shape[1:], dtype=np.float64) for L, *_ in per]
        budget = 60.0 * self.budget_min
        alt0 = takeoff_altitude(airspace, home, max(airspace.alt_min, min(leg.altitude for leg in legs)))
        chosen: list[Leg] = []
        gains, info_now = [], 0.0
        pos, t_used = np.array([home[0], home[1], alt0]), 2 * alt0 / CLIMB_RATE_MPS
        while True:
            best = None
            for k, leg in enumerate(legs):
                gain = sum(self._information(a + L[k], w, g, o) for a, (L, w, g, o) in zip(acc, per, strict=True))
                gain -= info_now
                if gain <= 1e-3:
                    continue
                for lg in (leg, leg.reversed()):
                    trans = (float(np.hypot(*(lg.start - pos[:2]))) / self.speed_mps
                             + abs(lg.altitude - pos[2]) / CLIMB_RATE_MPS)
                    back = float(np.hypot(*(lg.end - home[:2]))) / self.speed_mps + lg.altitude / CLIMB_RATE_MPS
                    cost = trans + lg.length / self.speed_mps + 4 * TURN_TIME_S
                    if t_used + cost + back > budget:
                        continue
                    score = gain / cost
                    if best is None or score > best[0]:
                        best = (score, k, lg, cost, gain)
            if best is None:
                break
            _, k, lg, cost, gain = best
            trial = chosen + [lg]
            plan = sorties(trial, airspace, home, self.speed_mps, alt0,
                           None if self.endurance_min is None else 60.0 * self.endurance_min)
            if sum(s.time_s for s in plan) > budget:
                legs.pop(k)  # its exact transit does not fit: try the others
                for i in range(len(per)):
                    per[i] = (np.delete(per[i][0], k, axis=0), *per[i][1:])
                if not legs:
                    break
                continue
            chosen = trial
            for i, (L, *_rest) in enumerate(per):
                acc[i] = acc[i] + L[k]
            info_now += gain
            gains.append(info_now)
            pos, t_used = np.array([lg.end[0], lg.end[1], lg.altitude]), t_used + cost
        if not chosen:
            shortest = min(sortie_time(np.array([[home[0], home[1], alt0], [lg.start[0], lg.start[1], lg.altitude],
                                                 [lg.end[0], lg.end[1], lg.altitude], [home[0], home[1], alt0]]),
                                       self.speed_mps, alt0) for lg in legs)
            raise PlanError(f"no follow-up leg fits in {self.budget_min:g} min of flight (the shortest takes "
                            f"{shortest / 60:.1f} min with its transits)", "--budget-min")
        sort = sorties(chosen, airspace, home, self.speed_mps, alt0,
                       None if self.endurance_min is None else 60.0 * self.endurance_min)
        targets = [{"name": c.name, "east": float(c.mean[0]), "north": float(c.mean[1]), "species": c.species,
                    "log_bayes": c.log_bayes, "prior_entropy_nats": self.prior_entropy_[c.name]} for c in candidates]
        self.gain_ = info_now
        self.gains_ = gains
        self.plan_ = FlightPlan(sort, home, self.speed_mps, alt0, targets,
                                info={"expected_gain_nats": round(info_now, 3), "legs": len(chosen),
                                      "budget_min": self.budget_min})
        return self


#: Class whose candidates a follow-up settles first (the lab a lead is about).
PRIORITY_CLASS = "clandestine_lab"


def follow_up_candidates(locator, max_targets: int = 3, temperature: float = 288.15,
                         pressure: float = 101325.0) -> list[Candidate]:
    """The candidates a follow-up should settle, from a fitted :class:`~plumetrace.locate.SourceLocator`.

    Its sources and its candidates below the threshold, the most probably a clandestine lab first (the class
    probability of a source, or of the strongest event a candidate explains), then the least settled (widest 90 %
    region) — a source already pinned to a house needs no flight; at most ``max_targets``.
    """
    items = [(f"source {k}", e.posterior, e.class_probabilities or {e.source_class: e.class_probability})
             for k, e in enumerate(locator.sources_, start=1)]
    items += [(f"candidate {k}", c.posterior, c.class_probabilities or {c.source_class: c.class_probability})
              for k, c in enumerate(locator.candidates_, start=1)]
    items = [it for it in items if it[1] is not None and it[1].cells.size]
    items.sort(key=lambda it: (-round(float(it[2].get(PRIORITY_CLASS, 0.0)), 2), -it[1].credible_radius()))
    return [Candidate.from_posterior(n, p, locator.sigma_models_, temperature, pressure)
            for n, p, _ in items[:max_targets]]
