"""What locating a survey yields: located sources, their one serialisation, and the survey's result record.

:class:`SourceEstimate` is a located source (site) in the survey's local frame; :func:`source_record` is its
one JSON-ready form — contract 3 (docs/formats.md) plus the keys the pipeline and the store need — used by
``plumetrace locate --json``, the pipeline and the store alike. :class:`SurveyResult` is everything kept of one
analysed survey: the pipeline makes it, the store writes and reads it back, fusion takes it.
Names and units of every key: docs/nomenclature.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import mapping

#: Credible regions are simplified to this tolerance before they are written as GeoJSON [m].
REGION_SIMPLIFY_M = 1.0


@dataclass
class SourceEstimate:
    """A located source (site) with everything contract 3 reports.

    Positions: ``east``, ``north`` [m] in the survey's frame and ``lat``, ``lon`` [degrees] of the most probable
    cell; ``mean_*`` the posterior mean. Rates [g/s] of ``species`` (the source class's primary species when the
    class names one), with the 90 % interval; ``rates_g_s`` / ``rates_ci90_g_s`` every species' rate at the site.
    ``credible90`` is the 90 % highest-posterior-density region (shapely, local frame),
    ``credible90_radius_m`` the radius of the disc around the estimate holding 90 % of the mass and
    ``credible90_equivalent_radius_m`` that of a disc with the region's area. ``log_bayes`` is the natural-log
    Bayes factor of the source against none.
    """

    east: float
    north: float
    lat: float
    lon: float
    height_m: float
    species: str
    rate_g_s: float
    rate_ci90_g_s: tuple[float, float]
    credible90_radius_m: float
    credible90: object
    log_bayes: float
    source_class: str = "unknown"
    class_probability: float = 0.0
    class_probabilities: dict = field(default_factory=dict)
    building_id: str | None = None
    building_probability: float | None = None
    buildings_top: list = field(default_factory=list)
    rates_g_s: dict = field(default_factory=dict)
    channels: list = field(default_factory=list)
    posterior: object = field(default=None, repr=False)
    rates_ci90_g_s: dict = field(default_factory=dict)
    mean_east: float = math.nan
    mean_north: float = math.nan
    mean_lat: float = math.nan
    mean_lon: float = math.nan
    credible90_equivalent_radius_m: float = math.nan


def _finite_or_none(value: float, digits: int) -> float | None:
    return round(float(value), digits) if value is not None and np.isfinite(value) else None


def source_record(est: SourceEstimate, frame, buildings: bool = True) -> dict:
    """A :class:`SourceEstimate` as one JSON-ready dict: a contract-3 source plus added keys.

    Contract 3 keys: ``lat``, ``lon``, ``height_m``, ``species``, ``rate_g_s``, ``rate_ci90_g_s``,
    ``credible90_radius_m``, ``credible90`` (GeoJSON in WGS 84, simplified to 1 m), ``class``,
    ``class_probability``, ``building_id``, ``building_probability``, ``buildings_top`` (``null`` without
    buildings, ``buildings=False``). Added: ``posterior_mean`` {lat, lon}, ``credible90_equivalent_radius_m``,
    ``rates_g_s`` and ``rates_ci90_g_s`` (every species), and for the store and fusion ``east``, ``north`` [m in
    ``frame``], ``channels`` and ``log_bayes``.
    """
    poly = None
    if est.credible90 is not None and not est.credible90.is_empty:
        def to_wgs(coords):
            lat, lon = frame.to_wgs84(coords[:, 0], coords[:, 1])
            return np.column_stack((lon, lat))

        poly = mapping(shapely.transform(est.credible90.simplify(REGION_SIMPLIFY_M), to_wgs))
    has_buildings = buildings and (est.building_id is not None or bool(est.buildings_top))
    return {
        "lat": round(est.lat, 7), "lon": round(est.lon, 7), "height_m": round(est.height_m, 2),
        "species": est.species, "rate_g_s": float(est.rate_g_s),
        "rate_ci90_g_s": [float(est.rate_ci90_g_s[0]), float(est.rate_ci90_g_s[1])],
        "credible90_radius_m": round(est.credible90_radius_m, 2), "credible90": poly,
        "class": est.source_class, "class_probability": float(est.class_probability),
        "building_id": est.building_id if buildings else None,
        "building_probability": (None if not buildings or est.building_probability is None
                                 else float(est.building_probability)),
        "buildings_top": est.buildings_top if has_buildings else None,
        "posterior_mean": ({"lat": round(est.mean_lat, 7), "lon": round(est.mean_lon, 7)}
                           if np.isfinite(est.mean_lat) and np.isfinite(est.mean_lon) else None),
        "credible90_equivalent_radius_m": _finite_or_none(est.credible90_equivalent_radius_m, 2),
        "rates_g_s": {k: float(v) for k, v in est.rates_g_s.items()},
        "rates_ci90_g_s": {k: [float(a), float(b)] for k, (a, b) in est.rates_ci90_g_s.items()},
        "east": float(est.east), "north": float(est.north), "channels": list(est.channels),
        "log_bayes": float(est.log_bayes),
    }


@dataclass
class CandidateSource:
    """Evidence below the acceptance threshold: a candidate source to settle with a follow-up flight.

    ``posterior`` is its :class:`~plumetrace.locate.posterior.ChannelPosterior` (searched without the threshold);
    ``events`` the ids of the plume events it explains (its most probable plume reaches them); ``source_class``
    and ``class_probability`` those of the strongest of them. ``lat``/``lon`` the most probable cell.
    """

    posterior: object
    lat: float
    lon: float
    events: list = field(default_factory=list)
    source_class: str = "unknown"
    class_probability: float = 0.0
    reason: str = "below the evidence threshold"
    class_probabilities: dict = field(default_factory=dict)


def candidate_record(c: CandidateSource) -> dict:
    """A candidate as one JSON-ready dict (the ``candidates`` key added to contract 3)."""
    p = c.posterior
    return {"lat": round(c.lat, 7), "lon": round(c.lon, 7), "east": float(p.east), "north": float(p.north),
            "height_m": round(float(p.height), 2), "species": p.species, "channel": p.channel,
            "log_bayes": float(p.log_bayes), "rate_g_s": float(p.rate_g_s),
            "rate_ci90_g_s": [float(p.rate_ci90_g_s[0]), float(p.rate_ci90_g_s[1])],
            "credible90_radius_m": round(float(p.credible_radius()), 2), "class": c.source_class,
            "class_probability": float(c.class_probability), "events": list(c.events), "reason": c.reason}


@dataclass
class SurveyResult:
    """Everything kept of one analysed survey: the pipeline's output, the store's row, fusion's input.

    ``survey_id`` is the store's id (or any key; None before the survey is stored); times are UNIX seconds;
    ``channels`` the gas channels measured; ``extent`` (east min, east max, north min, north max) [m] in the
    campaign frame; ``maps`` the :class:`~plumetrace.locate.posterior.EvidenceMap` of each channel in which no
    source was accepted; ``estimates`` :func:`source_record` dicts (with the store's ``id`` once stored); ``hits``
    plume events (dicts). ``content_hash`` identifies the survey's data (re-ingesting it is a no-op); ``preset``
    names the locator preset used (:mod:`plumetrace.locate.presets`); ``samples`` (optional) the readings kept for
    maps and evidence plots: ``{"columns": [...], "stride": k, "values": float64 array (rows × columns)}``.
    """

    survey_id: object
    start_time: float
    end_time: float
    channels: list
    extent: tuple
    maps: list = field(default_factory=list)
    estimates: list = field(default_factory=list)
    hits: list = field(default_factory=list)
    content_hash: str = ""
    path: str = ""
    format: str = "survey-csv"
    platform: str | None = None
    n_samples: int = 0
    wind_source: str | None = None
    stability: str | None = None
    meta: dict = field(default_factory=dict)
    seconds: float = 0.0
    preset: str | None = None
    samples: dict | None = None

    @property
    def time(self) -> float:
        """Mid-time of the survey [UNIX s]."""
        return 0.5 * (self.start_time + self.end_time)


def network_estimate(src, frame, species: str, channel: str, attribution) -> SourceEstimate:
    """The site of a fixed network's source ``src`` (a :class:`~plumetrace.locate.network.NetworkLocator` result).

    ``attribution``: (class label, its probability, all class probabilities) of the site.
    """
    label, prob, probs = attribution
    lat, lon = frame.to_wgs84(src.east, src.north)
    mean_e, mean_n = (float(v) for v in src.mass @ src.cells)
    mean_lat, mean_lon = frame.to_wgs84(mean_e, mean_n)
    region = src.credible_polygon()
    return SourceEstimate(
        east=src.east, north=src.north, lat=float(lat), lon=float(lon), height_m=src.height, species=species,
        rate_g_s=src.rate_g_s, rate_ci90_g_s=src.rate_ci90_g_s, credible90_radius_m=src.credible_radius(),
        credible90=region, log_bayes=src.log_bayes, source_class=label, class_probability=prob,
        class_probabilities=probs, rates_g_s={species: src.rate_g_s}, channels=[channel], posterior=src,
        rates_ci90_g_s={species: src.rate_ci90_g_s}, mean_east=mean_e, mean_north=mean_n,
        mean_lat=float(mean_lat), mean_lon=float(mean_lon),
        credible90_equivalent_radius_m=math.sqrt(region.area / math.pi))
