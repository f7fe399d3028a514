"""Learning from outcomes, before and after, on simulated campaigns with outcome feedback.

Leads are closed with the outcome the ground truth gives and fed back per area (:mod:`plumetrace.detect.learning`);
the same campaigns with the fixed prior and threshold are the baseline.

The world of each seed is drawn, not chosen: four areas, each with its own mix of emitter classes (a sparse
Dirichlet(0.5) draw over the library's non-target classes), a rate of clandestine labs, and a rate of spurious
hits (transients with no emitter behind them: a Gamma draw per area). Per campaign and area, each emitter and
each spurious transient gives one candidate event:

- a real emitter draws its molar ratios from its class (:func:`plumetrace.sim.emitters.draw_emission`,
  emitter-to-emitter variation and optional species included); its channel integrals are the pattern of those
  ratios on the payload (:func:`plumetrace.detect.attribution.ratios_pattern`, PID response factors included)
  scaled so that the strongest channel's integral has SNR 3z, plus noise of the detector's form (unit noise and
  10 % of the signal); its peak z [σ] is log-normal (median 8 σ);
- a spurious transient has z = 3 σ + an exponential tail (mean 2 σ) on one random channel, noise elsewhere.

An event above the area's threshold is attributed (the library's patterns on the payload, the area's class
prior); a lead is raised when P(clandestine_lab) ≥ t. Its outcome is what the truth says — a lab: *confirmed*;
another emitter: *false positive*; nothing: *nothing found* — and is fed back after the campaign (the learning
arm only). Scored over the campaigns after the first ``warmup``: recall (labs led / labs present), false-positive
leads per confirmed lab; and, **at equal recall**, the learning arm's false positives per confirmed lab at the
recall the fixed arm reaches with t = 0.5 (its curve over t, interpolated).

Evidence per event is computed once (:func:`plumetrace.detect.attribution.log_evidences`); the prior enters only
in :func:`plumetrace.detect.attribution.posterior`, so every arm and every t sees the same events.
"""

from __future__ import annotations

import time

import numpy as np

from plumetrace.detect.attribution import class_patterns, log_evidences, posterior, ratios_pattern
from plumetrace.detect.learning import (
    class_prior,
    detection_threshold,
    fit_class_prior,
    initial_belief,
    update_belief,
)
from plumetrace.detect.signatures import load_source_classes
from plumetrace.sim.emitters import draw_emission

TARGET = "clandestine_lab"
#: Payloads: a lean VOC payload (a PID, acetone, toluene, CO2) and the demo's full multi-gas payload.
PAYLOADS = {"lean": ["co2", "voc", "acetone", "toluene"],
            "full": ["ch4", "co2", "co", "voc", "acetone", "toluene", "methanol", "dichloromethane", "ethanol",
                     "hcl", "nh3"]}
K_MIN = 4.0  # the detector's floor threshold [σ] (PlumeDetector's default)
T_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)
AREAS = 4


def _world(rng, classes):
    """Per area: benign emitter rates per class, lab rate, spurious rate (events per campaign)."""
    benign = [k for k, c in classes.items() if not c.target]
    areas = []
    for _ in range(AREAS):
        mix = rng.dirichlet(np.full(len(benign), 0.5))
        areas.append({"benign": dict(zip(benign, 10.0 * mix, strict=True)), "labs": float(rng.uniform(0.3, 1.5)),
                      "spurious": float(rng.gamma(1.0, 3.0))})
    return areas


def _event(rng, classes, truth, channels):
    """(z, integrals, standard errors) of one candidate event; ``truth`` is a class key or None (spurious)."""
    n = len(channels)
    if truth is None:
        z = 3.0 + rng.exponential(2.0)
        signal = np.zeros(n)
        signal[rng.integers(n)] = 3.0 * z
    else:
        cls = classes[truth]
        _, ratios = draw_emission(cls, rng)
        m = ratios_pattern(cls.primary, ratios, channels)
        z = float(np.exp(np.log(8.0) + 0.5 * rng.standard_normal()))
        signal = np.zeros(n) if m.max() <= 0 else 3.0 * z * m / m.max()
    se = np.sqrt(1.0 + (0.1 * signal) ** 2)
    return z, signal + se * rng.standard_normal(n), se


def simulate_campaigns(seed: int, payload: str, campaigns: int) -> list[list[list[dict]]]:
    """Events per campaign per area: dicts with truth, z, log evidences."""
    classes = load_source_classes()
    channels = PAYLOADS[payload]
    patterns = class_patterns(classes, channels)
    rng = np.random.default_rng(seed)
    world = _world(rng, classes)
    out = []
    for _ in range(campaigns):
        per_area = []
        for area in world:
            truths = [TARGET] * rng.poisson(area["labs"]) + [None] * rng.poisson(area["spurious"])
            for k, rate in area["benign"].items():
                truths += [k] * rng.poisson(rate)
            events = []
            for truth in truths:
                z, integral, se = _event(rng, classes, truth, channels)
                events.append({"truth": truth, "z": z, "log_ev": log_evidences(integral, se, patterns)})
            per_area.append(events)
        out.append(per_area)
    return out


