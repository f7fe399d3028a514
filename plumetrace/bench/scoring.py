"""Scoring against simulated ground truth (the metrics of ``plumetrace bench accuracy``).

Two families:

- **detection** (:func:`score_detection`): true plume encounters are runs where a channel's noise-free
  enhancement (as its sensor would read it) exceeds 1 σ; an encounter whose peak reaches ``k_sigma`` σ must
  be recalled by a detected event overlapping it in time. A detected event with no true enhancement above
  2 σ in any channel within its window is false. Attribution is scored on real events dominated (≥ 70 % of
  the signal) by one emitter, whose class is the true one.
- **localisation** (:func:`score_sources`): predicted sources are matched one-to-one to true emitters
  (Hungarian assignment on distance, within ``match_radius``); targets found, localisation errors, building
  top-1/top-3, rate error factor, 90 % credible-region coverage, false sites per km², and a class confusion
  matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from shapely.geometry import Point, shape


@dataclass
class SourcePrediction:
    """One predicted source in the truth's local frame (east, north in metres)."""

    east: float
    north: float
    rate_g_s: float | None = None
    species: str | None = None
    credible90_radius_m: float | None = None
    credible90: dict | None = None
    source_class: str = "unknown"
    building_id: str | None = None
    buildings_top: list[str] = field(default_factory=list)


def _matches(pred_xy: np.ndarray, true_xy: np.ndarray, radius: float) -> list[tuple[int, int, float]]:
    if len(pred_xy) == 0 or len(true_xy) == 0:
        return []
    d = np.hypot(pred_xy[:, None, 0] - true_xy[None, :, 0], pred_xy[:, None, 1] - true_xy[None, :, 1])
    cost = np.where(d <= radius, d, 1e9)
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c), float(d[r, c])) for r, c in zip(rows, cols, strict=True) if d[r, c] <= radius]


def scenario_matches(preds: list[SourcePrediction], truth: dict, match_radius: float = 50.0) -> dict:
    """One scenario's predictions matched to its emitters (as :func:`score_sources` matches them).

    Returns ``found`` (target id → error [m]), ``missed`` (target ids) and ``false_sites`` (each unmatched
    prediction's position [m] with the nearest emitter and its distance [m]): what the totals are made of.
    """
    emitters = truth["sources"]
    true_xy = np.array([[s["east_m"], s["north_m"]] for s in emitters]).reshape(-1, 2)
    pred_xy = np.array([[p.east, p.north] for p in preds]).reshape(-1, 2)
    matches = _matches(pred_xy, true_xy, match_radius)
    found = {emitters[it]["id"]: round(d, 1) for _, it, d in matches if emitters[it]["target"]}
    matched = {ip for ip, _, _ in matches}
    false_sites = []
    for ip, (e, n) in enumerate(pred_xy):
        if ip in matched:
            continue
        site = {"east_m": round(float(e), 1), "north_m": round(float(n), 1)}
        if len(true_xy):
            d = np.hypot(true_xy[:, 0] - e, true_xy[:, 1] - n)
            k = int(np.argmin(d))
            site |= {"nearest_emitter": emitters[k]["id"], "distance_m": round(float(d[k]), 1)}
        false_sites.append(site)
    missed = [s["id"] for s in emitters if s["target"] and s["id"] not in found]
    return {"found": found, "missed": missed, "false_sites": false_sites}


