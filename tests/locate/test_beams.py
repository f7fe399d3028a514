"""Fixed and path-averaging sensors (contract 1's optional columns): the forward operator averages along a beam,
and a network of fixed open-path beams that never moves is located."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from plumetrace.geo.crs import LocalFrame
from plumetrace.io.survey import survey_from_dataframe
from plumetrace.locate import SourceLocator
from plumetrace.locate.grid import grid_log_likelihood, unit_prediction
from plumetrace.locate.observations import Observations
from plumetrace.physics.plume import gaussian_plume
from plumetrace.physics.sigmas import sigma_model
from plumetrace.physics.species import SPECIES, mole_fraction

FRAME = LocalFrame(51.1454, -1.4361)


def _obs(east, north, end_east, end_north, wind_from=270.0):
    n = len(east)
    return Observations(channel="ch4_ppm", species="ch4", time=np.arange(n, dtype=float), east=np.asarray(east, float),
                        north=np.asarray(north, float), height=np.full(n, 1.6), enhancement=np.zeros(n),
                        variance=np.ones(n), wind_speed=np.full(n, 3.0), wind_from_deg=np.full(n, wind_from),
                        temperature=288.15, pressure=101325.0, platform=np.array([f"b{i}" for i in range(n)]),
                        end_east=np.asarray(end_east, float), end_north=np.asarray(end_north, float),
                        end_height=np.where(np.isfinite(end_east), 1.6, np.nan))


def test_path_average_equals_the_line_integral():
    """The beam's prediction is the plume integrated along the segment over its length (to 1e-6), the kernel's
    agrees with it, and a point reading stays a point."""
    obs = _obs([50.0, 80.0, 60.0, 30.0], [-40.0, -30.0, 10.0, -5.0], [50.0, 90.0, np.nan, 30.0],
               [40.0, 35.0, np.nan, 5.0])
    model = sigma_model("briggs_rural")
    g = unit_prediction(obs, 0.0, 0.0, 0.3, 0.0, 3.0, model)
    f = np.linspace(0.0, 1.0, 40_001)
    for i in range(len(obs)):
        if np.isfinite(obs.end_east[i]):
            e = obs.east[i] + f * (obs.end_east[i] - obs.east[i])
            n = obs.north[i] + f * (obs.end_north[i] - obs.north[i])
            c = gaussian_plume(e, n, np.full(f.size, 1.6), 0.0, 0.0, 0.3, 1.0, 3.0, 270.0, "D", model="briggs_rural")
            expected = float(np.trapezoid(c, f))
        else:
            expected = float(np.ravel(gaussian_plume(obs.east[i], obs.north[i], 1.6, 0.0, 0.0, 0.3, 1.0, 3.0, 270.0,
                                                     "D", model="briggs_rural"))[0])
        # midpoint rule on 0.5 m steps: exact to 1e-3 even for a 10 m beam across a 2 m wide plume
        assert g[i] == pytest.approx(expected * obs.ppb_per_g_m3, rel=1e-3), i
    _, reach = grid_log_likelihood(np.array([0.0]), np.array([0.0]), np.array([0.3]), obs, 0.0, 3.0, model,
                                   np.logspace(-4, 2, 19))
    assert reach[0, 0] == pytest.approx(g.max(), rel=1e-6)
    # a beam across the plume sees less than its axis but more than a point at the same distance off-axis
    axis = float(unit_prediction(_obs([50.0], [0.0], [np.nan], [np.nan]), 0, 0, 0.3, 0.0, 3.0, model)[0])
    assert 0 < g[0] < axis


def _network(seed=3, rate=0.4, minutes=150):
    """Seven open-path beams fanning south-west from one instrument, 1-minute means, a ground source north-east of
    them, the wind swinging through the north-east quadrant; each beam has its own offset."""
    rng = np.random.default_rng(seed)
    src = (9.0, 7.0, 0.3)
    bearings = np.deg2rad(np.linspace(190.0, 250.0, 7))
    lengths = np.array([35.0, 60.0, 45.0, 95.0, 80.0, 55.0, 40.0])
    ends = np.column_stack((np.sin(bearings) * lengths, np.cos(bearings) * lengths))
    rows = []
    for k in range(minutes):
        wind_from = 45.0 + 35.0 * math.sin(2 * math.pi * k / 50.0) + rng.normal(0, 5)
        speed = max(0.8, 2.5 + rng.normal(0, 0.4))
        for b in range(7):
            f = (np.arange(200) + 0.5) / 200
            c = gaussian_plume(f * ends[b, 0], f * ends[b, 1], np.full(200, 1.6), *src, rate, speed, wind_from, "D",
                               model="briggs_rural").mean()
            ppm = 1.95 + 0.01 * b + mole_fraction(c * 1e-3, SPECIES["ch4"].molar_mass) * 1e6 + rng.normal(0, 0.005)
            rows.append((1.494e9 + 60.0 * k, b, ends[b, 0], ends[b, 1], ppm, speed, wind_from % 360))
    t, b, ee, en, ppm, ws, wd = (np.array(v) for v in zip(*rows, strict=True))
    lat0, lon0 = FRAME.to_wgs84(np.zeros(t.size), np.zeros(t.size))
    elat, elon = FRAME.to_wgs84(ee, en)
    df = pd.DataFrame({"time": t, "lat": lat0, "lon": lon0, "alt_m": 1.6, "end_lat": elat, "end_lon": elon,
                       "end_alt_m": 1.6, "ch4_ppm": ppm, "wind_speed_mps": ws, "wind_dir_deg": wd,
                       "sensor_id": [f"beam{i + 1}" for i in b]})
    return survey_from_dataframe(df, ["ch4_ppm"], "network.csv", FRAME), src, rate


def _beam_reference(r, cx, cy, hs, spreads, step=0.005):
    """The network's unit-rate beam averages by a plain numerical line integral (points ``step`` m apart), written
    out from the formula of :mod:`plumetrace.locate.network` independently of its kernel."""
    from plumetrace.locate.network import LAGRANGIAN_TIME_S

    out = np.zeros((len(spreads), len(hs), cx.size, r.y.size))
    for i in range(r.y.size):
        e0, n0, z0, e1, n1, z1 = r.ends[i]
        m = max(1, math.ceil(math.hypot(e1 - e0, n1 - n0) / step))
        f = (np.arange(m) + 0.5) / m
        pe, pn, pz = e0 + f * (e1 - e0), n0 + f * (n1 - n0), np.maximum(z0 + f * (z1 - z0), 0.0)
        for c in range(cx.size):
            dx, dy = pe - cx[c], pn - cy[c]
            x = -dx * r.sin_t[i] - dy * r.cos_t[i]
            y = dx * r.cos_t[i] - dy * r.sin_t[i]
            t = np.where(x > 0, x, 1.0) / r.u[i]
            grow = r.u[i] * t / np.sqrt(1.0 + t / (2.0 * LAGRANGIAN_TIME_S))
            for j, (sf, s0) in enumerate(spreads):
                sy = np.hypot(sf * grow * r.tan_th[i], s0)
                sz = np.hypot(sf * grow * r.tan_ph[i], s0)
                lateral = np.exp(-0.5 * (y / sy) ** 2) / (2 * np.pi * r.u[i] * sy * sz)
                for k, h in enumerate(hs):
                    v = lateral * (np.exp(-0.5 * ((pz - h) / sz) ** 2) + np.exp(-0.5 * ((pz + h) / sz) ** 2))
                    out[j, k, c, i] = np.where(x > 0, v, 0.0).mean()
    return out


def test_the_network_kernel_averages_a_beam_as_its_line_integral():
    """The fixed-network kernel's beam average (points 1 m apart) against a numerical line integral on 0.005 m
    points: within 0.3 % of the largest prediction (measured 0.06 %; the plain midpoint rule, 0.73 %, fails: the
    plume starts abruptly at x = 0, and the point whose piece x = 0 cuts counts only its downwind part), within 5 %
    of each prediction for cells 20 m or more from the beam; the coarse pass's grouped points within 1.5 % of the
    largest of the fine ones."""
    from plumetrace.locate.network import NetworkLocator, network_readings

    survey, _, _ = _network(minutes=6)
    r = network_readings(survey, "ch4_ppm")
    cx = np.array([9.0, -10.0, 0.0, 20.0, -30.0, 5.0])
    cy = np.array([7.0, -20.0, 15.0, 25.0, 5.0, -40.0])
    spreads, hs = [(0.75, 0.5), (1.33, 2.0)], [0.3, 3.0]
    loc = NetworkLocator()
    g = loc._g(r, cx, cy, hs, spreads) / r.ppb_per_g_m3
    ref = _beam_reference(r, cx, cy, hs, spreads)
    assert ref.max() > 0 and np.count_nonzero(ref) > 100
    assert np.abs(g - ref).max() <= 0.003 * ref.max()
    # distance from each cell to each beam
    a, b = r.ends[:, :2], r.ends[:, 3:5]
    p = np.stack((cx, cy), axis=1)[:, None, :]
    t = np.clip(np.sum((p - a) * (b - a), axis=2) / np.sum((b - a) ** 2, axis=1), 0.0, 1.0)
    dist = np.linalg.norm(p - (a + t[..., None] * (b - a)), axis=2)
    far = (dist[None, None] >= 20.0) & (ref > 1e-3 * ref.max())
    assert far.sum() > 50
    assert np.all(np.abs(g - ref)[far] <= 0.05 * ref[far])
    grouped = loc._g(r, cx, cy, hs, spreads, group=1.0) / r.ppb_per_g_m3
    assert np.abs(grouped - g).max() <= 0.015 * g.max()
    assert not np.array_equal(grouped, g)  # the grouping did take points together


def test_a_fixed_network_of_beams_is_located():
    survey, src, rate = _network()
    assert survey.data["platform"].nunique() == 7  # one background and noise per beam
    loc = SourceLocator(stability="D").fit(survey)
    assert loc.sources_, "no source found"
    s = loc.sources_[0]
    # one instrument and beams 35–95 m long: the position along the wind is the weak direction; its 90 % region
    # is too narrow here (calibration of fixed networks is issue #15's), so the test holds the error, not the region
    assert math.hypot(s.east - src[0], s.north - src[1]) < 15.0
    # the default release heights (1, 5, 10 m) leave a ground release and a higher one ambiguous for beams at 1.6 m
    # (the default finds 5 m and five times the rate); with ground-level heights the rate comes back
    s = SourceLocator(stability="D", heights=(0.3, 1.0, 2.0)).fit(survey).sources_[0]
    assert math.hypot(s.east - src[0], s.north - src[1]) < 15.0 and rate / 2 < s.rate_g_s < 2 * rate


def test_a_fixed_network_without_wind_or_in_a_calm_exits_2(tmp_path):
    import json

    from typer.testing import CliRunner

    from plumetrace.cli import app

    survey, _, _ = _network(minutes=20)
    cols = ["time", "lat", "lon", "alt_m", "end_lat", "end_lon", "end_alt_m", "ch4_ppm", "sensor_id"]
    runner = CliRunner()
    survey.data[cols].to_csv(tmp_path / "nowind.csv", index=False)
    r = runner.invoke(app, ["locate", str(tmp_path / "nowind.csv"), "--json"])
    assert r.exit_code == 2 and "no wind" in r.stderr and "nowind.csv" in r.stderr
    calm = survey.data[cols + ["wind_dir_deg"]].assign(wind_speed_mps=0.0)
    calm.to_csv(tmp_path / "calm.csv", index=False)
    r = runner.invoke(app, ["locate", str(tmp_path / "calm.csv"), "--json"])
    assert r.exit_code == 2 and "calm" in r.stderr
    r = runner.invoke(app, ["locate", str(tmp_path / "nowind.csv"), "--wind", "2.5@45", "--json"])
    assert r.exit_code == 0 and "sources" in json.loads(r.stdout)  # a given wind serves the network too
    survey.data[cols + ["wind_speed_mps", "wind_dir_deg"]].to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "truth.json").write_text('{"sources": [{"lat": "north"}]}')
    r = runner.invoke(app, ["validate", "release", str(tmp_path), "--no-pyelq"])
    assert r.exit_code == 2 and "truth.json" in r.stderr
