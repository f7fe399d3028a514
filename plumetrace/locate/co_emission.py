"""Co-emission evidence: a candidate of one gas weighed with the other gases at the position it proposes.

A source that emits several gases gives each the same plume; see :func:`co_emission` and docs/methods.md §8.2a.
Used by :class:`plumetrace.locate.SourceLocator` with ``co_emission=True``.
"""

from __future__ import annotations

import math

import numpy as np

from plumetrace.io.survey import Survey
from plumetrace.locate.observations import BROADBAND, Observations
from plumetrace.locate.posterior import MIN_OBSERVATIONS, ChannelPosterior, GridSearch, log_integral_over_rate
from plumetrace.numerics import log_sum_exp
from plumetrace.physics.species import SPECIES

#: Prior probability that a source emits a given further gas (each gas independently: a uniform prior over the
#: subsets of gases a source emits) in the co-emission evidence (:func:`co_emission`).
CO_EMISSION_PRIOR = 0.5
#: Share of a candidate's own position posterior within which the other gases are weighed.
CO_EMISSION_MASS = 0.999


def cell_log_bayes(search: GridSearch, obs: Observations, cells: np.ndarray) -> np.ndarray:
    """Log Bayes factor of "a source in this cell" against "none" for each of ``cells`` (n, 2) [m].

    Release height, rate, wind offset, stability class and σ family are integrated out under their priors (as in
    :meth:`GridSearch.posterior`), the position is not: this is the likelihood ratio a position prior from
    another channel is averaged against (:func:`co_emission`).
    """
    x, y = np.asarray(cells[:, 0], float), np.asarray(cells[:, 1], float)
    heights = np.asarray(search.heights, float)
    q = search.q_grid
    meander = search.meander(obs)
    acc = np.full(x.size, -np.inf)
    for offset, code, m, weight in search.configs():
        d, _ = search._loglik(x, y, heights, obs, offset, code, m, q, meander, tabulated=True)
        acc = np.logaddexp(acc, log_sum_exp(log_integral_over_rate(d), axis=1) + math.log(weight))
    return acc - math.log(heights.size) - math.log(q.size)


def co_emission(loc, survey: Survey, lags: dict) -> None:
    """A fitted locator's candidates (below the threshold) weighed with the other gases at the same position.

    A source emitting several gases gives each the same plume. A candidate of one channel is taken as the
    position prior of the other gases. Each other gas c, its localised sources explained away, either comes
    (with probability π = :data:`CO_EMISSION_PRIOR`) from the same source at x, or its plumes are explained as
    they are without it (its own search's evidence Z_c for one more source anywhere, against none). The
    evidence of "a source at x emitting this gas and possibly others" against "none here" is then

        B = B_lead · Σ_x p(x | lead) Π_c [1 − π + π · B_c(x) / Z̄_c],   Z̄_c = 1 − π + π · Z_c,

    with B_c(x) the gas's Bayes factor for a source in cell x, rate, height and configuration integrated out
    (:func:`cell_log_bayes`). A gas supports x only where it points at x more than at the survey
    area as a whole; a gas that is not there costs little. The position posterior is p(x | lead) Π_c [...]
    normalised. A candidate whose B reaches ``min_log_bayes`` becomes a source. Broadband channels are left
    out: their residual holds every other organic source. Posteriors too broad to be a location are not
    sharpened so: two broad posteriors of different sources (a paint shop and a dry cleaner 63 m apart in a
    stable night) meet between them (``05_stability_E``: a false site 75 m from either).
    """
    limit = loc.max_credible_radius or math.inf
    # a quiet channel left unsearched for its skewed noise would read that noise as support
    gases = [c for c in survey.channels if Survey.channel_parts(c)[0] in SPECIES
             and Survey.channel_parts(c)[0] not in BROADBAND and c not in loc._skewed]
    other: dict[str, tuple[Observations, float]] = {}

    def residual(channel: str) -> tuple[Observations, float]:
        """The channel's observations less its localised sources, and log Z̄ of that residual."""
        if channel not in other:
            obs = loc._observations(survey, channel, lags)
            mine = [p for p in loc.posteriors_ if p.channel == channel]
            located = [p for p in mine if p.credible_radius() <= limit]
            for p in located:
                obs = loc.search_.subtract(obs, p, loc.subtract_error)
            done = loc._searched.get(channel, [])
            first = mine[:len(located)]  # the localised sources were found before the others
            if len(located) < len(done) and all(a is b for a, b in zip(first, located, strict=True)):
                log_z = done[len(located)]  # the search that ran on exactly this residual
            else:
                post = loc.search_.posterior(obs)
                log_z = -math.inf if post is None else post.log_bayes
            other[channel] = (obs, float(_or_emitted(log_z)))
        return other[channel]

    def joint(post: ChannelPosterior) -> ChannelPosterior:
        # only where the candidate's own gas puts it (99.9 % of its mass): a cell it all but rules out is not
        # made its position by another gas's plume from there
        order = np.argsort(-post.mass)
        keep = np.sort(order[: int(np.searchsorted(np.cumsum(post.mass[order]), CO_EMISSION_MASS)) + 1])
        post = post.reweighted(keep, post.mass[keep] / post.mass[keep].sum())
        lm = np.log(np.maximum(post.mass, 1e-300))
        total = lm.copy()
        support = {}
        for channel in gases:
            if channel == post.channel:
                continue
            obs, log_zbar = residual(channel)
            if len(obs) < MIN_OBSERVATIONS:
                continue
            term = _or_emitted(cell_log_bayes(loc.search_, obs, post.cells) - log_zbar)
            total += term
            support[channel] = round(float(log_sum_exp(lm + term)), 3)
        norm = float(log_sum_exp(total))
        mass = np.exp(total - norm)
        i = int(np.argmax(mass))
        east, north = float(post.cells[i, 0]), float(post.cells[i, 1])
        config = {**post.config, "east": east, "north": north, "lead_log_bayes": post.log_bayes,
                  "co_emission": support}
        return post.reweighted(np.arange(post.mass.size), mass, log_bayes=post.log_bayes + norm, east=east,
                               north=north, config=config)

    weak, promoted = [], []
    for post, reason in loc._weak:
        new = joint(post) if post.cells.size else post
        if new.log_bayes >= loc.min_log_bayes:
            promoted.append(new)
        else:
            weak.append((post, reason))
    loc.posteriors_ += promoted
    # a candidate of another gas inside a promoted source's 90 % radius is that source
    loc._weak = [(p, r) for p, r in weak if all(math.hypot(p.east - s.east, p.north - s.north)
                                                 > s.credible_radius() for s in promoted)]


def _or_emitted(log_b):
    """log[(1 − π) + π · B]: a gas emitted with probability π = :data:`CO_EMISSION_PRIOR` with Bayes factor B."""
    return np.logaddexp(math.log1p(-CO_EMISSION_PRIOR), math.log(CO_EMISSION_PRIOR) + log_b)
