"""Files → surveys → hits → estimates → sites, for one flight or a Dask-parallel campaign.

:func:`analyze_survey` is the unit of work: it reads one survey in the campaign frame, detects, locates with
the ``campaign`` preset (:mod:`plumetrace.locate.presets`: the single-survey physics plus evidence maps) and
returns a picklable :class:`~plumetrace.locate.SurveyResult`; it touches no database, so it runs anywhere (in
the process, or on Dask workers). :func:`run_campaign` reads each file and identifies it by its samples
(:func:`plumetrace.io.survey.content_hash`), skips those already in the store (re-ingesting the same data, in
any encoding, is a no-op that the summary lists), analyses the rest — in the process, or on any
:class:`concurrent.futures.Executor` such as the one of a Dask client (:func:`dask_executor` builds it; the
caller owns it) — and writes each result in its own transaction as it arrives (one writer, so SQLite never sees
two). It then fuses all the store's evidence into sites (:class:`plumetrace.fuse.SiteFuser`) and replaces the
sites in one transaction. A survey that fails — bad input or an internal error — is reported with its file and
loses nothing else.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path

from plumetrace.exceptions import InputError
from plumetrace.locate.presets import CAMPAIGN_PRESET, locator_settings
from plumetrace.locate.result import SurveyResult

__all__ = ["CampaignSummary", "SurveyResult", "analyze_survey", "dask_executor", "file_hash", "fuse_store",
           "ranked_sites", "run_campaign"]


@dataclass
class CampaignSummary:
    """What a campaign run did."""

    files: int
    ingested: int
    skipped: int
    failed: list  # (path, message)
    seconds: float
    analysis_seconds: float
    workers: int | None
    peak_rss_mb: float
    sites: list
    site_changes: dict
    skipped_files: list = field(default_factory=list)  # (path, why it was not analysed again)

    @property
    def throughput(self) -> float:
        """Surveys analysed and stored per second of wall time."""
        return self.ingested / self.seconds if self.seconds > 0 else float("nan")


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes (the store's idempotency key)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _refuse_flight_log(path: Path) -> None:
    """A flight log carries no gas readings: say how to join it with its sensor logger."""
    from plumetrace.io.flightlog import FLIGHT_LOG_FORMATS, detect_format

    fmt = detect_format(path)
    if fmt in FLIGHT_LOG_FORMATS:
        raise InputError(f"is a flight log ({fmt}) without gas readings; join it with its sensor logger first: "
                         f"plumetrace convert {path.name} --sensor SENSOR.csv --out SURVEY.csv", path)


def _read_for_identity(path: Path):
    """The survey of a file (its own frame), to identify it by content and fix a campaign frame."""
    from plumetrace.io.survey import read_survey

    _refuse_flight_log(Path(path))
    return read_survey(path)


def analyze_survey(path: str | Path, origin: tuple[float, float], locator: dict | None = None,
                   buildings: str | None = None, threads: int | None = None,
                   preset: str = CAMPAIGN_PRESET, learned: dict | None = None) -> SurveyResult:
    """Detect, locate and summarise one survey file in the campaign frame centred at ``origin``.

    Parameters
    ----------
    path : str or pathlib.Path
        A survey CSV (contract 1). Flight logs must first be joined with their sensor file by
        ``plumetrace convert``.
    origin : (float, float)
        Campaign frame origin (lat, lon): evidence maps of all surveys share its lattice.
    locator : dict, optional
        Keyword arguments of :class:`~plumetrace.locate.SourceLocator` on top of the preset (e.g. ``lags``).
    buildings : str, optional
        Building footprints (GeoJSON, contract 2) for building attribution.
    threads : int, optional
        Numba threads for this call (Dask workers use 1, so that N workers use N cores).
    preset : str
        Locator preset (:data:`plumetrace.locate.PRESETS`).
    learned : dict, optional
        Per-area priors learnt from outcomes (``Store.learned_priors``): the survey's area (its median position)
        sets the attribution's class prior and the detector's floor threshold.
    """
    from plumetrace.geo.crs import LocalFrame
    from plumetrace.io.survey import content_hash, read_survey
    from plumetrace.locate import SourceLocator, source_record

    if threads is not None:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    t0 = time.perf_counter()
    path = Path(path)
    _refuse_flight_log(path)
    frame = LocalFrame(*origin)
    survey = read_survey(path, frame=frame)
    footprints = None
    if buildings:
        from plumetrace.io.buildings import read_buildings

        footprints, _ = read_buildings(buildings, frame)
    settings = locator_settings(preset, **(locator or {}))
    area, prior = _learned_for(survey, learned)
    if prior is not None:
        settings["detector"] = {**(settings.get("detector") or {}), "class_prior": prior["class_prior"],
                                "k_min": float(prior["k_min"])}
    loc = SourceLocator(**settings).fit(survey, footprints)
    d = survey.data
    hits = [{"t_start": float(e.t_start), "t_end": float(e.t_end), "lat": float(e.lat), "lon": float(e.lon),
             "channels": list(e.channels), "peak_sigma": float(e.peak_sigma), "source_class": e.label,
             "class_probability": float(e.probability),
             "details": {**_event_details(e), "area": area, "class_prior": None if prior is None else
                         prior["class_prior"]}}
            for e in loc.detector_.events_]
    platform = None
    if "platform" in d.columns and d["platform"].notna().any():
        platform = str(d["platform"].dropna().iloc[0])
    elif survey.metadata.get("platform"):
        platform = str(survey.metadata["platform"])
    meta = {k: v for k, v in survey.metadata.items() if isinstance(v, (str, int, float, bool, type(None), list,
                                                                       dict))}
    return SurveyResult(
        survey_id=None, start_time=float(d["time"].iloc[0]), end_time=float(d["time"].iloc[-1]),
        channels=list(survey.channels),
        extent=(float(d["east"].min()), float(d["east"].max()), float(d["north"].min()), float(d["north"].max())),
        maps=list(loc.evidence_.values()),
        estimates=[{**source_record(e, frame), "posterior_cells": posterior_cells(e.posterior)} for e in loc.sources_],
        hits=hits,
        content_hash=content_hash(survey), path=str(path), format="survey-csv", platform=platform,
        n_samples=int(len(d)), wind_source=survey.metadata.get("wind_source"), stability=loc.stability_,
        meta=meta, seconds=time.perf_counter() - t0, preset=preset,
        samples=kept_samples(d, survey.channels, loc.detector_.background_),
    )


def _keep_buildings(store, path) -> None:
    """Keep the campaign's footprints in the store (for the map), once they read as buildings."""
    from plumetrace.io.buildings import read_buildings
    from plumetrace.io.jsonsafe import read_json_file

    read_buildings(path)
    store.set_buildings(read_json_file(path, "buildings GeoJSON"))


