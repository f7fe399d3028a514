"""The Lagrangian stochastic particle world (the held-out world of issue #15)."""

import numpy as np
import pytest

from plumetrace.physics.plume import gaussian_plume
from plumetrace.sim.lagrangian import ParticlePlume, _profiles, friction_velocity


@pytest.fixture(scope="module", params=["B", "D", "E"])
def plume(request):
    return request.param, ParticlePlume.run(1.0, 4.0, request.param, None, relative_fraction=1.0,
                                            n_particles=4000, seed=2)


def test_mass_flux_through_a_crosswind_plane_is_the_emission(plume):
    """∫∫ C u dy dz = Q: the residence estimator conserves mass (every particle crosses each plane once)."""
    st, p = plume
    from plumetrace.sim.lagrangian import OBUKHOV_M

    ustar = friction_velocity(4.0, 0.5, OBUKHOV_M[st])
    z = (np.arange(p.field.shape[2]) + 0.5) * p.dz
    u = np.array([_profiles(zz, ustar, OBUKHOV_M[st], 800.0, 0.5)[0] for zz in z])
    for x in (30.0, 150.0):
        ix = np.searchsorted(p.x_edges, x) - 1
        flux = np.sum(p.field[ix] * 2 * p.dy * p.dz * u[None, :])
        assert flux == pytest.approx(1.0, rel=0.12), (st, x, flux)


def test_the_particle_world_is_not_the_gaussian_plume(plume):
    st, p = plume
    c = p.at(np.array([100.0]), np.array([0.0]), np.array([2.0]))[0]
    g = float(np.ravel(gaussian_plume(100.0, 0.0, 2.0, 0.0, 0.0, 1.0, 1.0, 4.0, 270.0, st, model="briggs_rural"))[0])
    assert 0.1 < c / g < 10.0  # the same physics within an order of magnitude …
    assert abs(c / g - 1.0) > 0.1  # … and not the locator's model


def test_seeded_runs_repeat():
    a = ParticlePlume.run(5.0, 3.0, "C", 200.0, n_particles=500, seed=7)
    b = ParticlePlume.run(5.0, 3.0, "C", 200.0, n_particles=500, seed=7)
    assert np.array_equal(a.field, b.field)


def test_under_a_low_lid_the_plume_becomes_well_mixed():
    p = ParticlePlume.run(1.0, 4.0, "D", 15.0, relative_fraction=1.0, n_particles=3000, seed=1)
    assert p.field.shape[2] == 15  # nothing above the lid
    ix = np.searchsorted(p.x_edges, 600.0) - 1
    profile = p.field[ix].sum(axis=0)  # crosswind-integrated, per height
    assert profile.min() > 0.4 * profile.max()  # far downwind: close to uniform in height
    near = p.field[np.searchsorted(p.x_edges, 10.0) - 1].sum(axis=0)
    assert near[0] > 10 * near[-1]  # near the ground source: not mixed yet