def score_sources(predictions: list[list[SourcePrediction]], truths: list[dict], match_radius: float = 50.0,
                  encountered: list[set[str]] | None = None, observable: list[set[str]] | None = None) -> dict:
    """Localisation metrics over a set of scenarios (see the module docstring).

    Parameters
    ----------
    predictions : list of list of SourcePrediction
        Per scenario, the predicted sources.
    truths : list of dict
        Per scenario, the content of truth.json.
    match_radius : float
        Largest distance at which a prediction counts as finding an emitter [m].
    encountered : list of set of str, optional
        Per scenario, the ids of emitters that dominate at least one true encounter (:func:`encountered_sources`):
        targets the survey never clearly crossed are then counted apart (``targets_encountered``,
        ``found_encountered``), separating misses of the flight plan from misses of the locator.
    observable : list of set of str, optional
        Per scenario, the ids of emitters whose plume is the strongest signal of at least one sample
        (:func:`observable_sources`): a target outside it left no trace in the survey that any method could
        find (``targets_observable``, ``found_observable``; ``found_ceiling``, the share of all targets that
        are observable, bounds ``detection_probability`` from above).
    """
    n_targets = found = false_sites = 0
    n_enc = found_enc = 0
    n_obs = found_obs = 0
    area = 0.0
    errors, factors, covered, covered_n = [], [], 0, 0
    top1 = top3 = with_building = 0
    confusion: dict[str, dict[str, int]] = {}
    for k, (preds, truth) in enumerate(zip(predictions, truths, strict=True)):
        emitters = truth["sources"]
        seen = encountered[k] if encountered is not None else set()
        n_enc += sum(1 for s in emitters if s["target"] and s["id"] in seen)
        traced = observable[k] if observable is not None else set()
        n_obs += sum(1 for s in emitters if s["target"] and s["id"] in traced)
        area += truth["town"]["area_km2"]
        true_xy = np.array([[s["east_m"], s["north_m"]] for s in emitters]).reshape(-1, 2)
        pred_xy = np.array([[p.east, p.north] for p in preds]).reshape(-1, 2)
        matches = _matches(pred_xy, true_xy, match_radius)
        matched_pred = {m[0] for m in matches}
        false_sites += len(preds) - len(matched_pred)
        n_targets += sum(1 for s in emitters if s["target"])
        for ip, it, dist in matches:
            s, p = emitters[it], preds[ip]
            row = confusion.setdefault(s["class"], {})
            row[p.source_class] = row.get(p.source_class, 0) + 1
            if not s["target"]:
                continue
            found += 1
            found_enc += s["id"] in seen
            found_obs += s["id"] in traced
            errors.append(dist)
            if s.get("building_id"):
                with_building += 1
                top1 += p.building_id == s["building_id"]
                top3 += s["building_id"] in (p.buildings_top[:3] or ([p.building_id] if p.building_id else []))
            species = p.species or s["primary"]
            true_rate = s["mean_rates_g_s"].get(species)
            if p.rate_g_s and true_rate:
                factors.append(float(np.exp(abs(np.log(p.rate_g_s / true_rate)))))
            if p.credible90 is not None or p.credible90_radius_m is not None:
                covered_n += 1
                if p.credible90 is not None:
                    inside = shape(p.credible90).buffer(1e-9).contains(Point(s["east_m"], s["north_m"]))
                else:
                    inside = dist <= p.credible90_radius_m
                covered += bool(inside)

    def q(values, quantile):
        return float(np.quantile(values, quantile)) if values else None

    return {
        "targets": n_targets, "targets_found": found,
        "detection_probability": found / n_targets if n_targets else None,
        **({"targets_encountered": n_enc, "found_encountered": found_enc,
            "detection_probability_encountered": found_enc / n_enc if n_enc else None}
           if encountered is not None else {}),
        **({"targets_observable": n_obs, "found_observable": found_obs,
            "detection_probability_observable": found_obs / n_obs if n_obs else None,
            "found_ceiling": n_obs / n_targets if n_targets else None}
           if observable is not None else {}),
        "false_sites": false_sites, "area_km2": area,
        "false_sites_per_km2": false_sites / area if area > 0 else None,
        "localisation_error_median_m": q(errors, 0.5), "localisation_error_p90_m": q(errors, 0.9),
        "building_top1": top1 / with_building if with_building else None,
        "building_top3": top3 / with_building if with_building else None,
        "rate_error_factor_median": q(factors, 0.5),
        "credible90_coverage": covered / covered_n if covered_n else None,
        "confusion": confusion,
    }


def _runs(mask: np.ndarray, breaks: np.ndarray):
    """(start, end) index pairs of True runs, split at breaks."""
    m = mask.astype(np.int8)
    edges = np.diff(np.concatenate(([0], m, [0])))
    starts = list(np.flatnonzero(edges == 1))
    ends = list(np.flatnonzero(edges == -1))
    out = []
    for s, e in zip(starts, ends, strict=True):
        cuts = [s] + [int(i) for i in np.flatnonzero(breaks[s + 1:e]) + s + 1] + [e]
        out += [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1)]
    return out


def true_encounters(enhancement: pd.DataFrame, sigma: dict[str, float], k_sigma: float = 5.0) -> pd.DataFrame:
    """True plume encounters per platform and channel: runs above 1 σ whose peak is at least ``k_sigma`` σ."""
    rows = []
    for platform, g in enhancement.groupby("platform", sort=False):
        t = g["time"].to_numpy()
        dt = float(np.median(np.diff(t))) if t.size > 1 else 1.0
        breaks = np.concatenate(([True], np.diff(t) > 5 * dt))
        for col, s in sigma.items():
            enh = g[f"enh_{col}"].to_numpy()
            for a, b in _runs(enh > s, breaks):
                p = a + int(np.argmax(enh[a:b]))
                if enh[p] >= k_sigma * s:
                    rows.append({"platform": platform, "channel": col, "t_start": t[a], "t_end": t[b - 1],
                                 "t_peak": t[p], "peak_sigma": enh[p] / s, "source": g["source"].iloc[p]})
    return pd.DataFrame(rows, columns=["platform", "channel", "t_start", "t_end", "t_peak", "peak_sigma", "source"])


