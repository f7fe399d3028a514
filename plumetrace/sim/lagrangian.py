"""A Lagrangian stochastic particle world: plumes that are not Gaussian, for testing on a world never tuned on.

The locator's forward model is the Gaussian plume; the simulator's default worlds are built around it (a
meandering Gaussian, Gaussian puffs). This world is structurally different: particles released from the source
move with the mean wind of a surface-layer profile and turbulent velocities that follow Langevin equations,

- vertical: Thomson's (1987) well-mixed model for inhomogeneous Gaussian turbulence in one dimension,
      dw = −w/T_Lw dt + ½ (1 + w²/σw²) ∂σw²/∂z dt + (2σw²/T_Lw)^½ dξ,
  with perfect reflection at the ground (z₀) and at the mixing height;
- crosswind: an Ornstein–Uhlenbeck velocity dv = −v/T_Lv dt + (2σv²/T_Lv)^½ dξ (homogeneous);
- along the wind: x advances with the mean wind u(z) = u*/κ [ln(z/z₀) − ψm(z/L)] (Businger–Dyer ψm).

Turbulence statistics from the stability class and height (Hanna 1982, surface-layer forms; Panofsky, Tennekes,
Lenschow & Wyngaard 1977 for σw and σv in unstable air): σw = 1.3 u* (× (1 − 3z/L)^⅓ when L < 0),
σv = 1.9 u* (u* (12 + ½ z_i/|L|)^⅓ when L < 0); T_Lw = 0.5 z/σw (neutral), 0.1 z/(σw (0.55 − 0.38 z/L))
(unstable), 0.1 h^0.2 z^0.8/σw (stable); T_Lv = 0.5 z/σw (neutral), 0.15 z_i/σv (unstable),
0.07 h (z/h)^½/σv (stable), with h = z_i. The Obukhov length of a class is a representative value for the
roughness (Golder 1972, z₀ ≈ 0.5 m: A −10, B −25, C −70, D ∞, E 70, F 25 m).

The concentration per unit emission rate is the particles' residence time in receptor cells (1 m across and
up, growing along the wind) divided by the number of particles and the cell volume (the steady-state residence
estimator of a continuous release). The *instantaneous* plume is the particle plume with its crosswind
velocities scaled by the relative fraction f; its axis meanders crosswind by √(1 − f²) σy(x) ξ(t − x/u) with
σy from Taylor's theory and ξ the scenario's meander process — the meandering-plume construction of the default
world on a non-Gaussian relative plume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

KARMAN = 0.4
#: Representative Obukhov lengths of the classes [m] (Golder 1972, rough terrain); D is neutral.
OBUKHOV_M = {"A": -10.0, "B": -25.0, "C": -70.0, "D": math.inf, "E": 70.0, "F": 25.0}
#: Receptor cells: 1 m across the wind and in height; along the wind 1 m to 20 m, then 5 % wider per cell.
X_MAX_M = 800.0
Y_HALF_M = 250.0
Z_MAX_M = 60.0


def _psi_m(zeta: float) -> float:
    """Businger–Dyer stability function ψm(z/L) for momentum."""
    if zeta < 0:
        x = (1.0 - 16.0 * zeta) ** 0.25
        return 2 * math.log((1 + x) / 2) + math.log((1 + x * x) / 2) - 2 * math.atan(x) + math.pi / 2
    return -5.0 * zeta


def friction_velocity(u10: float, z0: float, L: float) -> float:
    """u* [m/s] from the 10 m wind by the log-law with the stability correction."""
    zeta = 0.0 if math.isinf(L) else 10.0 / L
    return KARMAN * u10 / max(math.log(10.0 / z0) - _psi_m(zeta), 0.5)


@numba.njit(cache=True)
def _profiles(z, ustar, L, zi, z0):
    """(u, σw, ∂σw²/∂z, T_Lw, σv, T_Lv) at height z."""
    zz = max(z, 2.0 * z0)
    inv_l = 0.0 if math.isinf(L) else 1.0 / L
    zeta = zz * inv_l
    if zeta < 0:
        x = (1.0 - 16.0 * zeta) ** 0.25
        psi = 2 * math.log((1 + x) / 2) + math.log((1 + x * x) / 2) - 2 * math.atan(x) + math.pi / 2
        sw = 1.3 * ustar * (1.0 - 3.0 * zeta) ** (1.0 / 3.0)
        # d(σw²)/dz = (1.3 u*)² · ⅔ (1 − 3ζ)^(−⅓) · (−3/L)
        dsw2 = (1.3 * ustar) ** 2 * (2.0 / 3.0) * (1.0 - 3.0 * zeta) ** (-1.0 / 3.0) * (-3.0 * inv_l)
        tlw = 0.1 * zz / (sw * (0.55 - 0.38 * zeta))
        sv = ustar * (12.0 + 0.5 * zi * abs(inv_l)) ** (1.0 / 3.0)
        tlv = 0.15 * zi / sv
    else:
        psi = -5.0 * zeta
        sw = 1.3 * ustar
        dsw2 = 0.0
        sv = 1.9 * ustar
        if zeta > 0:
            tlw = 0.1 * zi ** 0.2 * zz ** 0.8 / sw
            tlv = 0.07 * zi * math.sqrt(zz / zi) / sv
        else:
            tlw = 0.5 * zz / sw
            tlv = 0.5 * zz / sw
    u = ustar / 0.4 * max(math.log(zz / z0) - psi, 0.1)
    return max(u, 0.3), sw, dsw2, max(tlw, 0.05), sv, max(tlv, 0.5)


@numba.njit(cache=True)
def _release(n, h, ustar, L, zi, z0, f_rel, xedges, dy, ny, dz, nz, seed, out):
    np.random.seed(seed)  # noqa: NPY002 - numba compiles NumPy's legacy generator (seeded here, per call)
    nx = xedges.size - 1
    xmax = xedges[-1]
    zfloor = z0
    for _ in range(n):
        x, y, z = 0.0, 0.0, max(h, 1.5 * z0)
        u, sw, dsw2, tlw, sv, tlv = _profiles(z, ustar, L, zi, z0)
        w = sw * np.random.standard_normal()  # noqa: NPY002
        v = f_rel * sv * np.random.standard_normal()  # noqa: NPY002
        steps = 0
        while x < xmax and steps < 200000:
            u, sw, dsw2, tlw, sv, tlv = _profiles(z, ustar, L, zi, z0)
            svr = f_rel * sv
            dt = min(0.1 * tlw, 0.5, 0.5 / u)
            ix = np.searchsorted(xedges, x) - 1
            iy = int(abs(y) / dy)
            iz = int(z / dz)
            if 0 <= ix < nx and iy < ny and iz < nz:
                out[ix, iy, iz] += dt
            xi_w = np.random.standard_normal()  # noqa: NPY002
            xi_v = np.random.standard_normal()  # noqa: NPY002
            w += (-w / tlw + 0.5 * dsw2 * (1.0 + w * w / (sw * sw))) * dt + math.sqrt(2.0 * sw * sw / tlw * dt) * xi_w
            v += -v / tlv * dt + math.sqrt(2.0 * svr * svr / tlv * dt) * xi_v
            x += u * dt
            y += v * dt
            z += w * dt
            if z < zfloor:
                z = 2.0 * zfloor - z
                w = -w
            if z > zi:
                z = 2.0 * zi - z
                w = -w
            steps += 1


def _x_edges() -> np.ndarray:
    near = np.arange(0.0, 20.0, 1.0)
    far = [20.0]
    while far[-1] < X_MAX_M:
        far.append(far[-1] * 1.05)
    return np.concatenate((near, np.array(far)))


@dataclass
class ParticlePlume:
    """The steady relative plume of one source height: concentration per unit rate on a receptor grid.

    ``field[ix, iy, iz]`` [s m⁻³] for along-wind cells ``x_edges``, crosswind |y| cells of ``dy`` (the plume is
    symmetric: both sides are counted in one), heights of ``dz``; ``sigma_v``, ``t_lv`` and ``u`` at the release
    height for the meander amplitude.
    """

    field: np.ndarray
    x_edges: np.ndarray
    dy: float
    dz: float
    sigma_v: float
    t_lv: float
    u: float

    @classmethod
    def run(cls, height: float, u10: float, stability: str, mixing_height: float | None, z0: float = 0.5,
            relative_fraction: float = 0.7, n_particles: int = 20_000, seed: int = 0) -> ParticlePlume:
        """Release ``n_particles`` at ``height`` [m] in the class's turbulence (10 m wind ``u10`` [m/s])."""
        L = OBUKHOV_M[stability[0].upper()]
        zi = float(mixing_height) if mixing_height else 800.0
        ustar = friction_velocity(u10, z0, L)
        xe = _x_edges()
        dy, dz = 1.0, 1.0
        ny, nz = int(Y_HALF_M / dy), int(min(Z_MAX_M, zi) / dz)
        out = np.zeros((xe.size - 1, ny, nz))
        _release(int(n_particles), float(height), ustar, L, zi, z0, float(relative_fraction), xe, dy, ny, dz, nz,
                 int(seed), out)
        vol = np.diff(xe)[:, None, None] * (2.0 * dy) * dz  # |y| cells hold both sides
        u, _, _, _, sv, tlv = _profiles(max(height, 2.0), ustar, L, zi, z0)
        return cls(out / (n_particles * vol), xe, dy, dz, float(sv), float(tlv), float(u))

    def sigma_y(self, x: np.ndarray) -> np.ndarray:
        """Crosswind spread of the time-mean plume at x [m] (Taylor's theory with σv, T_Lv at the source)."""
        t = np.maximum(np.asarray(x, float), 0.0) / self.u
        return self.sigma_v * t / np.sqrt(1.0 + t / (2.0 * self.t_lv))

    def at(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Concentration per unit rate [s m⁻³] at source-relative (x along, y across the wind, z up) [m]."""
        x, y, z = (np.asarray(a, float) for a in (x, y, z))
        ix = np.searchsorted(self.x_edges, x) - 1
        iy = (np.abs(y) / self.dy).astype(np.int64)
        iz = (np.maximum(z, 0.0) / self.dz).astype(np.int64)
        nx, ny, nz = self.field.shape
        ok = (x > 0) & (ix >= 0) & (ix < nx) & (iy < ny) & (iz < nz)
        out = np.zeros(x.shape)
        out[ok] = self.field[ix[ok], iy[ok], iz[ok]]
        return out