def _outcome(truth):
    return "confirmed" if truth == TARGET else ("nothing_found" if truth is None else "false_positive")


def run_arm(campaigns, keys, t: float, learn: bool, warmup: int) -> dict:
    """One arm on one seed's campaigns at lead threshold ``t``: counts over the scored campaigns."""
    beliefs = [initial_belief(keys) for _ in campaigns[0]]
    seen = [[] for _ in campaigns[0]]  # per area: (log evidence, label or None) of every attributed event
    labs = confirmed = false_pos = nothing = 0
    thresholds = []
    for c, per_area in enumerate(campaigns):
        for a, events in enumerate(per_area):
            k = detection_threshold(beliefs[a], K_MIN) if learn else K_MIN
            prior = class_prior(beliefs[a]) if learn else None
            scored = c >= warmup
            if scored:
                thresholds.append(k)
                labs += sum(e["truth"] == TARGET for e in events)
            for e in events:
                if e["z"] < k:
                    continue
                probs = posterior(e["log_ev"], keys, class_prior=prior)
                label = None
                if probs[TARGET] >= t:
                    label = (_outcome(e["truth"]), TARGET)
                    if scored:
                        confirmed += label[0] == "confirmed"
                        false_pos += label[0] == "false_positive"
                        nothing += label[0] == "nothing_found"
                seen[a].append((e["log_ev"], label, probs))
        if learn:  # the partner's outcomes arrive after the campaign: refit every area
            for a in range(len(beliefs)):
                b = initial_belief(keys)
                for _, label, probs in seen[a]:
                    if label is not None:
                        b = update_belief(b, label[0], label[1], probs)
                b.alpha = fit_class_prior(np.array([x[0] for x in seen[a]]), keys, [x[1] for x in seen[a]]) \
                    if seen[a] else b.alpha
                beliefs[a] = b
    return {"labs": labs, "confirmed": confirmed, "false_positive": false_pos, "nothing_found": nothing,
            "mean_threshold_sigma": float(np.mean(thresholds)) if thresholds else K_MIN}


def _summary(rows: list[dict]) -> dict:
    labs = sum(r["labs"] for r in rows)
    conf = sum(r["confirmed"] for r in rows)
    fp = sum(r["false_positive"] + r["nothing_found"] for r in rows)
    return {"labs": labs, "confirmed": conf, "false_leads": fp,
            "false_positive": sum(r["false_positive"] for r in rows),
            "nothing_found": sum(r["nothing_found"] for r in rows),
            "recall": conf / labs if labs else float("nan"), "fp_per_confirmed": fp / conf if conf else float("inf"),
            "mean_threshold_sigma": float(np.mean([r["mean_threshold_sigma"] for r in rows]))}


def _at_recall(curve: list[dict], recall: float) -> float:
    """False leads per confirmed lab at ``recall``, linear between the two points of the curve around it."""
    pts = sorted((c["recall"], c["fp_per_confirmed"]) for c in curve if np.isfinite(c["fp_per_confirmed"]))
    if not pts:
        return float("nan")
    xs, ys = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    if recall > xs.max():
        return float("nan")  # the arm never reaches that recall
    return float(np.interp(recall, xs, ys))


def run_learning_bench(seeds: int = 20, campaigns: int = 12, warmup: int = 4, payloads=("lean", "full"),
                       progress=None) -> dict:
    """Fixed against learning, per payload, over ``seeds`` drawn worlds; see the module docstring."""
    t0 = time.perf_counter()
    keys = list(load_source_classes())
    report = {"seeds": seeds, "campaigns": campaigns, "warmup": warmup, "payloads": {}}
    for payload in payloads:
        worlds = [simulate_campaigns(1000 + s, payload, campaigns) for s in range(seeds)]
        arms = {}
        for name, learn in (("fixed", False), ("learning", True)):
            curve = []
            for t in T_GRID:
                summary = _summary([run_arm(w, keys, float(t), learn, warmup) for w in worlds])
                curve.append({"t": float(t), **summary})
            arms[name] = {"at_t_0_5": next(c for c in curve if abs(c["t"] - 0.5) < 1e-9), "curve": curve}
        recall = arms["fixed"]["at_t_0_5"]["recall"]
        report["payloads"][payload] = {
            **arms, "equal_recall": {"recall": recall, "fixed": arms["fixed"]["at_t_0_5"]["fp_per_confirmed"],
                                     "learning": _at_recall(arms["learning"]["curve"], recall)}}
        if progress:
            progress(payload, report["payloads"][payload])
    report["seconds"] = time.perf_counter() - t0
    return report
