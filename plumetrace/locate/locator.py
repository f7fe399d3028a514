"""Bayesian source localisation and quantification on a grid, down to the building.

:class:`SourceLocator` follows scikit-learn habits: configuration in the constructor, work in :meth:`fit`,
results in attributes ending in ``_``. It orchestrates four jobs, each in its own module:

1. Detect plume events (:class:`plumetrace.detect.PlumeDetector`): backgrounds, noise and events; bin every
   sample of a channel into observations (:mod:`plumetrace.locate.observations`).
2. Search each channel with hits on its own (the most significant first) on a grid — position × release height
   × rate, marginalised over wind-direction offsets, Pasquill classes (the σθ class and its neighbours, in every
   channel), σ families and the meander (:mod:`~plumetrace.locate.posterior`,
   kernel in :mod:`~plumetrace.locate.grid`). A source is accepted when its Bayes factor against "no source"
   exceeds ``min_log_bayes``; its plume is subtracted and the search repeats up to ``max_sources``; sources of
   one gas found so are then refitted jointly (backfitting: each re-located with the others explained away).
3. Sources of different channels near each other are one site; at each site every species' rate is fitted
   with the position fixed and given a block-bootstrap interval (:mod:`~plumetrace.locate.rates`), and the molar
   ratios are attributed to a source class (:mod:`plumetrace.detect.attribution`).
4. With building footprints, the posterior mass in each building is summed (:mod:`~plumetrace.locate.attribution`).

Named settings: :mod:`plumetrace.locate.presets`; the options' measured history: docs/localisation.md.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from plumetrace.detect import PlumeDetector
from plumetrace.detect.attribution import attribute_rates
from plumetrace.detect.signatures import load_source_classes
from plumetrace.exceptions import InputError
from plumetrace.io.survey import Survey
from plumetrace.locate.attribution import top_buildings
from plumetrace.locate.bagging import bagged
from plumetrace.locate.co_emission import co_emission
from plumetrace.locate.grid import ALPHA
from plumetrace.locate.levels import release_heights
from plumetrace.locate.multi import backfit, joint_pair
from plumetrace.locate.network import NetworkLocator, is_fixed_network
from plumetrace.locate.observations import BROADBAND, Observations, build_observations, skewed
from plumetrace.locate.posterior import MIN_OBSERVATIONS, ChannelPosterior, EvidenceMap, GridSearch
from plumetrace.locate.rates import rate_interval, wls_rate
from plumetrace.locate.result import CandidateSource, SourceEstimate, network_estimate
from plumetrace.physics.sigmas import sigma_model
from plumetrace.physics.species import SPECIES
from plumetrace.physics.stability import (
    SIGMA_THETA_CENTRES_DEG,
    day_period,
    neighbour_class_weights,
    sigma_theta_class_centre,
    sigma_theta_of_window_means,
    stability_class_from_sigma_theta,
    stability_code,
    stability_label,
)
from plumetrace.physics.wind import bounded_class_weights

__all__ = ["ChannelPosterior", "EvidenceMap", "SourceEstimate", "SourceLocator"]

#: [m] Margin of the flown area searched for channels without events (negative: inside it): outside it, a weak wide
#: plume of a far source is indistinguishable from a sensor's slow drift.
QUIET_MARGIN = -25.0
#: Time over which the model errors of neighbouring observations are correlated (a plume crossing swung by the
#: meander misses or hits as a whole) [s]: the log-likelihood is tempered by bin_s / this.
ERROR_CORRELATION_S = 5.0
#: Gauss–Hermite points of the meander offset (3: 0 and ±√3 σ, exact to degree 5).
MEANDER_OFFSETS = 3
#: σθ of window means is doubled before the σθ class table is read (one-minute means at a moving drone see about
#: half the hour's σθ), and floored at the F class centre.
SIGMA_THETA_FACTOR = 2.0
#: Prior weight of the class read from σθ when the class is estimated; the rest is shared by its neighbours
#: (one-minute means of a 45-minute survey place the class to within about one class: session 12, case 12 of the
#: follow-up bench read C for a B world).
ESTIMATED_CLASS_WEIGHT = 0.5
#: Sites of channels merge within at least this distance [m].
MIN_MERGE_REACH_M = 10.0
#: A survey whose positions span more than this (east or north) is refused: the search grid would not fit in memory,
#: and no drone survey covers it (a position glitch, or several areas in one file) [m].
MAX_SURVEY_SPAN_M = 20_000.0
#: Evidence [nats] a rejected source needs to be listed as a candidate: a Bayes factor of e ≈ 2.7, "positive"
#: evidence on Kass & Raftery's (1995) scale (2 ln B > 2).
CANDIDATE_MIN_LOG_BAYES = 1.0
#: An event is one a candidate explains when its predicted plume there reaches this fraction of its maximum.
CANDIDATE_EVENT_FRACTION = 0.05


class SourceLocator:
    """Locate and quantify emission sources in a survey (see the module docstring).

    Parameters
    ----------
    resolution, coarse_resolution : float
        Fine and coarse cell sides of the search grid [m].
    margin : float
        Distance beyond the surveyed area where sources are searched [m].
    heights : sequence of float or "auto"
        Candidate release heights [m] (uniform prior over them); ``auto``: spaced to what the lowest legs that met a
        plume resolve (:func:`plumetrace.locate.levels.release_heights`).
    stability : str, optional
        Pasquill class; by default estimated from the survey's wind-direction variability (σθ of one-minute
        means, :func:`plumetrace.physics.stability.sigma_theta_of_window_means`).
    dispersion : str or sequence of str
        σ family (families) of the forward operator; several are marginalised with equal prior weight (by
        default the open-country and urban Briggs curves: a survey rarely knows which fits its site).
    mixing_height : float, optional
        Mixing height [m]; None: unbounded.
    wind : (speed, from_deg), optional
        A fixed wind [m/s, degrees from] instead of the survey's measured wind.
    wind_offset_sd_deg : float
        Standard deviation of the wind-direction error marginalised over (offsets −σ, 0, +σ) [deg].
    q_range : (float, float)
        Range of the log-uniform prior on the rate [g/s].
    n_q : int
        Points of the rate grid.
    max_sources : int
        Sources sought per channel.
    min_log_bayes : float
        Natural-log Bayes factor a source needs against "no source" to be accepted.
    merge_radius : float
        Sources of different channels are one site when either's 90 % credible radius reaches the other, up to
        twice this [m].
    evidence_resolution : float or None
        Cell side of the per-channel evidence maps kept for fusion across surveys (``evidence_``), on a lattice
        aligned to multiples of it in the survey's frame [m]; None: no maps.
    meander_sd_deg : float, "auto" or None
        σ of a wind-direction offset shared by the observations of one block and independent between blocks
        (the plume's meander as a random effect) [deg]; ``"auto"`` from the survey's wind variability; None: one
        offset for the whole survey (``wind_offset_sd_deg`` only).
    meander_block_s : float
        Block length of the meander random effect [s].
    p_off : float
        Probability that the source is off (or its plume missed) during a block of ``meander_block_s``: an
        intermittent source's silent crossings then cost little.
    quiet_channels : bool
        Also search the gas channels without events (after those with events), over the flown area only.
    exclusion_radius : float
        A further source of the same channel is sought farther than this from those already found [m].
    lag_model : {"shift", "response"}
        How a channel's lag (``lags``) enters: ``shift`` moves the readings back by it; ``response`` applies the
        sensor's first-order response (time constant = lag) to the predicted series.
    subtract_error : float
        Fraction α of a found plume's prediction kept as model error after it is subtracted (variance +=
        (α · prediction)²).
    max_credible_radius : float or None
        An accepted posterior whose 90 % radius exceeds this is evidence of a source somewhere, not a location:
        it goes to ``unlocalised_`` instead of becoming a site [m]; None: every accepted posterior is a site.
    max_groups : int
        Channels with events that are searched, most significant first.
    lags : dict, optional
        Channel → response lag [s].
    bin_s : float
        Observation bin length [s].
    detector : dict, optional
        Keyword arguments of :class:`~plumetrace.detect.PlumeDetector`.
    source_classes : dict, optional
        Source-class library (:func:`plumetrace.detect.signatures.load_source_classes` by default).
    random_state : int or None
        Seed of the rate intervals' bootstrap; each interval draws from its own generator seeded with it, so a
        site's interval does not depend on the other sites.
    candidate_min_log_bayes : float or None
        A channel whose next source falls short of ``min_log_bayes`` but reaches this evidence [nats] keeps its
        (fine-level) posterior, listed in ``candidates_`` (for a follow-up flight); None: no candidates.
    co_emission : bool
        Weigh each candidate (below the threshold, or too broad to be a location) with the other gases' evidence
        at the position it proposes, each gas with its prior of being co-emitted from the source-class library
        (:func:`plumetrace.locate.co_emission.co_emission`); a candidate that then reaches ``min_log_bayes``, or
        an unlocalised source the other gases narrow to a location, becomes a site (docs/localisation.md).
    class_bounds : bool
        Weigh the class read from σθ with what the survey's wind speed and period of the day allow in Pasquill's
        table (:func:`plumetrace.physics.wind.bounded_class_weights`; a class the table does not allow keeps 0.1
        of its weight). Off by default: on the suite it found 2 fewer targets with 2 fewer false sites and a
        smaller median error (docs/localisation.md, session 15).
    model_error : float
        Relative model error α of the moving-platform likelihood: variance = noise² + (α · prediction)².
    calibrate : bool
        Report each site's position posterior as the bagged posterior (block Bayesian bootstrap of the tempered
        likelihood, :mod:`plumetrace.locate.calibration`): its 90 % region widens as far as the survey's own
        crossings disagree about the source. Detection, the mode, merging and the unlocalised test use the
        tempered posterior.

    Attributes
    ----------
    sources_ : list of SourceEstimate
        Sites, strongest evidence first (empty when the survey holds no source).
    detector_ : PlumeDetector
    posteriors_ : list of ChannelPosterior
        Every accepted single-channel posterior.
    unlocalised_ : list of ChannelPosterior
        Accepted posteriors too broad to be a location (``max_credible_radius``).
    candidates_ : list of CandidateSource
        Evidence below the threshold (``candidate_min_log_bayes``) and the unlocalised posteriors, strongest first,
        each with the plume events it explains: what a follow-up flight should settle.
    evidence_ : dict of str to EvidenceMap
        With ``evidence_resolution``: per channel with events in which no source was accepted, the evidence
        for a (weak) source, which fusion adds up across surveys.
    stability_ : str
        Pasquill class used.
    stability_weights_ : list of (float, float)
        (class code, prior weight) of the classes marginalised.
    sigma_theta_ : float or None
        Spread of the survey's one-minute mean wind directions [deg] (None with a given class or wind).
    heights_ : tuple of float
        Release heights searched [m] (``heights``, or those ``auto`` chose; not set for a fixed network).
    meander_sd_ : float or None
        σ of the meander offsets used [deg].
    observations_ : dict of str to Observations
        The binned observations of every channel searched or quantified.
    sigma_models_ : list of SigmaModel
    search_ : GridSearch
        The grid search used for every channel.
    """

    def __init__(self, resolution: float = 5.0, coarse_resolution: float = 25.0, margin: float = 100.0,
                 heights="auto", stability: str | None = None,
                 dispersion=("briggs_rural", "briggs_urban"), mixing_height: float | None = None,
                 wind: tuple[float, float] | None = None, wind_offset_sd_deg: float = 8.0,
                 q_range: tuple[float, float] = (1e-4, 1e2), n_q: int = 19, max_sources: int = 2,
                 min_log_bayes: float = 8.0, merge_radius: float = 50.0, evidence_resolution: float | None = None,
                 meander_sd_deg: float | str | None = None, meander_block_s: float = 10.0, p_off: float = 0.0,
                 quiet_channels: bool = True, exclusion_radius: float = 30.0, lag_model: str = "shift",
                 subtract_error: float = 0.5, max_credible_radius: float | None = 100.0, max_groups: int = 5,
                 lags: dict | None = None, bin_s: float = 1.0, detector: dict | None = None,
                 source_classes: dict | None = None, random_state: int | None = 0,
                 candidate_min_log_bayes: float | None = CANDIDATE_MIN_LOG_BAYES, calibrate: bool = True,
                 co_emission: bool = True, class_bounds: bool = False, model_error: float = ALPHA):
        self.resolution = resolution
        self.coarse_resolution = coarse_resolution
        self.margin = margin
        self.heights = heights
        self.stability = stability
        self.dispersion = dispersion
        self.mixing_height = mixing_height
        self.wind = wind
        self.wind_offset_sd_deg = wind_offset_sd_deg
        self.q_range = q_range
        self.n_q = n_q
        self.max_sources = max_sources
        self.min_log_bayes = min_log_bayes
        self.merge_radius = merge_radius
        self.evidence_resolution = evidence_resolution
        self.meander_sd_deg = meander_sd_deg
        self.meander_block_s = meander_block_s
        self.p_off = p_off
        self.quiet_channels = quiet_channels
        self.exclusion_radius = exclusion_radius
        self.lag_model = lag_model
        self.subtract_error = subtract_error
        self.max_credible_radius = max_credible_radius
        self.max_groups = max_groups
        self.lags = lags
        self.bin_s = bin_s
        self.detector = detector
        self.source_classes = source_classes
        self.random_state = random_state
        self.candidate_min_log_bayes = candidate_min_log_bayes
        self.calibrate = calibrate
        self.co_emission = co_emission
        self.class_bounds = class_bounds
        self.model_error = model_error

    def fit(self, survey: Survey, buildings=None, progress=None) -> SourceLocator:
        """Locate the sources of a survey; ``buildings`` (list of Building) enables building attribution.

        ``progress``, if given, is called with a short description of each stage as it starts (a long survey
        takes minutes: the command line shows these).
        """
        def stage(text: str) -> None:
            if progress is not None:
                progress(text)

        if self.lag_model not in ("response", "shift"):
            raise ValueError(f"lag_model must be 'response' or 'shift', not {self.lag_model!r}")
        lags = dict(self.lags or {})
        east, north = survey.data["east"].to_numpy(), survey.data["north"].to_numpy()
        span = max(float(np.nanmax(east) - np.nanmin(east)), float(np.nanmax(north) - np.nanmin(north)))
        if span > MAX_SURVEY_SPAN_M:
            raise InputError(f"the survey's positions span {span / 1e3:,.0f} km; plumetrace locates sources within "
                             f"{MAX_SURVEY_SPAN_M / 1e3:g} km (a position far from the others — a GPS glitch to 0, "
                             "0? — or several areas in one file: check the positions or split the survey)",
                             survey.path or None, column="lat")
        names = [self.dispersion] if isinstance(self.dispersion, str) else list(self.dispersion)
        self.sigma_models_ = [sigma_model(n) for n in names]
        stage(f"detecting plumes in {survey.n_samples:,} samples")
        self.detector_ = PlumeDetector(lags=lags, **(self.detector or {})).fit(survey)
        self.stability_, self.stability_weights_ = self._stability(survey)
        if is_fixed_network(survey):  # sensors that never move: their own inversion (plumetrace.locate.network)
            return self._fit_network(survey, buildings, stage)
        self.meander_sd_ = self._meander_sd()
        self.heights_ = (release_heights([e.alt_m for e in self.detector_.events_]) if isinstance(self.heights, str)
                         else tuple(float(h) for h in self.heights))
        self.search_ = GridSearch(
            sigma_models=self.sigma_models_, stability_weights=self.stability_weights_, resolution=self.resolution,
            coarse_resolution=self.coarse_resolution, margin=self.margin,
            heights=np.asarray(self.heights_, float), q_grid=self.q_grid, wind_offset_sd_deg=self.wind_offset_sd_deg,
            mixing_height=self.mixing_height,
            beta=min(1.0, self.bin_s / ERROR_CORRELATION_S), p_off=self.p_off, meander_sd_deg=self.meander_sd_,
            meander_block_s=self.meander_block_s, meander_offsets=MEANDER_OFFSETS, min_log_bayes=self.min_log_bayes,
            exclusion_radius=self.exclusion_radius, keep_rejected=self.candidate_min_log_bayes is not None,
            model_error=self.model_error)
        channels = self._channels()[: self.max_groups]
        quiet = self._quiet_channels(survey, channels) if self.quiet_channels else []
        self.posteriors_ = []
        self._weak = []
        self._searched: dict[str, list[float]] = {}  # channel → the evidence of each of its searches, in order
        self._skewed: set[str] = set()
        self.evidence_ = {}
        self.observations_: dict[str, Observations] = {}
        for k, channel in enumerate(channels + quiet, start=1):
            stage(f"locating {channel} ({k} of {len(channels) + len(quiet)} channels)")
            obs = self._observations(survey, channel, lags)
            if channel in quiet and skewed(obs):
                self._skewed.add(channel)
                continue
            residual, found, post, coarse = obs, [], None, None
            margin = QUIET_MARGIN if channel in quiet else None
            self._searched[channel] = []
            for _ in range(self.max_sources):
                # the next source is sought away from those found: after subtracting a strong plume, the model's
                # misfit around it would otherwise be taken for a second source there; the coarse pass is updated
                # where the subtraction changed the data
                if len(residual) >= MIN_OBSERVATIONS:
                    coarse = self.search_.coarse_pass(residual, margin, previous=coarse)
                post = self.search_.posterior(residual, exclude=found, margin=margin, coarse=coarse)
                self._searched[channel].append(-math.inf if post is None else post.log_bayes)
                if post is None or post.log_bayes < self.min_log_bayes:
                    break
                self.posteriors_.append(post)
                found.append((post.east, post.north))
                residual = self.search_.subtract(residual, post, self.subtract_error)
            mine = [p for p in self.posteriors_ if p.channel == channel]
            if mine and self.max_sources >= 2 and channel not in quiet:
                heights = np.asarray(self.heights_, float)
                joint = joint_pair(self.search_, obs, mine, float(heights[len(heights) // 2]),
                                   self.stability_weights_[0][0], self.subtract_error)
                if joint is not mine:
                    self.posteriors_ = [p for p in self.posteriors_ if all(p is not m for m in mine)] + joint
                    mine = joint
            if len(mine) >= 2:
                stage(f"refitting the {len(mine)} sources of {channel} jointly")
                for old, new in zip(list(mine), backfit(self.search_, obs, mine, self.subtract_error), strict=True):
                    self.posteriors_[next(i for i, p in enumerate(self.posteriors_) if p is old)] = new
                mine = [p for p in self.posteriors_ if p.channel == channel]
            if (self.candidate_min_log_bayes is not None and channel not in quiet and post is not None
                    and post.cells.size and self.candidate_min_log_bayes <= post.log_bayes < self.min_log_bayes):
                self._weak.append((post, "below the evidence threshold"))
            if self.evidence_resolution and len(residual) >= 10 and residual is obs and channel not in quiet:
                # only channels where no source was accepted: after subtracting a strong plume the residual
                # carries the model's misfit, which would add up across surveys into phantom sites
                self.evidence_[channel] = self.search_.evidence(residual, self.evidence_resolution)
        limit = self.max_credible_radius or math.inf
        if self.co_emission and (self._weak or any(p.credible_radius() > limit for p in self.posteriors_)):
            stage("the other gases at the candidates")
            co_emission(self, survey, lags, self._classes())
        stage("rates, classes and buildings of the sites")
        self.sources_ = self._sites(survey, buildings, lags)
        self.candidates_ = self._candidates(survey)
        self.search_.clear_tables()  # megabytes per channel: not kept with the fitted locator
        return self

    @property
    def q_grid(self) -> np.ndarray:
        """The rate grid [g/s]: ``n_q`` log-spaced points over ``q_range``."""
        return np.logspace(np.log10(self.q_range[0]), np.log10(self.q_range[1]), self.n_q)

    def channels_with_events(self) -> list[str]:
        """Channels located because they have plume events, most significant first (after :meth:`fit`)."""
        return self._channels()

    # ------------------------------------------------------------------------------------------------------
    def _stability(self, survey: Survey):
        self.sigma_theta_ = None
        if self.stability is not None:
            code = float(stability_code(self.stability))
        elif self.wind is None and survey.has_wind:
            data = survey.data
            sigma_theta = sigma_theta_of_window_means(data["time"].to_numpy(), data["wind_dir_deg"].to_numpy(float))
            if not np.isfinite(sigma_theta):  # under three minutes: the neutral class's centre
                sigma_theta = float(SIGMA_THETA_CENTRES_DEG[3])
            self.sigma_theta_ = sigma_theta
            floor = float(SIGMA_THETA_CENTRES_DEG[-1])
            code = float(stability_class_from_sigma_theta(max(sigma_theta * SIGMA_THETA_FACTOR, floor)))
            weights = neighbour_class_weights(code, ESTIMATED_CLASS_WEIGHT)
            speed = float(np.nanmedian(data["wind_speed_mps"].to_numpy(float)))
            if self.class_bounds and np.isfinite(speed) and speed > 0:  # the wind and the sun bound the class
                when = pd.to_datetime([float(np.nanmedian(data["time"].to_numpy(float)))], unit="s", utc=True)
                period = str(day_period(when, survey.frame.lat0, survey.frame.lon0)[0][0])
                weights = bounded_class_weights(weights, speed, float(np.nanmedian(data["alt_m"])), period)
            return str(stability_label(weights[0][0])), weights
        else:
            code = 3.0
        return str(stability_label(code)), [(code, 1.0)]

    def _meander_sd(self) -> float | None:
        """σ of the per-block direction offsets [deg]: given, or ``auto`` from the survey's wind variability.

        ``auto``: 1.5 × the spread of one-minute mean wind directions at the drone (which sees the meander near
        itself, averaged over a minute, and so underestimates the swing of the plume axis at the source's travel
        times), clipped to 3–15°; without a measured wind (or with a class given), half the class's σθ centre,
        floored at 3°.
        """
        if self.meander_sd_deg is None or self.meander_sd_deg == 0:
            return None
        if self.meander_sd_deg != "auto":
            return float(self.meander_sd_deg)
        if self.sigma_theta_ is not None:
            return float(np.clip(1.5 * self.sigma_theta_, 3.0, 15.0))
        return max(3.0, 0.5 * float(sigma_theta_class_centre(self.stability_weights_[0][0])))

    def _channels(self) -> list[str]:
        """Channels to locate, most significant first, each on its own.

        Channels that rise together in events are often *different* sources whose plumes overlap (a lab next
        to a sewer), so every channel with hits is located separately and sites are merged afterwards. A
        broadband channel is located only when no compound-specific channel has hits: it would place one source
        between several.
        """
        score: dict[str, float] = {}
        for ev in self.detector_.events_:
            for ch in ev.channels:
                score[ch] = score.get(ch, 0.0) + ev.peak_sigma
        # a gas without a molar mass in the species table cannot be quantified in g/s: it is not located
        ranked = [c for c in sorted(score, key=lambda c: -score[c]) if Survey.channel_parts(c)[0] in SPECIES]
        specific = [c for c in ranked if Survey.channel_parts(c)[0] not in BROADBAND]
        return specific or ranked

    def _quiet_channels(self, survey: Survey, located: list[str]) -> list[str]:
        """Gas channels without events: a plume below the detection threshold in every sample can still add up."""
        return [c for c in survey.channels if c not in located and Survey.channel_parts(c)[0] in SPECIES
                and Survey.channel_parts(c)[0] not in BROADBAND]

    def _observations(self, survey: Survey, channel: str, lags: dict) -> Observations:
        if channel in self.observations_:
            return self.observations_[channel]
        stats = self.detector_.channel_stats_
        sig = {r.platform: r.sigma for r in stats[stats["channel"] == channel].itertuples()}
        bg = self.detector_.background_[channel].to_numpy(dtype=float)
        lag = float(lags.get(channel, 0.0))
        if self.lag_model == "response":  # the sensor's first-order response is part of the forward operator
            obs = build_observations(survey, channel, bg, sig, 0.0, self.bin_s, wind=self.wind, response_time=lag)
        else:
            obs = build_observations(survey, channel, bg, sig, lag, self.bin_s, wind=self.wind)
        self.observations_[channel] = obs
        return obs

    def _classes(self) -> dict:
        return self.source_classes if self.source_classes is not None else load_source_classes()

    def _bagged(self, post: ChannelPosterior) -> ChannelPosterior:
        """``post``'s bagged posterior (:func:`~plumetrace.locate.bagging.bagged`), other sources explained away."""
        others = [p for p in self.posteriors_ if p.channel == post.channel and p is not post]
        residual = self.observations_[post.channel]
        for p in others:
            residual = self.search_.subtract(residual, p, self.subtract_error)
        return bagged(self.search_, residual, post, np.random.default_rng(self.random_state),
                      exclude=[(p.east, p.north) for p in others])

    def _fit_network(self, survey: Survey, buildings, stage) -> SourceLocator:
        """A fixed network: each gas located by :class:`NetworkLocator` (offsets per sensor, measured spread)."""
        self.sigma_models_ = [sigma_model(n) for n in
                              ([self.dispersion] if isinstance(self.dispersion, str) else list(self.dispersion))]
        self.meander_sd_ = None
        self.search_ = None
        self.posteriors_, self.unlocalised_, self.evidence_, self.observations_ = [], [], {}, {}
        self._weak = []
        self.network_ = {}
        classes = self._classes()
        out = []
        for channel in [c for c in survey.channels if Survey.channel_parts(c)[0] in SPECIES]:
            stage(f"locating {channel} in the fixed network")
            net = NetworkLocator(stability=self.stability_, min_log_bayes=self.min_log_bayes, wind=self.wind,
                                 random_state=self.random_state).fit(survey, channel)
            self.network_[channel] = net
            src = net.source_
            if src is None:
                continue
            species = Survey.channel_parts(channel)[0]
            se = max((src.rate_ci90_g_s[1] - src.rate_ci90_g_s[0]) / 3.29, 1e-12)
            est = network_estimate(src, survey.frame, species, channel, attribute_rates({species: (src.rate_g_s, se)},
                                                                                        classes))
            if buildings is not None:
                est.building_id, est.building_probability, est.buildings_top = top_buildings(
                    src.cells, src.mass, src.resolution, buildings, est.east, est.north)
            out.append(est)
        self.sources_ = sorted(out, key=lambda e: -e.log_bayes)
        self.candidates_ = []
        return self

    def _candidates(self, survey: Survey) -> list[CandidateSource]:
        """Weak and unlocalised evidence as candidates, with the events each explains (strongest first)."""
        out = []
        weak = self._weak + [(p, "too broad to be a location") for p in self.unlocalised_]
        for post, reason in sorted(weak, key=lambda w: -w[0].log_bayes):
            obs = self.observations_[post.channel]
            pred = self.search_.config_prediction(obs, post)
            top = float(np.max(pred)) if pred.size else 0.0
            raised = []
            for ev in self.detector_.events_:
                if post.channel not in ev.channels:
                    continue
                sel = (obs.time >= ev.t_start - self.bin_s) & (obs.time <= ev.t_end + self.bin_s)
                if top > 0 and sel.any() and float(np.max(pred[sel])) >= CANDIDATE_EVENT_FRACTION * top:
                    raised.append(ev)
            raised.sort(key=lambda e: -e.peak_sigma)
            lat, lon = survey.frame.to_wgs84(post.east, post.north)
            out.append(CandidateSource(post, float(lat), float(lon), [e.id for e in raised],
                                       raised[0].label if raised else "unknown",
                                       float(raised[0].probability) if raised else 0.0, reason,
                                       dict(raised[0].probabilities) if raised else {}))
        return out

    # ------------------------------------------------------------------------------------------------------
    def _sites(self, survey: Survey, buildings, lags) -> list[SourceEstimate]:
        posts = sorted(self.posteriors_, key=lambda p: -p.log_bayes)
        if self.max_credible_radius:
            self.unlocalised_ = [p for p in posts if p.credible_radius() > self.max_credible_radius]
            posts = [p for p in posts if p.credible_radius() <= self.max_credible_radius]
        else:
            self.unlocalised_ = []
        sites: list[list[ChannelPosterior]] = []
        for p in posts:
            # a weaker posterior joins a site when either's 90 % radius reaches the other (up to twice
            # merge_radius): sharp posteriors of nearby sources stay apart (a lab 30 m from a bakery), a broad
            # posterior of a minor gas that cannot tell its source from the site's joins it
            for site in sites:
                reach = min(max(site[0].credible_radius(), p.credible_radius(), MIN_MERGE_REACH_M),
                            2.0 * self.merge_radius)
                if math.hypot(site[0].east - p.east, site[0].north - p.north) <= reach:
                    site.append(p)
                    break
            else:
                sites.append([p])
        classes = self._classes()
        return [self._site(survey, site, lags, classes, buildings) for site in sites]

    def _site(self, survey: Survey, site: list[ChannelPosterior], lags, classes, buildings) -> SourceEstimate:
        lead = site[0]
        # the region reported is the bagged posterior's; the rates and the building ranking are the model posterior's
        region_post = self._bagged(lead) if self.calibrate else lead
        rates = self._site_rates(survey, site, lags)
        label, prob, probs = attribute_rates(rates, classes)
        cls = classes.get(label)
        intervals = {ch: self._rate_interval(ch, lead) for ch in survey.channels
                     if ch in self.observations_ and Survey.channel_parts(ch)[0] in rates}
        rate, ci = intervals.get(lead.channel) or self._rate_interval(lead.channel, lead)
        species = lead.species
        if cls is not None and cls.primary in rates and cls.primary != lead.species and lead.species in rates:
            # report the class's primary species, scaled from the located channel's rate
            ratio = rates[cls.primary][0] / max(rates[lead.species][0], 1e-30)
            if ratio > 0:
                species, rate, ci = cls.primary, rate * ratio, (ci[0] * ratio, ci[1] * ratio)
        lat, lon = survey.frame.to_wgs84(lead.east, lead.north)
        mean_e, mean_n = (float(v) for v in region_post.mass @ region_post.cells)
        mean_lat, mean_lon = survey.frame.to_wgs84(mean_e, mean_n)
        region = region_post.credible_polygon()
        est = SourceEstimate(
            east=lead.east, north=lead.north, lat=float(lat), lon=float(lon), height_m=lead.height,
            species=species, rate_g_s=rate, rate_ci90_g_s=ci, credible90_radius_m=region_post.credible_radius(),
            credible90=region, log_bayes=lead.log_bayes, source_class=label, class_probability=prob,
            class_probabilities=probs, rates_g_s={k: v[0] for k, v in rates.items()},
            channels=[p.channel for p in site], posterior=region_post,
            rates_ci90_g_s={Survey.channel_parts(ch)[0]: v[1] for ch, v in intervals.items()},
            mean_east=mean_e, mean_north=mean_n, mean_lat=float(mean_lat), mean_lon=float(mean_lon),
            credible90_equivalent_radius_m=math.sqrt(region.area / math.pi))
        if buildings is not None:
            est.building_id, est.building_probability, est.buildings_top = top_buildings(
                lead.cells, lead.mass, lead.resolution, buildings, est.east, est.north)
        return est

    def _rate_interval(self, channel: str, lead: ChannelPosterior):
        """WLS rate of ``channel`` at the site and its 90 % block-bootstrap interval (:func:`rate_interval`)."""
        obs = self.observations_[channel]
        out = rate_interval(obs, lead.cells, lead.mass,
                            lambda e, n: self.search_.config_prediction(obs, lead, e, n),
                            np.random.default_rng(self.random_state))
        return out if out is not None else (lead.rate_g_s, lead.rate_ci90_g_s)

    def _site_rates(self, survey, site: list[ChannelPosterior], lags) -> dict[str, tuple[float, float]]:
        """Species → (WLS rate, its standard error) [g/s] with the position fixed at the site.

        The plumes of the channel's sources at other sites are explained away first (:meth:`GridSearch.subtract`),
        and the standard error counts the likelihood's model error (α × the fitted plume) too, so that another
        source's plume crossing this one's path is not read as this site's emission of that gas.
        """
        lead, rates = site[0], {}
        for ch in survey.channels:
            species = Survey.channel_parts(ch)[0]
            if species not in SPECIES:
                continue
            obs = self._observations(survey, ch, lags)
            for other in (p for p in self.posteriors_ if p.channel == ch and all(p is not s for s in site)):
                obs = self.search_.subtract(obs, other, self.subtract_error)
            g = self.search_.config_prediction(obs, lead)
            q, se = wls_rate(g, obs.enhancement, obs.variance)
            if q > 0:
                se = wls_rate(g, obs.enhancement, obs.variance + (self.model_error * q * g) ** 2)[1]
            if not math.isnan(q):
                rates[species] = (q, se)
        return rates
