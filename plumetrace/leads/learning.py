"""Learning from outcomes, in the store: the per-area class prior and floor threshold from the closed leads.

:func:`learn_from_outcomes` recomputes, from scratch and in one pass (so that the result does not depend on the
order leads were closed in), for every area that has attributed events: the Dirichlet counts of its class
prior by EM over all its events, with the labels the outcomes give
(:func:`plumetrace.detect.learning.fit_class_prior`), and the Beta counts of real emitters behind its leads
(:func:`plumetrace.detect.learning.update_belief`), hence its floor threshold
(:func:`plumetrace.detect.learning.detection_threshold`). The result is kept in the store
(``Store.set_learned_priors``) and used by every later analysis of a survey of that area (:mod:`plumetrace.pipeline`,
the service's jobs). It runs when a lead is closed; ``plumetrace leads priors`` shows it.

An event's evidence is recovered from its stored class posterior and the prior it was made under
(:func:`plumetrace.detect.learning.log_evidences_from_posterior`). A lead labels the events of its snapshot that
named its class: *confirmed* — they were that class; *false positive* — they were not; *nothing found* — there
was no emitter. Other events of the area stay unlabelled and count through their posterior.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from sqlalchemy import select

from plumetrace.detect.learning import (
    area_key,
    class_prior,
    detection_threshold,
    fit_class_prior,
    initial_belief,
    log_evidences_from_posterior,
    update_belief,
)
from plumetrace.detect.signatures import load_source_classes
from plumetrace.store.models import Lead

#: The detector's floor threshold the areas start from [σ] (:class:`plumetrace.detect.PlumeDetector`'s k_min).
BASE_K_MIN = 4.0
#: The attribution's prior on the unknown alternative (the detector's default).
PRIOR_UNKNOWN = 0.1


def _closed_leads(store) -> list[dict]:
    with store.session() as s:
        rows = s.scalars(select(Lead).where(Lead.state == "closed", Lead.outcome.is_not(None)).order_by(Lead.id))
        return [{"id": r.id, "outcome": r.outcome, "snapshot": r.snapshot or {}} for r in rows]


def learn_from_outcomes(store, keys: list[str] | None = None) -> dict:
    """Recompute and store the per-area priors from every closed lead; returns ``Store.learned_priors()``."""
    keys = keys or list(load_source_classes())
    events: dict[str, list] = defaultdict(list)  # area → [(hit id, log evidence)]
    area_of: dict[int, str] = {}
    for h in store.hits():
        d = h.get("details") or {}
        probs = d.get("probabilities")
        if not probs:
            continue
        area = d.get("area") or area_key(float(h["lat"]), float(h["lon"]))
        area_of[int(h["id"])] = area
        events[area].append((int(h["id"]), log_evidences_from_posterior(probs, keys, PRIOR_UNKNOWN,
                                                                        d.get("class_prior")), probs))
    labels: dict[int, tuple[str, str]] = {}
    beliefs: dict[str, object] = {}
    counted: dict[str, dict] = defaultdict(dict)
    for lead in _closed_leads(store):
        snap = lead["snapshot"]
        claimed = (snap.get("site") or {}).get("class")
        named = [int(h["id"]) for h in snap.get("hits", []) if h.get("class") == claimed]
        for hid in named:
            labels[hid] = (lead["outcome"], claimed)
        site = snap.get("site") or {}
        areas = sorted({area_of[h] for h in named if h in area_of})  # every area whose surveys saw the lead's hits
        if not areas and site.get("lat") is not None:
            areas = [area_key(float(site["lat"]), float(site["lon"]))]
        for area in areas:
            probs = next((p for hid, _, p in events.get(area, []) if hid in named), None)
            beliefs[area] = update_belief(beliefs.get(area) or initial_belief(keys), lead["outcome"], claimed,
                                          probs)
            counted[area][lead["id"]] = lead["outcome"]
    out = {}
    for area in sorted(set(events) | set(beliefs)):
        belief = beliefs.get(area) or initial_belief(keys)
        rows = events.get(area, [])
        if rows:
            belief.alpha = fit_class_prior(np.array([r[1] for r in rows]), keys, [labels.get(r[0]) for r in rows],
                                           prior_unknown=PRIOR_UNKNOWN)
        if not counted.get(area):
            continue  # no outcome here yet: the area keeps the library's defaults
        out[area] = {"class_prior": class_prior(belief), "k_min": detection_threshold(belief, BASE_K_MIN),
                     "belief": belief.to_dict(), "events": len(rows), "leads": len(counted[area])}
    store.set_learned_priors(out)
    return out
