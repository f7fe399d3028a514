"""Gaussian puff model (METHODS.md §4.5)."""

import numpy as np
import pytest
from scipy.integrate import simpson

from plumetrace.physics.plume import gaussian_plume
from plumetrace.physics.puff import gaussian_puff, release_puffs, wind_displacement


def test_wind_displacement_of_steady_wind():
    e, n, s = wind_displacement([0.0, 10.0, 20.0], 3.0, 270.0)
    np.testing.assert_allclose(e, [0, 30, 60], atol=1e-12)
    np.testing.assert_allclose(n, 0, atol=1e-12)
    np.testing.assert_allclose(s, [0, 30, 60])
    with pytest.raises(ValueError):
        wind_displacement([0.0, 0.0], 1.0, 0.0)


def test_single_puff_conserves_mass_and_moves_with_the_wind():
    wt = np.array([0.0, 200.0])
    t_obs = 100.0  # puff released at t=0 has travelled 100 s * 2 m/s = 200 m east
    x = np.linspace(100, 300, 161)
    y = np.linspace(-100, 100, 161)
    z = np.linspace(0, 120, 241)
    xx, yy, zz = np.meshgrid(x, y, z, indexing="ij")
    c = gaussian_puff(t_obs, xx, yy, zz, [0.0], [0.0], [0.0], [10.0], [5.0], wt, 2.0, 270.0, "D")
    mass = simpson(simpson(simpson(c, x=z, axis=2), x=y, axis=1), x=x)
    assert mass == pytest.approx(5.0, rel=1e-3)
    peak = np.unravel_index(np.argmax(c[:, :, 0]), c[:, :, 0].shape)
    assert x[peak[0]] == pytest.approx(200.0, abs=2.0)
    assert y[peak[1]] == pytest.approx(0.0, abs=2.0)
    before = gaussian_puff(0.0, 0.0, 0.0, 1.0, [0.0], [0.0], [0.0], [10.0], [5.0], wt, 2.0, 270.0, "D")
    assert before[0] == 0.0


@pytest.mark.parametrize("distance", [100.0, 300.0, 500.0])
def test_puff_train_converges_to_steady_plume(distance):
    """Steady wind and rate: the time-averaged puff concentration equals the steady plume (1 %)."""
    u, q, dt = 3.0, 2.0, 1.0
    wt = np.array([0.0, 3000.0])
    puffs = release_puffs(0.0, 0.0, 2.0, q, 0.0, 3000.0, dt)
    t = np.arange(1000.0, 3000.0, 2.0)
    c = gaussian_puff(t, distance, 0.0, 1.5, *puffs, wt, u, 270.0, "D")
    steady = gaussian_plume(distance, 0.0, 1.5, 0.0, 0.0, 2.0, q, u, 270.0, "D")
    assert c.mean() == pytest.approx(steady[0], rel=0.01)


def test_release_puffs_with_schedule():
    t, e, n, h, m = release_puffs(5.0, 6.0, 3.0, lambda t: np.where(t < 10, 1.0, 0.0), 0.0, 20.0, 2.0)
    assert t.tolist() == [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]
    assert m.sum() == pytest.approx(10.0)
    assert (e == 5).all() and (n == 6).all() and (h == 3).all()
    with pytest.raises(ValueError):
        release_puffs(0, 0, 0, 1.0, 5.0, 5.0, 1.0)
