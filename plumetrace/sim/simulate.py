"""Run a scenario: build the town, the emitters and the weather, fly the platforms, record what they sense.

:func:`simulate` returns a :class:`Simulation` (survey table, town, emitters, ground truth);
:func:`write_simulation` writes ``survey.csv`` (contract 1), ``buildings.geojson`` (contract 2) and
``truth.json``. Everything random comes from one generator seeded by the scenario, so a scenario always
gives the same files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from shapely.geometry import Point

from plumetrace import __version__
from plumetrace.detect.signatures import load_source_classes
from plumetrace.exceptions import InputError
from plumetrace.geo import Town
from plumetrace.geo.crs import LocalFrame
from plumetrace.io.buildings import read_buildings, write_buildings
from plumetrace.physics.species import SPECIES, mole_fraction
from plumetrace.physics.stability import stability_class_turner, stability_label
from plumetrace.sim.atmosphere import Atmosphere, Weather, ou_process
from plumetrace.sim.emitters import Emitter, Schedule, draw_emission
from plumetrace.sim.flights import Track, curtain, fly, lawnmower, orbit
from plumetrace.sim.scenario import Scenario, scenario_error
from plumetrace.sim.sensors import BACKGROUND, channel_spec, first_order_lag, simulate_channel
from plumetrace.sim.town import make_grid_town

RELEASE_OFFSETS = {"roof_vent": 1.0, "chimney": 3.0}
GROUND_RELEASE_M = 0.5
DECOY_USES = {
    "bakery": ("commercial", "house"), "paint_shop": ("industrial", "commercial"),
    "dry_cleaner": ("commercial", "house"), "livestock": ("industrial",), "clandestine_lab": ("house",),
}


@dataclass
class Simulation:
    """Result of :func:`simulate`.

    Attributes
    ----------
    survey : pandas.DataFrame
        Contract-1 columns plus ``platform`` and ``sortie``.
    town : Town
    emitters : list of Emitter
    truth : dict
        The content of ``truth.json``.
    enhancement : pandas.DataFrame
        Per sample, the true position, the enhancement each channel would read without noise, drift or
        quantisation (response lag and clock offset included) [channel unit], the id of the emitter whose
        signal is strongest in noise units (``source``) and its share of all emitters' signal
        (``source_share``), for scoring detection and attribution.
    """

    survey: pd.DataFrame
    town: Town
    emitters: list[Emitter]
    truth: dict
    enhancement: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


def _resolve_town(sc: Scenario, base: Path, path: Path, frame: LocalFrame, rng) -> Town:
    if sc.town.footprints:
        fp = (base / sc.town.footprints) if not Path(sc.town.footprints).is_absolute() else Path(sc.town.footprints)
        buildings, _ = read_buildings(fp, frame)
        return Town(buildings, frame)
    t = sc.town
    return make_grid_town(rng, frame, tuple(t.blocks), t.block_size, t.street_width,
                          industrial_fraction=t.industrial_fraction, commercial_fraction=t.commercial_fraction)


def _release_height(release: str, building_height: float | None) -> float:
    if building_height is None or release == "ground":
        return GROUND_RELEASE_M
    if release == "window":
        return 0.6 * building_height
    return building_height + RELEASE_OFFSETS[release]


def _point_on_building(b, release, rng) -> np.ndarray:
    if release == "window":
        ring = b.footprint.exterior
        p = ring.interpolate(rng.uniform(0, ring.length))
        return np.array([[p.x, p.y]])
    c = b.centroid
    return np.array([[c[0], c[1]]])


def _pick_building(town: Town, spec: str, rng, used: set, key: str, path: Path, near=None, distance=None):
    if spec in ("random", "random_house", "random_industrial", "random_commercial"):
        use = None if spec == "random" else spec.removeprefix("random_")
        pool = [b for b in town.buildings if (use is None or b.use == use) and b.id not in used]
        if near is not None and distance is not None:
            pool = [b for b in pool if Point(b.centroid).distance(Point(near)) <= distance]
        if not pool:
            raise scenario_error(path, key, f"no free building matches {spec!r}"
                                 + (f" within {distance:g} m" if distance else ""))
        return pool[int(rng.integers(len(pool)))]
    try:
        return town.building(spec)
    except KeyError as exc:
        raise scenario_error(path, key, str(exc).strip('"')) from None


def _street_points(town: Town, index, rng, n_points: int = 15) -> np.ndarray:
    streets = town.streets
    i = int(rng.integers(len(streets))) if index == "random" else int(index)
    line = streets[i]
    pos = np.linspace(0.1, 0.9, n_points) * line.length
    return np.array([[line.interpolate(p).x, line.interpolate(p).y] for p in pos])


def _schedule(spec, t0: float, lon: float, key: str, path: Path) -> Schedule:
    kind = spec.kind
    if kind == "intermittent":
        if spec.on is None or spec.off is None:
            raise scenario_error(path, key, "an intermittent schedule needs 'on' and 'off' durations")
        return Schedule(kind, on=spec.on, off=spec.off, phase=spec.phase, t0=t0)
    if kind == "windows":
        if not spec.windows:
            raise scenario_error(path, key, "a windows schedule needs 'windows': [[start, end], ...]")
        return Schedule(kind, windows=tuple(tuple(w) for w in spec.windows), t0=t0)
    if kind == "diurnal":
        if not spec.profile or len(spec.profile) != 24 or min(spec.profile) < 0:
            raise scenario_error(path, key, "a diurnal schedule needs 'profile': 24 non-negative factors")
        return Schedule(kind, profile=tuple(spec.profile), t0=t0, lon=lon)
    return Schedule("continuous", t0=t0)


def _build_emitters(sc: Scenario, town: Town, classes, rng, t0: float, path: Path) -> list[Emitter]:
    emitters: list[Emitter] = []
    used: set = set()
    ids: dict[str, Emitter] = {}
    margin = 50.0
    for k, spec in enumerate(sc.sources):
        key = f"sources.{k}"
        cls = classes.get(spec.source_class)
        if cls is None:
            raise scenario_error(path, f"{key}.class",
                                 f"unknown source class {spec.source_class!r}; known: {', '.join(sorted(classes))}")
        release = spec.release or cls.release
        near = None
        if spec.near is not None:
            if spec.near not in ids:
                raise scenario_error(path, f"{key}.near", f"no earlier source with id {spec.near!r}")
            near = ids[spec.near].position
        building = None
        if spec.position is not None:
            pts = np.array([[spec.position.east, spec.position.north]])
            if not town.contains(pts[0, 0], pts[0, 1], margin):
                x0, y0, x1, y1 = town.bounds
                raise scenario_error(path, f"{key}.position",
                                     f"source at ({pts[0, 0]:g}, {pts[0, 1]:g}) m is outside the town "
                                     f"(east {x0:.0f}..{x1:.0f}, north {y0:.0f}..{y1:.0f} m, {margin:g} m margin)")
            building = town.building_at(pts[0, 0], pts[0, 1])
        elif spec.street is not None:
            if not town.streets:
                raise scenario_error(path, f"{key}.street", "the town has no streets (footprint file)")
            if spec.street != "random" and not 0 <= spec.street < len(town.streets):
                raise scenario_error(path, f"{key}.street", f"street index must be 0..{len(town.streets) - 1}")
            pts = _street_points(town, spec.street, rng)
            release = "ground"
        else:
            choice = spec.building or ("random_house" if cls.target else "random")
            building = _pick_building(town, choice, rng, used, f"{key}.building", path, near, spec.distance)
            used.add(building.id)
            pts = _point_on_building(building, release, rng)
        height = spec.height if spec.height is not None else _release_height(
            release, None if building is None else building.height)
        rates, ratios = draw_emission(cls, rng, spec.rate)
        emitter = Emitter(
            id=spec.id or f"s{k + 1}", source_class=cls.key, points=pts, height=float(height), rates=rates,
            schedule=_schedule(spec.schedule, t0, sc.origin.lon, f"{key}.schedule", path),
            building_id=None if building is None else building.id, target=cls.target, primary=cls.primary,
            ratios=ratios,
        )
        if emitter.id in ids:
            raise scenario_error(path, f"{key}.id", f"duplicate source id {emitter.id!r}")
        ids[emitter.id] = emitter
        emitters.append(emitter)
    # decoys: benign emitters placed at random (optionally near the targets)
    targets = [e for e in emitters if e.target]
    for j in range(sc.decoys.count):
        key = "decoys.classes"
        name = sc.decoys.classes[j % len(sc.decoys.classes)]
        cls = classes.get(name)
        if cls is None:
            raise scenario_error(path, key, f"unknown source class {name!r}; known: {', '.join(sorted(classes))}")
        near = targets[j % len(targets)].position if (sc.decoys.near_targets and targets) else None
        building = None
        release = cls.release
        if name in ("traffic",):
            pts = _street_points(town, "random", rng) if town.streets else None
            release = "ground"
        elif name in ("sewer", "landfill") and town.streets:
            line = town.streets[int(rng.integers(len(town.streets)))]
            p = line.interpolate(rng.uniform(0.1, 0.9) * line.length)
            pts = np.array([[p.x, p.y]])
            release = "ground"
        else:
            pts = None
        if pts is None:
            uses = DECOY_USES.get(name, ("house", "commercial", "industrial"))
            pool = [b for b in town.buildings if b.use in uses and b.id not in used] or \
                [b for b in town.buildings if b.id not in used]
            if near is not None:
                close = [b for b in pool if Point(b.centroid).distance(Point(near)) <= sc.decoys.near_targets]
                pool = close or pool
            building = pool[int(rng.integers(len(pool)))]
            used.add(building.id)
            pts = _point_on_building(building, release, rng)
        rates, ratios = draw_emission(cls, rng)
        emitters.append(Emitter(
            id=f"d{j + 1}", source_class=cls.key, points=pts,
            height=_release_height(release, None if building is None else building.height), rates=rates,
            schedule=Schedule("continuous", t0=t0), building_id=None if building is None else building.id,
            target=False, primary=cls.primary, ratios=ratios,
        ))
    return emitters


def _flight_tracks(sc: Scenario, town: Town, emitters, t0: float, rng, path: Path) -> list[Track]:
    tracks = []
    by_id = {e.id: e for e in emitters}
    x0, y0, x1, y1 = town.bounds
    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    wind_from = sc.atmosphere.wind_from
    for k, f in enumerate(sc.flights):
        key = f"flights.{k}"
        if f.around is not None:
            if f.around not in by_id:
                raise scenario_error(path, f"{key}.around", f"no source with id {f.around!r}")
            c = by_id[f.around].position
        elif f.center is not None:
            c = (f.center.east, f.center.north)
        else:
            c = centre
        if f.pattern == "lawnmower":
            a = f.area
            ac = (a.center.east, a.center.north) if a.center is not None else c
            # the default area covers the town's bounding box, measured across and along the wind, plus margin
            th = np.deg2rad(wind_from)
            down = np.array([-np.sin(th), -np.cos(th)])
            cross = np.array([np.cos(th), -np.sin(th)])
            corners = np.array([[x0, y0], [x0, y1], [x1, y0], [x1, y1]]) - np.asarray(ac)
            width = a.width if a.width is not None else float(np.ptp(corners @ cross)) + 2 * a.margin
            depth = a.height if a.height is not None else float(np.ptp(corners @ down)) + 2 * a.margin
            wps = lawnmower(ac, width, depth, f.spacing, f.altitudes, wind_from, a.margin)
        elif f.pattern == "waypoints":
            if not f.waypoints or len(f.waypoints) < 2:
                raise scenario_error(path, f"{key}.waypoints", "a waypoints flight needs at least two waypoints")
            wps = np.asarray(f.waypoints, float)
        elif f.pattern == "curtain":
            wps = curtain(c, f.distance, f.width, f.altitudes, wind_from)
        else:
            wps = orbit(c, f.radius, f.altitudes, f.laps)
        tracks.append(fly(wps, f.speed, f.rate_hz, t0 + f.start_offset, f.endurance, f.battery_swap, rng,
                          platform=f.platform, gps_sigma=f.gps.sigma, gps_bias=f.gps.bias,
                          gps_jump_rate_per_h=f.gps.jumps_per_hour, altitude_sigma=f.gps.altitude_sigma,
                          max_duration=f.duration))
    return tracks


def simulate(sc: Scenario, path: str | Path = "scenario.yaml", base: str | Path | None = None,
             progress=None) -> Simulation:
    """Simulate a scenario (see :func:`plumetrace.sim.scenario.load_scenario`).

    Parameters
    ----------
    sc : Scenario
    path : str or pathlib.Path
        The scenario file, for error messages.
    base : str or pathlib.Path, optional
        Folder that relative paths in the scenario refer to.
    progress : callable, optional
        Called with a short text as each stage starts.
    """
    path = Path(path)
    base = Path(base) if base is not None else path.parent
    say = progress or (lambda text: None)
    rng = np.random.default_rng(sc.seed)
    frame = LocalFrame(sc.origin.lat, sc.origin.lon)
    t0 = sc.start.timestamp()
    classes = load_source_classes((base / sc.source_classes) if sc.source_classes else None)
    say("town")
    town = _resolve_town(sc, base, path, frame, rng)
    a = sc.atmosphere
    if a.stability == "auto":
        code = stability_class_turner([sc.start], sc.origin.lat, sc.origin.lon, a.wind_speed, a.cloud_cover_octas)
        stability = str(stability_label(code)[0])
    else:
        stability = a.stability
    atm = Atmosphere(
        wind_speed=a.wind_speed, wind_from_deg=a.wind_from, stability=stability, mixing_height=a.mixing_height,
        dispersion=a.dispersion, setting=a.setting, relative_fraction=a.meander.relative_fraction,
        meander_time_scale=a.meander.time_scale, gustiness=a.gustiness, intermittency=a.intermittency,
        direction_drift_deg=a.direction_drift, temperature=a.temperature, pressure=a.pressure, model=a.model,
    )
    say("emitters")
    emitters = _build_emitters(sc, town, classes, rng, t0, path)
    if sc.realisation:  # the same world, another turbulence realisation: a new stream from here on
        rng = np.random.default_rng([sc.seed, sc.realisation])
    say("flights")
    tracks = _flight_tracks(sc, town, emitters, t0, rng, path)
    specs = []
    for k, f in enumerate(sc.flights):
        row = []
        for j, s in enumerate(f.sensors):
            column = s if isinstance(s, str) else s.column
            over = {} if isinstance(s, str) else {
                name: getattr(s, name) for name in ("lag", "noise", "drift_per_hour", "resolution", "lod")
                if getattr(s, name) is not None}
            try:
                row.append(channel_spec(column, **over))
            except KeyError as exc:
                raise scenario_error(path, f"flights.{k}.sensors.{j}", str(exc).strip('"')) from None
        specs.append(row)
    t_all = np.concatenate([tr.time for tr in tracks])
    weather = Weather(atm, float(t_all.min()), float(t_all.max()), len(emitters), rng)
    say("plumes")
    frames, enh_frames = [], []
    for tr, f, chans in zip(tracks, sc.flights, specs, strict=True):
        species_needed = sorted({sp for ch in chans for sp in ch.response if sp in SPECIES or sp == "voc"})
        conc = {sp: np.zeros(tr.time.size) for sp in species_needed}  # g/m³ from all emitters
        top = np.full(tr.time.size, "", dtype=object)
        top_val = np.zeros(tr.time.size)
        total_val = np.zeros(tr.time.size)
        # what each species is worth in noise units of the channels that see it [per g/m³]
        signal_weight = _signal_weights(chans, species_needed, atm)
        for idx, em in enumerate(emitters):
            emitted = [sp for sp in em.rates if sp in conc]
            if not emitted:
                continue
            unit = np.zeros(tr.time.size)
            share = 1.0 / len(em.points)
            for p in em.points:
                fn = {"puff": weather.puff_concentration, "lagrangian": weather.lagrangian_concentration}.get(
                    atm.model, weather.unit_concentration)
                unit += share * fn(tr.time, tr.east, tr.north, tr.height, p[0], p[1], em.height, idx,
                                   rate_factor=em.schedule.factor)
            for sp in emitted:
                conc[sp] += em.rates[sp] * unit
            # the emitter's detectable signal: its strongest channel in units of that channel's noise
            strength = np.zeros(tr.time.size)
            for c_weights in signal_weight:
                strength = np.maximum(strength, unit * sum(em.rates.get(sp, 0.0) * w for sp, w in c_weights.items()))
            better = strength > top_val
            top[better] = em.id
            top_val[better] = strength[better]
            total_val += strength
        # true mole fractions: background with slow drift, plus the plumes
        fractions, enhancement = {}, {}
        drift = 1.0 + 0.01 * ou_process(rng, tr.time.size, tr.dt, 900.0)
        for sp in species_needed:
            if sp == "voc":
                continue
            excess = mole_fraction(conc[sp] * 1e-3, SPECIES[sp].molar_mass, atm.temperature, atm.pressure)
            fractions[sp] = BACKGROUND.get(sp, 0.0) * drift + excess
            enhancement[sp] = excess
        readings = {}
        for ch in chans:
            series = simulate_channel(ch, fractions, tr.dt, tr.sortie, rng)
            shift = int(round(f.clock_offset / tr.dt))
            if shift:
                series = _shift_within(series, tr.sortie, shift)
            readings[ch.column] = series
            factor = 1e6 if ch.unit == "ppm" else 1e9
            enh = sum(w * enhancement.get(sp, 0.0) for sp, w in ch.response.items()) * factor
            enh = np.broadcast_to(np.asarray(enh, float), tr.time.shape).copy()
            for seg in np.unique(tr.sortie):
                sel = tr.sortie == seg
                enh[sel] = first_order_lag(enh[sel], tr.dt, ch.lag)
            if shift:
                enh = _shift_within(enh, tr.sortie, shift)
            readings[f"__enh_{ch.column}"] = enh
        lat, lon = frame.to_wgs84(tr.gps_east, tr.gps_north)
        ws, wd = weather.measured_wind(tr.time, tr.height, rng, f.wind_noise.speed, f.wind_noise.direction)
        df = pd.DataFrame({"time": np.round(tr.time, 3), "lat": np.round(lat, 7), "lon": np.round(lon, 7),
                           "alt_m": np.round(tr.gps_height, 2)})
        for ch in chans:
            df[ch.column] = np.round(readings[ch.column], 5)
        df["wind_speed_mps"] = np.round(ws, 2)
        df["wind_dir_deg"] = np.round(wd, 1)
        df["temp_c"] = round(atm.temperature - 273.15, 2)
        df["pressure_hpa"] = round(atm.pressure / 100.0, 2)
        df["platform"] = tr.platform
        df["sortie"] = tr.sortie + 1
        share = np.divide(top_val, total_val, out=np.zeros_like(top_val), where=total_val > 0)
        truth_df = pd.DataFrame({"time": df["time"], "platform": tr.platform, "east": np.round(tr.east, 2),
                                 "north": np.round(tr.north, 2), "height": np.round(tr.height, 2), "source": top,
                                 "source_share": np.round(share, 3)})
        for ch in chans:
            truth_df[f"enh_{ch.column}"] = readings[f"__enh_{ch.column}"]
        frames.append(df)
        enh_frames.append(truth_df)
    survey = pd.concat(frames, ignore_index=True)
    enhancement = pd.concat(enh_frames, ignore_index=True)
    order = np.argsort(survey["time"].to_numpy(), kind="stable")
    survey = survey.iloc[order].reset_index(drop=True)
    enhancement = enhancement.iloc[order].reset_index(drop=True)
    say("truth")
    truth = _truth(sc, town, emitters, atm, tracks, specs, t0, frame, weather)
    return Simulation(survey=survey, town=town, emitters=emitters, truth=truth, enhancement=enhancement)


def follow_up_scenario(sc: Scenario, paths: list[np.ndarray], speed: float, delay_s: float = 3600.0,
                       realisation: int = 1, platform: str = "uav-follow-up") -> Scenario:
    """The scenario's world flown along planned paths (each (n, 3) [m] in its frame) ``delay_s`` later.

    Town, emitters and weather regime are the scenario's; the turbulence, measured winds and sensor noise are a
    new realisation (``realisation``). Sorties are flown one after another with the first flight's sensors, GPS
    and logging rate; each is a flight of pattern ``waypoints``.
    """
    first = sc.flights[0]
    flights, start = [], first.start_offset + delay_s
    for k, path in enumerate(paths, start=1):
        d = np.diff(np.asarray(path, float), axis=0)
        dur = float(np.sum(np.hypot(d[:, 0], d[:, 1]) + np.abs(d[:, 2]))) / speed
        flights.append(first.model_copy(update={
            "pattern": "waypoints", "waypoints": [tuple(map(float, p)) for p in np.asarray(path, float)],
            "speed": float(speed), "start_offset": float(start), "duration": None,
            "endurance": max(first.endurance, dur + 120.0), "platform": f"{platform}-{k}" if len(paths) > 1
            else platform}))
        start += dur + first.battery_swap
    a = sc.atmosphere
    stability = a.stability
    if stability == "auto":  # the regime of the first flight, not of the later hour
        code = stability_class_turner([sc.start], sc.origin.lat, sc.origin.lon, a.wind_speed, a.cloud_cover_octas)
        stability = str(stability_label(code)[0])
    return sc.model_copy(update={"flights": flights, "realisation": realisation,
                                 "atmosphere": a.model_copy(update={"stability": stability}),
                                 "name": f"{sc.name} follow-up"})


def _signal_weights(chans, species, atm) -> list[dict[str, float]]:
    """Per channel: species → channel reading per g/m³ of that species, in units of the channel's noise."""
    out = []
    for ch in chans:
        factor = 1e6 if ch.unit == "ppm" else 1e9
        noise = ch.noise if ch.noise > 0 else 1.0
        weights = {}
        for sp, w in ch.response.items():
            if sp in SPECIES and sp in species:
                per_g = mole_fraction(1e-3, SPECIES[sp].molar_mass, atm.temperature, atm.pressure) * factor
                weights[sp] = float(w * per_g / noise)
        out.append(weights)
    return out


