"""Co-emission evidence: a candidate of one gas weighed with the other gases at the position it proposes.

A source that emits several gases gives each the same plume; see :func:`co_emission` and docs/methods.md §8.2a.
Used by :class:`plumetrace.locate.SourceLocator` (``co_emission=True``, the default).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from plumetrace.detect.signatures import SourceClass
from plumetrace.io.survey import Survey
from plumetrace.locate.bagging import bag_cells
from plumetrace.locate.levels import cell_keys
from plumetrace.locate.observations import BROADBAND, Observations
from plumetrace.locate.posterior import MIN_OBSERVATIONS, ChannelPosterior, GridSearch, log_integral_over_rate
from plumetrace.numerics import log_sum_exp
from plumetrace.physics.species import SPECIES

#: Prior probability that a source emits a given further gas when the source-class library says nothing about
#: it (a lead gas no class emits; each gas independently: a uniform prior over the subsets of gases).
CO_EMISSION_PRIOR = 0.5
#: Share of sources belonging to no class of the library (each of their further gases emitted with probability
#: :data:`CO_EMISSION_PRIOR`): a gas pair no known class emits together keeps a prior of 0.05, one every class
#: emitting the lead gas also emits gets 0.95.
UNKNOWN_CLASS_SHARE = 0.1
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


def emits(cls: SourceClass, species: str) -> float:
    """Probability that an emitter of class ``cls`` emits ``species`` (1 for its primary, the ratio's presence)."""
    if cls.primary == species:
        return 1.0
    ratio = cls.ratios.get(species)
    return float(ratio.presence) if ratio is not None and ratio.median > 0 else 0.0


def co_emission_prior(lead: str, other: str, classes: dict[str, SourceClass]) -> float:
    """Prior probability π that a source emitting ``lead`` also emits ``other``, from the source-class library.

    Classes equally likely a priori, each emitting a species with its presence probability (independently):
    P(other | lead) = Σ_k p_k(lead) p_k(other) / Σ_k p_k(lead); mixed with a share :data:`UNKNOWN_CLASS_SHARE`
    of sources of no known class, which emit ``other`` with probability :data:`CO_EMISSION_PRIOR`.

    >>> from plumetrace.detect.signatures import load_source_classes
    >>> lib = load_source_classes()
    >>> round(co_emission_prior("toluene", "tetrachloroethylene", lib), 3)  # no class emits both
    0.05
    >>> round(co_emission_prior("acetone", "toluene", lib), 3)  # the paint shop and the lab both do
    0.95
    """
    lead_p = np.array([emits(c, lead) for c in classes.values()])
    if lead_p.sum() <= 0:
        return CO_EMISSION_PRIOR
    known = float(lead_p @ np.array([emits(c, other) for c in classes.values()]) / lead_p.sum())
    return (1.0 - UNKNOWN_CLASS_SHARE) * known + UNKNOWN_CLASS_SHARE * CO_EMISSION_PRIOR


def co_emission(loc, survey: Survey, lags: dict, classes: dict[str, SourceClass]) -> None:
    """A fitted locator's candidates and unlocalised sources weighed with the other gases at their positions.

    A source emitting several gases gives each the same plume. A candidate of one channel (below the threshold,
    or above it but too broad to be a location) is taken as the position prior of the other gases. Each other
    gas c, its localised sources explained away, either comes (with probability π_c, :func:`co_emission_prior`
    from the source-class library) from the same source at x, or its plumes are explained as they are without
    it (its own search's evidence Z_c for one more source anywhere, against none). The evidence of "a source at
    x emitting this gas and possibly others" against "none here" is then

        B = B_lead · Σ_x p(x | lead) Π_c [1 − π_c + π_c · B_c(x) / Z̄_c],   Z̄_c = 1 − π_c + π_c · Z_c,

    with B_c(x) the gas's Bayes factor for a source in cell x, rate, height and configuration integrated out
    (:func:`cell_log_bayes`). A gas supports x only where it points at x more than at the survey
    area as a whole; a gas that is not there costs little. The position posterior is p(x | lead) Π_c [...]
    normalised. A candidate whose B reaches ``min_log_bayes`` becomes a source; an unlocalised source whose
    joint posterior is supported by the other gases (Σ_x … > 1) and narrow enough becomes a localised one.
    Broadband channels are left out: their residual holds every other organic source. The class prior keeps two
    broad posteriors of different sources from meeting between them (a paint shop's toluene and a dry cleaner's
    tetrachloroethylene 63 m apart, ``05_stability_E``: no class emits both, π = 0.05).
    """
    limit = loc.max_credible_radius or math.inf
    # a quiet channel left unsearched for its skewed noise would read that noise as support
    gases = [c for c in survey.channels if Survey.channel_parts(c)[0] in SPECIES
             and Survey.channel_parts(c)[0] not in BROADBAND and c not in loc._skewed]
    other: dict[str, tuple[Observations, float]] = {}

    def residual(channel: str) -> tuple[Observations, float]:
        """The channel's observations less its localised sources, and log Z of that residual."""
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
            other[channel] = (obs, float(log_z))
        return other[channel]

    def support_terms(post: ChannelPosterior, cells: np.ndarray) -> dict[str, np.ndarray]:
        """Each other gas's log [1 − π + π B_c(x) / Z̄_c] at ``cells``."""
        out = {}
        for channel in gases:
            if channel == post.channel:
                continue
            obs, log_z = residual(channel)
            if len(obs) < MIN_OBSERVATIONS:
                continue
            prior = co_emission_prior(post.species, Survey.channel_parts(channel)[0], classes)
            out[channel] = _or_emitted(gas_log_bayes(channel, obs, cells) - _or_emitted(log_z, prior), prior)
        return out

    known: dict[str, dict[tuple[float, float], float]] = {}

    def gas_log_bayes(channel: str, obs: Observations, cells: np.ndarray) -> np.ndarray:
        """:func:`cell_log_bayes` of the channel's residual, each cell computed once for every candidate."""
        store = known.setdefault(channel, {})
        keys = cell_keys(cells)
        missing = [i for i, k in enumerate(keys) if k not in store]
        if missing:
            store.update(zip([keys[i] for i in missing], cell_log_bayes(loc.search_, obs, cells[missing]).tolist(),
                             strict=True))
        return np.array([store[k] for k in keys])

    def joint(post: ChannelPosterior) -> tuple[ChannelPosterior, float]:
        # only where the candidate's own gas puts it (99.9 % of its mass): a cell it all but rules out is not
        # made its position by another gas's plume from there
        order = np.argsort(-post.mass)
        keep = np.sort(order[: int(np.searchsorted(np.cumsum(post.mass[order]), CO_EMISSION_MASS)) + 1])
        post = post.reweighted(keep, post.mass[keep] / post.mass[keep].sum())
        lm = np.log(np.maximum(post.mass, 1e-300))
        terms = support_terms(post, post.cells)
        total = lm + sum(terms.values(), np.zeros(lm.size))
        support = {ch: round(float(log_sum_exp(lm + t)), 3) for ch, t in terms.items()}
        norm = float(log_sum_exp(total))
        mass = np.exp(total - norm)
        i = int(np.argmax(mass))
        east, north = float(post.cells[i, 0]), float(post.cells[i, 1])
        config = {**post.config, "east": east, "north": north, "lead_log_bayes": post.log_bayes,
                  "co_emission": support}
        return post.reweighted(np.arange(post.mass.size), mass, log_bayes=post.log_bayes + norm, east=east,
                               north=north, config=config), norm

    def with_bag_term(post: ChannelPosterior) -> ChannelPosterior:
        """``post`` with the other gases' support over the cells its bagged posterior will weigh."""
        cells = bag_cells(post)
        term = sum(support_terms(post, cells).values(), np.zeros(len(cells)))
        return replace(post, config={**post.config, "co_emission_cells": cells, "co_emission_term": term})

    leads = [(p, r, False) for p, r in loc._weak]
    leads += [(p, "too broad to be a location", True) for p in loc.posteriors_ if p.credible_radius() > limit]
    weak, promoted, replaced = [], [], {}
    for post, reason, broad in leads:
        new, norm = joint(post) if post.cells.size else (post, 0.0)
        if broad and norm > 0 and new.credible_radius() <= limit:
            replaced[id(post)] = new
        elif not broad and new.log_bayes >= loc.min_log_bayes:
            promoted.append(new)
        elif not broad:
            weak.append((post, reason))
    promoted = [with_bag_term(p) for p in promoted]
    replaced = {k: with_bag_term(v) for k, v in replaced.items()}
    loc.posteriors_ = [replaced.get(id(p), p) for p in loc.posteriors_] + promoted
    sharpened = promoted + list(replaced.values())
    # a candidate of another gas inside a newly localised source's 90 % radius is that source
    loc._weak = [(p, r) for p, r in weak if all(math.hypot(p.east - s.east, p.north - s.north)
                                                 > s.credible_radius() for s in sharpened)]


def _or_emitted(log_b, prior: float = CO_EMISSION_PRIOR):
    """log[(1 − π) + π · B]: a gas emitted with probability π (``prior``) with Bayes factor B."""
    return np.logaddexp(math.log1p(-prior), math.log(prior) + log_b)
