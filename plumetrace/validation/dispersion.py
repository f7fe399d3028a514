"""Evaluate the Gaussian plume against a dispersion field experiment (contract 4, docs/formats.md).

Only published coefficients are used; nothing is fitted to the validation data.

Choices (documented in docs/validation.md):

- σ model: ``briggs_rural`` by default (open country), any of :data:`~plumetrace.physics.SIGMA_MODELS`.
- Transport wind: the power law (ISC3 rural exponents) from the anemometer to the release height, but not
  below the anemometer height (ISC3, EPA-454/B-95-003b §1.1.3), so near-ground releases use the measured
  speed; calms are reset to 1 m/s.
- σy is scaled from the model's 10-minute reference to the run's sampling time by (t/10 min)^0.2.
- A mixing lid reflects the plume when the runs give ``mixing_height_m``.
- Arc maxima (blank ``y_m``) are compared with the model's centreline value.
- ``samplers.csv`` readings are placed by their azimuth and compared with the plume along the measured
  wind direction ``wind_dir_deg`` of their run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from plumetrace.io.field_experiment import FieldExperiment
from plumetrace.physics.plume import gaussian_plume
from plumetrace.physics.sigmas import sigma_model
from plumetrace.physics.wind import power_law_exponent, wind_speed_power_law
from plumetrace.validation.stats import EvaluationStatistics, evaluation_statistics


@dataclass
class Comparison:
    """Statistics of one set of observation/prediction pairs, overall and broken down."""

    overall: EvaluationStatistics
    by_stability: dict[str, EvaluationStatistics]
    by_distance: dict[str, EvaluationStatistics]
    pairs: pd.DataFrame

    def as_dict(self) -> dict:
        """JSON-ready dict (pairs left out)."""
        return {
            "overall": self.overall.as_dict(),
            "by_stability": {k: v.as_dict() for k, v in self.by_stability.items()},
            "by_distance": {k: v.as_dict() for k, v in self.by_distance.items()},
        }


@dataclass
class DispersionValidation:
    """Result of :func:`validate_dispersion`."""

    model: str
    dataset: str
    n_runs: int
    observations: Comparison
    samplers: Comparison | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready dict: the contract-4 comparison at top level, samplers beside it."""
        out = {"dataset": self.dataset, "model": self.model, "n_runs": self.n_runs}
        out.update(self.observations.as_dict())
        out["samplers"] = None if self.samplers is None else self.samplers.as_dict()
        out["notes"] = list(self.notes)
        return out


def _transport_wind(runs: pd.DataFrame) -> np.ndarray:
    height = np.maximum(runs["h_m"].to_numpy(), runs["z_ref_m"].to_numpy())
    p = power_law_exponent(runs["stability"].to_numpy(), "rural")
    return wind_speed_power_law(runs["u_ref_mps"].to_numpy(), runs["z_ref_m"].to_numpy(), height, p)


def _predict_runs(frame: pd.DataFrame, along: np.ndarray, cross: np.ndarray, model: str) -> np.ndarray:
    """Model concentration [µg/m³] for rows with downwind/crosswind offsets, run by run."""
    out = np.empty(len(frame))
    sampling = frame["sampling_min"].to_numpy(dtype=np.float64)
    averaging = np.where(np.isfinite(sampling), sampling * 60.0, 600.0)
    lid = frame["mixing_height_m"].to_numpy(dtype=np.float64)
    for _, idx in frame.groupby("run", sort=False).indices.items():
        row = frame.iloc[idx[0]]
        # wind from the north (0 deg): downwind is -north, crosswind +east
        out[idx] = gaussian_plume(
            cross[idx], -along[idx], frame["z_m"].to_numpy()[idx], 0.0, 0.0, float(row["h_m"]),
            float(row["q_g_s"]) * 1e6, wind_speed=float(row["u_transport"]), wind_direction_deg=0.0,
            stability=str(row["stability"]), model=model, mixing_height=lid[idx],
            averaging_time=averaging[idx],
        )
    return out


def _compare(pairs: pd.DataFrame, threshold: float) -> Comparison:
    obs = pairs["observed"].to_numpy()
    pred = pairs["predicted"].to_numpy()
    by_class = {
        str(c): evaluation_statistics(g["observed"], g["predicted"], threshold)
        for c, g in sorted(pairs.groupby("stability"), key=lambda kv: kv[0])
    }
    by_distance = {
        f"{x:g}": evaluation_statistics(g["observed"], g["predicted"], threshold)
        for x, g in sorted(pairs.groupby("x_m"), key=lambda kv: kv[0])
    }
    return Comparison(evaluation_statistics(obs, pred, threshold), by_class, by_distance, pairs)


def validate_dispersion(experiment: FieldExperiment, model: str = "briggs_rural",
                        threshold: float = 0.0) -> DispersionValidation:
    """Run the forward model on every observation of a field experiment and score it.

    Parameters
    ----------
    experiment : FieldExperiment
        From :func:`plumetrace.io.read_field_experiment`.
    model : str
        σ model name (see :data:`plumetrace.physics.SIGMA_MODELS`; ``parametric`` is refused here
        because it would need fitted coefficients).
    threshold : float
        Lower threshold [µg/m³] for MG, VG and FAC2 (see
        :func:`~plumetrace.validation.stats.evaluation_statistics`).

    Returns
    -------
    DispersionValidation
    """
    if model == "parametric":
        raise ValueError("validation uses published coefficients only; model='parametric' needs fitted ones")
    sigma_model(model)  # raises for an unknown name, listing the valid ones
    runs = experiment.runs.copy()
    runs["u_transport"] = _transport_wind(runs)
    meta = runs.drop(columns=["line"]).set_index("run")
    notes = list(experiment.notes)

    obs = experiment.concentrations.join(meta, on="run")
    cross = np.nan_to_num(obs["y_m"].to_numpy(dtype=np.float64), nan=0.0)
    obs["predicted"] = _predict_runs(obs, obs["x_m"].to_numpy(), cross, model)
    obs["observed"] = obs["c_ug_m3"]
    kind = np.where(obs["y_m"].isna(), "arc_max", "point")
    obs["kind"] = kind
    observations = _compare(obs, threshold)

    samplers = None
    if experiment.samplers is not None and len(experiment.samplers):
        smp = experiment.samplers.join(meta, on="run")
        has_dir = smp["wind_dir_deg"].notna()
        if (~has_dir).any():
            notes.append(f"samplers.csv: {int((~has_dir).sum())} readings of runs without wind_dir_deg were left out")
            smp = smp.loc[has_dir].reset_index(drop=True)
        if len(smp):
            bearing = np.deg2rad(smp["azimuth_deg"].to_numpy() - (smp["wind_dir_deg"].to_numpy() + 180.0))
            radius = smp["x_m"].to_numpy()
            along = radius * np.cos(bearing)
            cross = radius * np.sin(bearing)
            smp["predicted"] = _predict_runs(smp, along, cross, model)
            smp["observed"] = smp["c_ug_m3"]
            samplers = _compare(smp, threshold)
            zero = int((smp["predicted"] <= 0).sum())
            if zero:
                notes.append(f"samplers.csv: the model predicts 0 at {zero} samplers (upwind or > 9 sigma off-axis)")
    return DispersionValidation(model=model, dataset=str(experiment.path), n_runs=len(runs),
                                observations=observations, samplers=samplers, notes=notes)