#: Most posterior cells of an estimate kept in the store (the most probable; for the map's heat overlay).
KEPT_CELLS = 4000


def posterior_cells(posterior) -> dict | None:
    """The most probable cells of an estimate's posterior (campaign frame [m]) for the map's overlay."""
    import numpy as np

    if posterior is None or getattr(posterior, "mass", None) is None or posterior.mass.size == 0:
        return None
    order = np.argsort(-posterior.mass)[:KEPT_CELLS]
    order = order[posterior.mass[order] >= 1e-4 * posterior.mass[order[0]]]
    return {"resolution": float(posterior.resolution),
            "east": np.round(posterior.cells[order, 0], 2).tolist(),
            "north": np.round(posterior.cells[order, 1], 2).tolist(),
            "mass": [float(f"{v:.4g}") for v in posterior.mass[order]]}


#: Most rows of a survey kept in the store for maps and evidence plots (every k-th row beyond it).
KEPT_SAMPLES = 20_000


def kept_samples(data, channels, background) -> dict:
    """The readings kept for the map and the evidence plots: time, position, each channel and its background."""
    import numpy as np

    stride = max(1, -(-len(data) // KEPT_SAMPLES))
    cols = ["time", "lat", "lon", "alt_m", *channels]
    values = [data[c].to_numpy(float)[::stride] for c in cols]
    for c in channels:
        values.append(background[c].to_numpy(float)[::stride])
    return {"columns": cols + [f"background:{c}" for c in channels], "stride": stride,
            "values": np.column_stack(values)}


def _learned_for(survey, learned: dict | None) -> tuple[str, dict | None]:
    """The survey's area (at its median position) and the priors learnt there, if any."""
    from plumetrace.detect.learning import area_key

    d = survey.data
    area = area_key(float(d["lat"].median()), float(d["lon"].median()))
    return area, (learned or {}).get(area)


def _event_details(e) -> dict:
    """What the evidence panel shows of an event: its peak, peaks and ratios, the class posterior, the wind."""
    import math

    def num(v):
        return float(v) if v is not None and math.isfinite(float(v)) else None

    ratios = {k: {kk: num(vv) if isinstance(vv, (int, float)) else vv for kk, vv in r.items()}
              for k, r in (e.ratios or {}).items()}
    return {"event": e.id, "t_peak": num(e.t_peak), "peak": {k: num(v) for k, v in e.peak.items()},
            "ratios": ratios, "reference": e.reference,
            "probabilities": {k: num(v) for k, v in (e.probabilities or {}).items()},
            "wind_speed_mps": num(e.wind_speed_mps), "wind_dir_deg": num(e.wind_dir_deg), "platform": e.platform}


def fuse_store(store, fuser=None) -> tuple[list, dict]:
    """Fuse every survey's evidence in the store and replace its sites; returns (sites, changes)."""
    from plumetrace.fuse import SiteFuser
    from plumetrace.geo.crs import LocalFrame

    origin = store.campaign_origin()
    evidence = store.evidence()
    if origin is None or not evidence:
        return [], {"new": 0, "updated": 0, "retired": 0}
    if fuser is None:
        from plumetrace.detect.signatures import load_source_classes

        species = {name: {c.primary, *c.ratios} for name, c in load_source_classes().items()}
        fuser = SiteFuser(class_species=species)
    fuser = fuser.fit(evidence)
    changes = store.replace_sites(fuser.sites_, LocalFrame(*origin), merge_radius=fuser.merge_radius)
    return ranked_sites(store), changes


def ranked_sites(store, include_retired: bool = False) -> list[dict]:
    """The store's sites in analyst order (:func:`plumetrace.fuse.rank_sites`: target classes first)."""
    from plumetrace.detect.signatures import load_source_classes
    from plumetrace.fuse import rank_sites

    targets = {name for name, c in load_source_classes().items() if c.target}
    return rank_sites(store.sites(include_retired=include_retired), targets)


#: Seconds to wait for an existing Dask scheduler before giving up.
SCHEDULER_TIMEOUT_S = 5.0


def max_workers() -> int:
    """Cores this process may use (its CPU affinity): the most single-threaded workers worth starting."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - platforms without affinity
        return max(1, os.cpu_count() or 1)


def check_scheduler_address(address: str) -> str:
    """A Dask scheduler address as ``tcp://HOST:PORT`` (``HOST:PORT`` accepted), or an InputError."""
    import re

    text = address.strip()
    if "://" not in text:
        text = "tcp://" + text
    m = re.fullmatch(r"(tcp|tls|inproc|ws|wss)://([A-Za-z0-9_.\-\[\]:]+?):(\d{1,5})", text)
    if not m or not 0 < int(m.group(3)) < 65536:
        raise InputError(f"--scheduler {address!r} is not a Dask scheduler address; expected tcp://HOST:PORT "
                         "(e.g. tcp://10.0.0.5:8786)")
    return text


@contextlib.contextmanager
def dask_executor(workers: int | None = None, scheduler: str | None = None):
    """A Dask client's :class:`concurrent.futures.Executor` for :func:`run_campaign`, closed on exit.

    ``workers``: a ``LocalCluster`` of that many single-threaded worker processes; ``scheduler``: the address of
    an existing Dask scheduler (``tcp://host:8786``). Yields ``(executor, memory)``, ``memory()`` being the
    resident memory of all workers [bytes].
    """
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        try:
            client = Client(check_scheduler_address(scheduler), timeout=SCHEDULER_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"--scheduler {scheduler}: no Dask scheduler answered within {SCHEDULER_TIMEOUT_S:g} s "
                             f"({type(exc).__name__})") from None
    else:
        cluster = LocalCluster(n_workers=int(workers or 1), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        def memory() -> float:
            return float(sum(client.run(lambda: __import__("psutil").Process().memory_info().rss).values()))

        yield client.get_executor(pure=False), memory
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_campaign(paths, store, executor=None, locator: dict | None = None, buildings: str | None = None,
                 fuser=None, progress: bool = True, console=None, worker_memory=None,
                 workers: int | None = None) -> CampaignSummary:
    """Analyse survey files into the store and refresh its sites (see the module docstring).

    Parameters
    ----------
    paths : list of path
        Survey CSVs.
    store : plumetrace.store.Store
    executor : concurrent.futures.Executor, optional
        Where the surveys are analysed (one single-threaded task each); None: in this process.
    locator : dict, optional
        Locator keyword arguments on top of the campaign preset.
    buildings : str, optional
        Building footprints for building attribution.
    fuser : SiteFuser, optional
    progress : bool
        Show a rich progress bar.
    worker_memory : callable, optional
        Resident memory of the executor's workers [bytes], for the peak-memory figure.
    workers : int, optional
        The executor's worker count, reported in the summary.
    """
    import psutil
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from plumetrace.io.survey import content_hash

    t0 = time.perf_counter()
    paths = [Path(p) for p in paths]
    failed, todo, skipped_files = [], [], []
    seen: dict[str, Path] = {}
    origin = store.campaign_origin()
    for p in paths:
        # a survey is identified by its samples (content_hash): the same data with other line endings, a BOM
        # or reordered columns is the same survey; stores made before keyed surveys by the file's bytes
        try:
            legacy = file_hash(p)
            survey = _read_for_identity(p)
        except OSError as exc:
            failed.append((str(p), f"{p}: cannot be read ({exc.strerror or exc})"))
            continue
        except InputError as exc:
            failed.append((str(p), str(exc)))
            continue
        h = content_hash(survey)
        if h in seen:
            skipped_files.append((str(p), f"the same samples as {seen[h]} in this run"))
            continue
        if store.has_survey(h) or store.has_survey(legacy):
            skipped_files.append((str(p), "already stored (the same samples)"))
            continue
        seen[h] = p
        todo.append(p)
        if origin is None:  # the first readable survey fixes the campaign frame
            origin = store.set_campaign_origin(survey.frame.lat0, survey.frame.lon0)
    skipped = len(skipped_files)
    if buildings and todo:
        _keep_buildings(store, buildings)
    if locator and todo:
        store.set_setting("campaign_locator", locator)  # uploads through the service are analysed the same way
    ingested, analysis_s = 0, 0.0
    learned = store.learned_priors()
    peak = psutil.Process().memory_info().rss
    bar = Progress(TextColumn("{task.description}", style="bold", markup=False), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(),
                   console=console, disable=not progress, transient=False)

    def finish(p, get):
        """Store one survey's result, or record why it failed (the others go on)."""
        nonlocal ingested, analysis_s
        try:
            res = get()
            _, new = store.ingest(res)
            ingested += int(new)
            analysis_s += res.seconds
        except InputError as exc:
            failed.append((str(p), str(exc)))
        except Exception as exc:  # noqa: BLE001 - one survey's bug must not lose the campaign
            failed.append((str(p), f"{p}: internal error while analysing ({type(exc).__name__}: {exc})"))

    with bar:
        task = bar.add_task("analysing surveys", total=len(todo))
        if todo and executor is not None:
            futures = {executor.submit(analyze_survey, str(p), origin, locator, buildings, 1, learned=learned): p
                       for p in todo}
            for fut in as_completed(futures):
                finish(futures[fut], fut.result)
                bar.advance(task)
                if worker_memory is not None:
                    peak = max(peak, worker_memory() + psutil.Process().memory_info().rss)
        else:
            for p in todo:
                finish(p, lambda p=p: analyze_survey(p, origin, locator, buildings, learned=learned))
                bar.advance(task)
                peak = max(peak, psutil.Process().memory_info().rss)
    sites, changes = fuse_store(store, fuser)
    return CampaignSummary(files=len(paths), ingested=ingested, skipped=skipped, skipped_files=skipped_files,
                           failed=failed,
                           seconds=time.perf_counter() - t0, analysis_seconds=analysis_s,
                           workers=workers, peak_rss_mb=peak / 2**20, sites=sites, site_changes=changes)
