"""JSON-ready summaries of located sources (contract 3 of DESIGN.md), shared by the CLI and the pipeline."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import mapping


def source_to_dict(est, frame) -> dict:
    """A :class:`~plumetrace.locate.locator.SourceEstimate` as a contract-3 source.

    The credible region is GeoJSON in WGS 84, simplified to 1 m. Keys added to the contract: the posterior
    mean position (``posterior_mean``; ``lat``/``lon`` are the most probable cell), the radius of a disc with
    the area of the 90 % highest-posterior-density region (``credible90_equivalent_radius_m``), and every
    species' rate with its 90 % interval (``rates_g_s``, ``rates_ci90_g_s``).
    """
    poly = None
    if est.credible90 is not None and not est.credible90.is_empty:
        def to_wgs(coords):
            lat, lon = frame.to_wgs84(coords[:, 0], coords[:, 1])
            return np.column_stack((lon, lat))

        geom = shapely.transform(est.credible90.simplify(1.0), to_wgs)
        poly = mapping(geom)
    return {
        "lat": round(est.lat, 7), "lon": round(est.lon, 7), "height_m": round(est.height_m, 2),
        "species": est.species, "rate_g_s": est.rate_g_s, "rate_ci90_g_s": list(est.rate_ci90_g_s),
        "credible90_radius_m": round(est.credible90_radius_m, 2), "credible90": poly,
        "class": est.source_class, "class_probability": est.class_probability,
        "building_id": est.building_id, "building_probability": est.building_probability,
        "buildings_top": est.buildings_top if est.building_id is not None or est.buildings_top else None,
        "posterior_mean": ({"lat": round(est.mean_lat, 7), "lon": round(est.mean_lon, 7)}
                           if np.isfinite(est.mean_lat) and np.isfinite(est.mean_lon) else None),
        "credible90_equivalent_radius_m": (round(est.credible90_equivalent_radius_m, 2)
                                           if np.isfinite(est.credible90_equivalent_radius_m) else None),
        "rates_g_s": {k: float(v) for k, v in est.rates_g_s.items()},
        "rates_ci90_g_s": {k: [float(a), float(b)] for k, (a, b) in est.rates_ci90_g_s.items()},
    }
