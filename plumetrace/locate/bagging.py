"""A posterior's bagged version: the reported 90 % region (pure math on arrays).

:func:`bagged` re-weighs the survey's blocks of crossings (:func:`~plumetrace.locate.calibration.bootstrap_weights`)
and averages the replicates' position posteriors (:func:`~plumetrace.locate.calibration.bagged_mass`); method and
references in :mod:`plumetrace.locate.calibration` and docs/methods.md §8.4. A posterior sharpened by the other
gases a source emits (:mod:`plumetrace.locate.co_emission`) carries their log support per cell
(``config["co_emission_cells"]``, ``config["co_emission_term"]``), and every replicate is weighed with it: the other
gases' data are not re-sampled, so their support is a fixed factor of each replicate's likelihood.
"""

from __future__ import annotations

import math

import numpy as np

from plumetrace.locate.calibration import BAG_BLOCK_S, BAG_REPLICATES, bagged_mass, block_groups, bootstrap_weights
from plumetrace.locate.grid import meander_blocks
from plumetrace.locate.levels import cell_keys, log_integral_over_rate
from plumetrace.locate.observations import Observations
from plumetrace.locate.posterior import ChannelPosterior, GridSearch
from plumetrace.numerics import log_sum_exp

#: The bagged posterior leaves out the (wind offset, class, σ family) configurations holding less than this share of
#: the tempered posterior (46 nats below the total). Re-weighing the blocks of a long survey shifts a
#: configuration's log-likelihood by tens of nats: cut at 1e-3 or 1e-6, replicates revived the cut configurations and
#: regions shrank (tests/locate/test_bagging.py, test_calibration.py).
BAG_MIN_CONFIG_MASS = 1e-20


def bag_cells(post: ChannelPosterior) -> np.ndarray:
    """The cells (n, 2) [m] the bagged posterior of ``post`` is evaluated on.

    ``post``'s fine cells and a disc around its mode (twice its 90 % radius, 30–120 m), so that a replicate whose
    mode moves beyond the tempered posterior's region is still counted.
    """
    step = post.resolution
    radius = float(np.clip(2.0 * post.credible_radius(), 30.0, 120.0))
    k = int(math.ceil(radius / step))
    ii, jj = np.meshgrid(np.arange(-k, k + 1), np.arange(-k, k + 1), indexing="ij")
    disc = np.hypot(ii, jj) * step <= radius
    ring = np.column_stack((post.east + ii[disc] * step, post.north + jj[disc] * step))
    return np.unique(np.round(np.vstack((post.cells, ring)), 3), axis=0)


def cell_term(cells: np.ndarray, known_cells: np.ndarray, known_term: np.ndarray) -> np.ndarray:
    """``known_term`` looked up at ``cells`` by position (to the millimetre).

    Cells not among ``known_cells`` get the smallest known value (a cell the other gases were not evaluated at is
    given no support).

    >>> cell_term(np.array([[0.0, 5.0], [9.0, 9.0]]), np.array([[0.0, 5.0]]), np.array([2.0])).tolist()
    [2.0, 2.0]
    """
    lookup = dict(zip(cell_keys(known_cells), np.asarray(known_term, float).tolist(), strict=True))
    floor = float(np.min(known_term)) if len(known_term) else 0.0
    return np.array([lookup.get(k, floor) for k in cell_keys(cells)])


def bagged(search: GridSearch, obs: Observations, post: ChannelPosterior, rng: np.random.Generator, exclude=(),
           replicates: int = BAG_REPLICATES, block_s: float = BAG_BLOCK_S,
           size_factor: float = 1.0) -> ChannelPosterior:
    """``post`` with its position posterior replaced by the bagged one (:mod:`~plumetrace.locate.calibration`).

    The replicates are evaluated on :func:`bag_cells`. The mode, evidence, rate and configuration stay ``post``'s;
    ``config["credible90_radius_tempered_m"]`` keeps the tempered posterior's 90 % radius. Configurations holding
    under :data:`BAG_MIN_CONFIG_MASS` of ``post`` are left out. A co-emission term in ``post.config`` (see the
    module) multiplies every replicate's posterior. ``size_factor`` is c of a bootstrap data set c·N blocks large
    (every weight times c; Huggins & Miller 2023 §3): the replicates' own width shrinks by √c, the spread between
    them does not.
    """
    if not post.cells.size:
        return post
    meander = search.meander(obs) or meander_blocks(obs.time, obs.platform, block_s, 0.0, 1)
    groups = block_groups(obs.time, obs.platform, meander.order, meander.starts, block_s)
    n_groups = int(groups.max()) + 1
    weights = size_factor * bootstrap_weights(n_groups, replicates, rng)[:, groups]
    cells = bag_cells(post)
    x, y = search._excluded(cells[:, 0], cells[:, 1], exclude)
    heights = np.asarray(search.heights, float)
    log_prior = np.full(x.size, -np.log(heights.size))
    if post.config.get("co_emission_term") is not None:
        log_prior += cell_term(np.column_stack((x, y)), np.asarray(post.config["co_emission_cells"]),
                               np.asarray(post.config["co_emission_term"]))
    acc = np.full((replicates, x.size), -np.inf)
    by_setting: dict = {}
    configs = post.config.get("configs") or search.configs()
    config_mass = post.config.get("config_mass") or [1.0] * len(configs)
    for (offset, code, m, weight), cm in zip(configs, config_mass, strict=True):
        if cm < BAG_MIN_CONFIG_MASS:
            continue  # a configuration the tempered posterior all but rules out
        d, _ = search._loglik(x, y, heights, obs, offset, code, m, search.q_grid, meander, weights, tabulated=True)
        lq = log_integral_over_rate(d)  # (replicate, cell, height)
        prior = math.log(weight) + log_prior
        acc = np.logaddexp(acc, log_sum_exp(lq, axis=2) + prior)
        for k, h in enumerate(heights):  # the joint mass of (class, σ family, height) and the cell, as in the model's
            key = (float(code), int(m), float(h))
            by_setting[key] = np.logaddexp(by_setting.get(key, -np.inf), lq[:, :, k] + prior)
    norm = log_sum_exp(acc, axis=1)[:, None]  # each replicate's posterior normalised, then averaged
    config = {**post.config, "credible90_radius_tempered_m": post.credible_radius(), "bag_replicates": replicates,
              "bag_blocks": n_groups, "bag_size_factor": size_factor}
    return ChannelPosterior(**{**post.__dict__, "cells": np.column_stack((x, y)), "mass": bagged_mass(acc),
                               "config": config, "setting_mass": {
                                   k: np.mean(np.exp(v - norm), axis=0) for k, v in by_setting.items()}})