def observable_sources(enhancement: pd.DataFrame, sigma: dict[str, float], k_sigma: float = 1.0) -> set[str]:
    """Ids of the emitters whose plume is the strongest signal of at least one sample reading ≥ ``k_sigma`` σ.

    ``enhancement`` is ``Simulation.enhancement`` (its ``source`` column names, per sample, the emitter with the
    strongest signal in noise units); a sample counts when any channel's noise-free enhancement reaches
    ``k_sigma`` times that channel's noise σ. An emitter outside this set was off, or outside every plume the
    platforms crossed, or always under a stronger neighbour's plume: the survey holds no trace of it.
    """
    if enhancement.empty or "source" not in enhancement:
        return set()
    strong = np.zeros(len(enhancement), dtype=bool)
    for col, s in sigma.items():
        if f"enh_{col}" in enhancement and s > 0:
            strong |= enhancement[f"enh_{col}"].to_numpy(dtype=float) >= k_sigma * s
    return {str(v) for v in enhancement["source"].to_numpy()[strong] if isinstance(v, str) and v}


def encountered_sources(encounters: pd.DataFrame) -> set[str]:
    """Ids of the emitters that dominate at least one true encounter (:func:`true_encounters`)."""
    return {str(s) for s in encounters["source"].dropna().unique() if s}


def score_detection(events: list, enhancement: pd.DataFrame, sigma: dict[str, float], emitters: dict,
                    patterns: dict, flight_hours: float, k_sigma: float = 5.0, slack: float = 5.0,
                    min_share: float = 0.7) -> dict:
    """Detection and attribution scores of one survey (see the module docstring).

    Parameters
    ----------
    events : list of Event
        From :class:`plumetrace.detect.PlumeDetector`.
    enhancement : pandas.DataFrame
        ``Simulation.enhancement``.
    sigma : dict
        Channel → true noise σ of its sensor.
    emitters : dict
        Emitter id → (class key, the emitter's channel pattern from
        :func:`plumetrace.detect.attribution.ratios_pattern`).
    patterns : dict
        Class key → :class:`~plumetrace.detect.attribution.ClassPattern` on the survey's channels.
    flight_hours : float
    k_sigma : float
        Peak (in σ) from which an encounter must be recalled.
    slack : float
        Time tolerance when overlapping events with encounters [s].
    min_share : float
        An event counts for attribution only if one emitter gives at least this share of the signal at its
        peak (otherwise it is a mixture with no single true class).

    Notes
    -----
    A label counts as correct when it is the true class, or when the emitter's own ratios lie within a
    factor of 3 of the predicted class in every channel ratio (the channels cannot tell the two apart).
    """
    from plumetrace.detect.attribution import indistinguishable

    enc = true_encounters(enhancement, sigma, k_sigma)
    recalled = np.zeros(len(enc), dtype=bool)
    false_events = mixed = 0
    attributions = []
    by_platform = {p: g for p, g in enhancement.groupby("platform", sort=False)}
    for ev in events:
        lo, hi = ev.t_start - slack, ev.t_end + slack
        hit = (enc["platform"] == ev.platform) & (enc["t_end"] >= lo) & (enc["t_start"] <= hi)
        recalled |= hit.to_numpy()
        g = by_platform.get(ev.platform)
        window = g[(g["time"] >= lo) & (g["time"] <= hi)] if g is not None else None
        real = window is not None and any((window[f"enh_{c}"] > 2 * s).any() for c, s in sigma.items())
        if not real:
            false_events += 1
            continue
        near = g.iloc[int(np.argmin(np.abs(g["time"].to_numpy() - ev.t_peak)))]
        source = near["source"]
        if not source:
            continue
        if near.get("source_share", 1.0) < min_share:
            mixed += 1
            continue
        true_class, pattern = emitters[source]
        ok = ev.label == true_class or (ev.label in patterns and indistinguishable(pattern, patterns[ev.label]))
        attributions.append((true_class, ev.label, bool(ok)))
    labelled = [a for a in attributions if a[1] != "unknown"]
    confusion: dict[str, dict[str, int]] = {}
    for t, p, _ in attributions:
        confusion.setdefault(t, {})
        confusion[t][p] = confusion[t].get(p, 0) + 1
    return {
        "encounters": int(len(enc)), "recalled": int(recalled.sum()),
        "events": len(events), "false_events": false_events, "flight_hours": flight_hours,
        "attributed": len(attributions), "mixed": mixed, "labelled": len(labelled),
        "correct": sum(1 for a in labelled if a[2]),
        "exact": sum(1 for a in labelled if a[0] == a[1]), "confusion": confusion,
        "sources_encountered": sorted(encountered_sources(enc)),
    }
