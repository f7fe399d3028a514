"""Fusion of the evidence of many surveys into persistent, possibly intermittent, sites (pure math).

Every survey brings, per gas channel with plume events, an evidence map: the log Bayes factor of "a source
in this cell" against "no source" on a lattice shared by the campaign (:class:`~plumetrace.locate.locator.
EvidenceMap`), plus the sources its locator accepted on its own. For each channel the maps are combined cell
by cell:

* ``mode="persistent"``: the source emitted during every survey, so the likelihoods multiply —
  ``F = Σ_s log BF_s``;
* ``mode="intermittent"`` (default; labs cook in batches): each survey is "on" with probability ``p_active``
  and "off" otherwise, ``F = Σ_s log(p·BF_s + 1 − p)``. A survey that measured the channel over the cell but
  saw no plume event at all (so no map) counts as off, ``log(1 − p)`` — a site that stops emitting loses
  confidence survey by survey instead of vanishing.

A site's evidence is that of the source lying in its neighbourhood (``site_radius``) under a uniform prior
over the campaign lattice: ``log(Σ_nbhd e^F / N_cells)``, the same normalisation the single-survey locator
uses for its Bayes factor, so weak surveys that each fall short of ``min_log_bayes`` can add up to a confirmed
site. Because one source may show in different gases on different days, the channels of each survey are also
combined into one "any channel" map (the mean of their Bayes factors: a uniform prior over which gas carries the
signal) and fused the same way (maps are kept only for channels in which the survey accepted no source: a strong
plume's residual would add up to phantoms). Peaks are taken greedily with suppression of ``merge_radius``; sites
of different channels closer than ``merge_radius`` are one site. Position: the posterior mean of the fused map
in the neighbourhood, combined (inverse variance) with the fine-grid estimates of single surveys that saw the
site (90 % radius r of a circular Gaussian: σ = r / √(2 ln 10)). The activity history lists, per survey covering
the site, its local evidence and whether it saw the site (``log BF ≥ detect_log_bf`` or an accepted estimate
there). Confidence
is the logistic of the site's evidence with prior odds set so that a site at the confirmation threshold has
0.95: ``1 / (1 + exp(−(log B − min_log_bayes + ln 19)))``.

References: docs/methods.md §8–9 (grid posteriors, combining surveys); Kass, R. E. and Raftery, A. E. (1995),
Bayes factors, *JASA* 90, 773–795 (evidence scale).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from plumetrace.locate.result import SurveyResult
from plumetrace.numerics import log_sum_exp

#: Radius holding 90 % of a circular 2-D Gaussian, in units of its σ: √(2 ln 10).
R90_PER_SIGMA = math.sqrt(2.0 * math.log(10.0))


@dataclass
class FusedSite:
    """A site supported by the evidence of one or more surveys."""

    east: float
    north: float
    credible90_radius_m: float
    channels: list
    species: list
    log_bayes: float
    confidence: float
    status: str  # "confirmed" or "candidate"
    activity: str  # "active" (seen on the last survey covering it) or "dormant"
    source_class: str
    building_id: str | None
    rate_g_s: float | None
    first_seen: float | None
    last_seen: float | None
    n_covering: int
    n_detected: int
    history: list = field(default_factory=list)
    estimate_ids: list = field(default_factory=list)


class SiteFuser:
    """Combine survey evidence into sites (see the module docstring).

    Parameters
    ----------
    mode : {"intermittent", "persistent"}
    p_active : float
        Prior probability that an intermittent source emits during a given survey.
    min_log_bayes : float
        Evidence of a confirmed site (the single-survey locator's threshold).
    candidate_log_bayes : float
        Evidence below which a peak is not reported at all.
    site_radius : float
        Neighbourhood whose evidence makes a site's [m].
    merge_radius : float
        Peaks and sites closer than this are one [m].
    detect_log_bf : float
        Local evidence at which a survey counts as having seen the site.
    max_sites : int
        Peaks examined per channel.
    min_cluster_m : float
        Estimates of different surveys are one site when they share a gas channel and are closer than the
        root-sum-square of their 90 % radii, at least this and at most ``merge_radius`` [m].
    class_species : dict, optional
        Class → its gases (primary and ratio species). A site takes a class from its surveys' estimates only
        if one of the gases that define the site belongs to that class: a bakery's ethanol site beside a lab
        is not called a lab because the lab's solvents reach it.

    Attributes
    ----------
    sites_ : list of FusedSite
        Best first.
    fused_ : dict
        Channel → (x0, y0, step, F) the fused log-evidence lattice.
    """

    def __init__(self, mode: str = "intermittent", p_active: float = 0.5, min_log_bayes: float = 10.0,
                 candidate_log_bayes: float = 3.0, site_radius: float = 60.0, merge_radius: float = 45.0,
                 detect_log_bf: float = 2.0, max_sites: int = 10, min_cluster_m: float = 15.0,
                 class_species: dict | None = None):
        self.mode = mode
        self.p_active = p_active
        self.min_log_bayes = min_log_bayes
        self.candidate_log_bayes = candidate_log_bayes
        self.site_radius = site_radius
        self.merge_radius = merge_radius
        self.detect_log_bf = detect_log_bf
        self.max_sites = max_sites
        self.min_cluster_m = min_cluster_m
        self.class_species = class_species

    def fit(self, surveys: list[SurveyResult]) -> SiteFuser:
        """Fuse the surveys' evidence (:class:`~plumetrace.locate.SurveyResult`: maps, estimates, extent) into sites."""
        if self.mode not in ("intermittent", "persistent"):
            raise ValueError(f"mode must be 'intermittent' or 'persistent', not {self.mode!r}")
        if not 0.0 < self.p_active <= 1.0:
            raise ValueError("p_active must be in (0, 1]")
        surveys = sorted(surveys, key=lambda s: s.time)
        self.fused_ = {}
        peaks = self._estimate_clusters(surveys)
        for channel in sorted({m.channel for s in surveys for m in s.maps}):
            lattice = self._fuse_channel(surveys, channel)
            if lattice is None:
                continue
            self.fused_[channel] = lattice
            peaks += self._peaks(channel, lattice)
        # one source seen in different gases on different days (toluene on Tuesday, acetone on Thursday):
        # per survey, the evidence that *some* mapped channel carries a source here (uniform over channels)
        combined = [replace(s, channels=[ANY], maps=_any_channel(s.maps)) for s in surveys]
        if any(c.maps for c in combined):
            lattice = self._fuse_channel(combined, ANY)
            self.fused_[ANY] = lattice
            for p in self._peaks(ANY, lattice):
                p["channels"] = self._supporting_channels(p)
                peaks.append(p)
        self.sites_ = self._merge(peaks, surveys)
        return self

    def _supporting_channels(self, peak) -> list[str]:
        """Channels whose fused lattice is positive at a peak (all mapped channels if none is)."""
        out = []
        for channel, (x0, y0, step, f) in self.fused_.items():
            if channel == ANY:
                continue
            i, j = int((peak["east"] - x0) // step), int((peak["north"] - y0) // step)
            if 0 <= i < f.shape[0] and 0 <= j < f.shape[1] and f[i, j] > 0:
                out.append(channel)
        return out or sorted(c for c in self.fused_ if c != ANY)

    def _estimate_clusters(self, surveys):
        """Sources single surveys accepted, grouped across surveys by position (strongest first)."""
        items = sorted(((s, e) for s in surveys for e in s.estimates), key=lambda it: -it[1]["log_bayes"])
        clusters: list[list] = []
        for s, e in items:
            for cl in clusters:
                e0 = cl[0][1]
                if not set(e0.get("channels") or []) & set(e.get("channels") or []):
                    continue  # no gas in common: two sources (a bakery's ethanol beside a lab's solvents)
                reach = max(self.min_cluster_m,
                            math.hypot(float(e0["credible90_radius_m"]), float(e["credible90_radius_m"])))
                if math.hypot(e0["east"] - e["east"], e0["north"] - e["north"]) <= min(reach, self.merge_radius):
                    cl.append((s, e))
                    break
            else:
                clusters.append([(s, e)])
        out = []
        for cl in clusters:
            best = {}
            for s, e in cl:  # one estimate per survey: its strongest
                if id(s) not in best or e["log_bayes"] > best[id(s)][1]["log_bayes"]:
                    best[id(s)] = (s, e)
            members = list(best.values())
            prec = [1.0 / max(float(e["credible90_radius_m"]) / R90_PER_SIGMA, 1.0) ** 2 for _, e in members]
            east = sum(p * e["east"] for p, (_, e) in zip(prec, members, strict=True)) / sum(prec)
            north = sum(p * e["north"] for p, (_, e) in zip(prec, members, strict=True)) / sum(prec)
            out.append({"channel": None, "channels": sorted({c for _, e in cl for c in e.get("channels") or []}),
                        "east": east, "north": north, "sigma": 1.0 / math.sqrt(sum(prec)),
                        "members": members, "log_bayes": None})
        return out

    # ------------------------------------------------------------------------------------------------------
    def _fuse_channel(self, surveys, channel):
        maps = [(s, m) for s in surveys for m in s.maps if m.channel == channel]
        step = maps[0][1].step
        if any(abs(m.step - step) > 1e-9 for _, m in maps):
            raise ValueError(f"evidence maps of {channel} have different cell sizes")
        x0 = min(m.x0 for _, m in maps)
        y0 = min(m.y0 for _, m in maps)
        x1 = max(m.x0 + m.log_bf.shape[0] * step for _, m in maps)
        y1 = max(m.y0 + m.log_bf.shape[1] * step for _, m in maps)
        nx, ny = int(round((x1 - x0) / step)), int(round((y1 - y0) / step))
        total = np.zeros((nx, ny))
        p = self.p_active
        mapped = set()
        for s, m in maps:
            i, j = int(round((m.x0 - x0) / step)), int(round((m.y0 - y0) / step))
            lb = m.log_bf.astype(np.float64)
            if self.mode == "persistent" or p >= 1.0:
                contrib = lb
            else:
                contrib = np.logaddexp(math.log(p) + lb, math.log1p(-p))
            total[i:i + lb.shape[0], j:j + lb.shape[1]] += contrib
            mapped.add(id(s))
        if self.mode == "intermittent" and p < 1.0:
            # surveys that measured the channel over these cells but saw no event in it: "off"
            xs = x0 + (np.arange(nx) + 0.5) * step
            ys = y0 + (np.arange(ny) + 0.5) * step
            for s in surveys:
                if id(s) in mapped or channel not in s.channels:
                    continue
                if any(channel in (e.get("channels") or []) for e in s.estimates):
                    continue  # the channel held an accepted source: no map, but not "off" either
                e0, e1, n0, n1 = s.extent
                inside = ((xs[:, None] >= e0) & (xs[:, None] <= e1)) & ((ys[None, :] >= n0) & (ys[None, :] <= n1))
                total[inside] += math.log1p(-p)
        return float(x0), float(y0), float(step), total

    def _peaks(self, channel, lattice):
        x0, y0, step, f = lattice
        nx, ny = f.shape
        xs = x0 + (np.arange(nx) + 0.5) * step
        ys = y0 + (np.arange(ny) + 0.5) * step
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        log_n = math.log(f.size)
        free = np.ones_like(f, dtype=bool)
        out = []
        for _ in range(self.max_sites):
            if not free.any():
                break
            k = int(np.argmax(np.where(free, f, -np.inf)))
            px, py = gx.ravel()[k], gy.ravel()[k]
            near = np.hypot(gx - px, gy - py) <= self.site_radius
            vals = f[near]
            log_b = float(log_sum_exp(vals) - log_n)
            if log_b < self.candidate_log_bayes:
                break
            w = np.exp(vals - vals.max())
            w /= w.sum()
            ex, ey = float(np.sum(w * gx[near])), float(np.sum(w * gy[near]))
            spread = math.sqrt(max(float(np.sum(w * ((gx[near] - ex) ** 2 + (gy[near] - ey) ** 2))) / 2.0,
                                   step * step / 12.0))
            out.append({"channel": channel, "channels": [channel], "east": ex, "north": ey, "sigma": spread,
                        "log_bayes": log_b})
            free &= np.hypot(gx - px, gy - py) > max(self.merge_radius, self.site_radius)
        return out

    def _local_log_bf(self, survey, channels, east, north):
        """Log mean Bayes factor of the survey's maps of ``channels`` in the site's neighbourhood.

        None when the survey does not cover the site in those channels.
        """
        best = None
        for m in survey.maps:
            if m.channel not in channels:
                continue
            nx, ny = m.log_bf.shape
            xs = m.x0 + (np.arange(nx) + 0.5) * m.step
            ys = m.y0 + (np.arange(ny) + 0.5) * m.step
            near = np.hypot(xs[:, None] - east, ys[None, :] - north) <= self.site_radius
            if not near.any():
                continue
            v = float(log_sum_exp(m.log_bf[near].astype(np.float64)) - math.log(near.sum()))
            best = v if best is None else max(best, v)
        return best

    def _contribution(self, log_bf: float | None, measured: bool) -> float:
        """One survey's log-evidence for a site under the chosen mode (None: no map there)."""
        p = self.p_active
        if self.mode == "persistent" or p >= 1.0:
            return 0.0 if log_bf is None else float(log_bf)
        if log_bf is None:
            return math.log1p(-p) if measured else 0.0
        return float(np.logaddexp(math.log(p) + log_bf, math.log1p(-p)))

    def _merge(self, peaks, surveys):
        # estimate clusters first (they carry accepted sources), then map peaks by evidence
        peaks = sorted(peaks, key=lambda p: (p["log_bayes"] is not None, -(p["log_bayes"] or 0.0)))
        groups: list[list[dict]] = []
        for p in peaks:
            for g in groups:
                both_estimates = g[0].get("members") and p.get("members")
                if both_estimates and not set(g[0]["channels"]) & set(p["channels"]):
                    continue
                if math.hypot(g[0]["east"] - p["east"], g[0]["north"] - p["north"]) <= self.merge_radius:
                    g.append(p)
                    break
            else:
                groups.append([p])
        sites = []
        for g in groups:
            lead = g[0]
            channels = sorted({c for p in g for c in (p.get("channels") or [p["channel"]]) if c})
            members = [m for p in g for m in p.get("members", [])]
            east, north, sigma = lead["east"], lead["north"], lead["sigma"]
            seen_by = {id(s): e for s, e in members}
            history, detected_times = [], []
            evidence_from_history = 0.0
            for s in surveys:
                e0, e1, n0, n1 = s.extent
                if not (e0 - 100 <= east <= e1 + 100 and n0 - 100 <= north <= n1 + 100):
                    continue
                measured = any(c in s.channels for c in channels)
                if not measured:
                    continue
                local = self._local_log_bf(s, channels, east, north)
                est = seen_by.get(id(s))
                seen = est is not None or (local is not None and local >= self.detect_log_bf)
                if est is not None:
                    evidence_from_history += self._contribution(float(est["log_bayes"]), True)
                else:
                    evidence_from_history += self._contribution(local, True)
                history.append({"survey": s.survey_id, "time": s.time, "log_bf": local if est is None else
                                float(est["log_bayes"]), "detected": bool(seen)})
                if seen:
                    detected_times.append(s.time)
            map_evidence = max((p["log_bayes"] for p in g if p["log_bayes"] is not None), default=None)
            log_b = evidence_from_history if members else map_evidence
            if members and map_evidence is not None:
                log_b = max(log_b, map_evidence)
            if log_b is None or log_b < self.candidate_log_bayes:
                continue
            classes, buildings, rates = Counter(), Counter(), []
            species = {c.rsplit("_", 1)[0] for c in channels}
            for _, e in members:
                c = e.get("class")
                if not c or c == "unknown":
                    continue
                if self.class_species and c in self.class_species and not species & set(self.class_species[c]):
                    continue  # a class none of whose gases define the site (a neighbour's plume in the ratios)
                classes[c] += float(e.get("class_probability") or 0.5)
                if e.get("building_id"):
                    buildings[e["building_id"]] += 1
                if e.get("rate_g_s"):
                    rates.append(float(e["rate_g_s"]))
            sites.append(FusedSite(
                east=float(east), north=float(north), credible90_radius_m=float(R90_PER_SIGMA * sigma),
                channels=channels,
                species=sorted({c.rsplit("_", 1)[0] for c in channels}), log_bayes=float(log_b),
                confidence=_confidence(log_b, self.min_log_bayes),
                status="confirmed" if log_b >= self.min_log_bayes else "candidate",
                activity="active" if history and history[-1]["detected"] else "dormant",
                source_class=classes.most_common(1)[0][0] if classes else "unknown",
                building_id=buildings.most_common(1)[0][0] if buildings else None,
                rate_g_s=float(np.median(rates)) if rates else None,
                first_seen=min(detected_times) if detected_times else None,
                last_seen=max(detected_times) if detected_times else None,
                n_covering=len(history), n_detected=len(detected_times), history=history,
                estimate_ids=[e.get("id") for _, e in members if e.get("id") is not None],
            ))
        sites.sort(key=lambda s: -s.log_bayes)
        return sites


def rank_sites(sites: list[dict], target_classes) -> list[dict]:
    """Order sites for an analyst: target classes first, then unattributed, then benign; then confidence.

    Parameters
    ----------
    sites : list of dict
        Sites with ``class``, ``confidence`` and ``log_bayes``.
    target_classes : set of str
        Classes a survey is looking for (``target: true`` in the source-class library).
    """
    def key(s):
        c = s.get("class") or s.get("source_class") or "unknown"
        group = 0 if c in target_classes else (1 if c == "unknown" else 2)
        return (group, -round(float(s["confidence"]), 3), -float(s["log_bayes"]))

    return sorted(sites, key=key)


ANY = "*"


@dataclass
class _AnyMap:
    channel: str
    species: str
    x0: float
    y0: float
    step: float
    log_bf: np.ndarray


def _any_channel(maps) -> list:
    """One map per survey: log of the mean Bayes factor over its channels' maps (cells common to all)."""
    if not maps:
        return []
    step = maps[0].step
    x0 = max(m.x0 for m in maps)
    y0 = max(m.y0 for m in maps)
    x1 = min(m.x0 + m.log_bf.shape[0] * step for m in maps)
    y1 = min(m.y0 + m.log_bf.shape[1] * step for m in maps)
    nx, ny = int(round((x1 - x0) / step)), int(round((y1 - y0) / step))
    if nx <= 0 or ny <= 0:
        return []
    stack = []
    for m in maps:
        i, j = int(round((x0 - m.x0) / step)), int(round((y0 - m.y0) / step))
        stack.append(m.log_bf[i:i + nx, j:j + ny].astype(np.float64))
    a = np.stack(stack)
    combined = log_sum_exp(a, axis=0) - math.log(len(maps))
    return [_AnyMap(ANY, ANY, float(x0), float(y0), float(step), combined)]


def _confidence(log_b: float, threshold: float) -> float:
    """Logistic of the evidence with prior odds giving 0.95 at the confirmation threshold."""
    z = min(max(log_b - threshold + math.log(19.0), -50.0), 50.0)
    return float(1.0 / (1.0 + math.exp(-z)))


def match_sites(previous: list[tuple[object, float, float]], fused: list[FusedSite],
                merge_radius: float) -> list[object | None]:
    """Which previous site each newly fused site continues (re-fusion keeps a site's identity).

    Parameters
    ----------
    previous : list of (id, east, north)
        The sites of the last fusion [m, campaign frame].
    fused : list of FusedSite
        The new sites, best first: each takes the nearest previous site within ``merge_radius`` [m] that no
        better new site took.

    Returns
    -------
    list
        Per new site, the id of the previous site it continues, or None for a new site.
    """
    taken: set = set()
    out: list[object | None] = []
    for site in fused:
        match, best = None, merge_radius
        for pid, east, north in previous:
            d = math.hypot(east - site.east, north - site.north)
            if pid not in taken and d <= best:
                match, best = pid, d
        if match is not None:
            taken.add(match)
        out.append(match)
    return out