def _shift_within(series: np.ndarray, sortie: np.ndarray, shift: int) -> np.ndarray:
    """Delay (shift > 0) or advance a series by whole samples inside each sortie, holding the edge values."""
    out = series.copy()
    for seg in np.unique(sortie):
        idx = np.flatnonzero(sortie == seg)
        s = series[idx]
        if shift > 0:
            out[idx] = np.concatenate((np.full(min(shift, s.size), s[0]), s[:-shift] if shift < s.size else []))
        else:
            k = -shift
            out[idx] = np.concatenate((s[k:], np.full(min(k, s.size), s[-1])))[: s.size]
    return out


def _truth(sc, town, emitters, atm, tracks, specs, t0, frame, weather) -> dict:
    t_start = float(min(tr.time.min() for tr in tracks))
    t_end = float(max(tr.time.max() for tr in tracks))
    sources = []
    for e in emitters:
        east, north = e.position
        lat, lon = frame.to_wgs84(east, north)
        on = e.schedule.fraction_on(t_start, t_end)
        sources.append({
            "id": e.id, "class": e.source_class, "target": e.target,
            "east_m": round(east, 2), "north_m": round(north, 2),
            "lat": round(float(lat), 7), "lon": round(float(lon), 7), "height_m": round(e.height, 2),
            "building_id": e.building_id, "primary": e.primary,
            "rates_g_s": {k: float(f"{v:.6g}") for k, v in e.rates.items()},
            "mean_rates_g_s": {k: float(f"{v * on:.6g}") for k, v in e.rates.items()},
            "ratios": {k: float(f"{v:.6g}") for k, v in e.ratios.items()},
            "schedule": e.schedule.describe(), "fraction_on": round(on, 4),
            "n_points": int(len(e.points)),
        })
    x0, y0, x1, y1 = town.bounds
    return {
        "plumetrace_version": __version__,
        "scenario": sc.name, "seed": sc.seed,
        "origin": {"lat": sc.origin.lat, "lon": sc.origin.lon},
        "start": sc.start.isoformat(), "t_start": t_start, "t_end": t_end,
        "town": {"bounds_m": [round(v, 2) for v in (x0, y0, x1, y1)], "area_km2": round(town.area_km2, 4),
                 "buildings": len(town.buildings)},
        "weather": {
            "wind_speed_10m_mps": atm.wind_speed, "wind_from_deg": atm.wind_from_deg, "stability": atm.stability,
            "mixing_height_m": atm.mixing_height, "dispersion": atm.dispersion, "model": atm.model,
            "relative_fraction": atm.relative_fraction, "meander_time_scale_s": atm.meander_time_scale,
            "meander_angle_sd_deg": round(float(np.rad2deg(weather.meander_angle_sd())), 3),
            "gustiness": atm.gustiness, "intermittency": atm.intermittency,
            "direction_drift_deg": atm.direction_drift_deg,
            "temperature_k": atm.temperature, "pressure_pa": atm.pressure,
        },
        "platforms": [
            {"platform": tr.platform, "samples": int(tr.time.size), "sorties": int(tr.sortie.max() + 1),
             "rate_hz": float(1 / tr.dt), "clock_offset_s": f.clock_offset,
             "sensors": [{"column": c.column, "lag_s": c.lag, "noise": c.noise} for c in chans]}
            for tr, f, chans in zip(tracks, sc.flights, specs, strict=True)
        ],
        "sources": sources,
    }


def write_simulation(sim: Simulation, out: str | Path, with_samples: bool = False) -> dict[str, Path]:
    """Write survey.csv, buildings.geojson and truth.json (and truth_samples.csv) into ``out``."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder ({exc.strerror})", out) from None
    paths = {"survey": out / "survey.csv", "buildings": out / "buildings.geojson", "truth": out / "truth.json"}
    sim.survey.to_csv(paths["survey"], index=False)
    write_buildings(paths["buildings"], sim.town.buildings, sim.town.frame)
    paths["truth"].write_text(json.dumps(sim.truth, indent=1), encoding="utf-8")
    if with_samples:
        paths["samples"] = out / "truth_samples.csv"
        sim.enhancement.round(6).to_csv(paths["samples"], index=False)
    return paths
