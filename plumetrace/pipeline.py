"""Files → surveys → hits → estimates → sites, for one flight or a Dask-parallel campaign.

:func:`analyze_survey` is the unit of work: it reads one survey in the campaign frame, detects, locates
(keeping each channel's evidence map) and returns a picklable :class:`SurveyResult`; it touches no database,
so it runs anywhere (in the process, or on Dask workers). :func:`run_campaign` hashes the files, skips those
already in the store (re-ingesting is a no-op), analyses the rest — in the process, on a Dask
``LocalCluster`` with ``workers`` single-threaded worker processes, or on an existing scheduler — and writes
each result in its own transaction as it arrives (one writer, so SQLite never sees two). It then fuses all
the store's evidence into sites (:class:`plumetrace.fuse.SiteFuser`) and replaces the sites in one
transaction. A file that fails is reported with its error and loses nothing else.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from plumetrace.exceptions import InputError

#: Locator settings of the pipeline: evidence maps for fusion; channel sources within 25 m are one site (in a
#: dense neighbourhood a bakery and a lab 30 m apart must stay two); the stability class marginalised with its
#: neighbours and urban dispersion when building footprints are given. Measured on five demo campaigns (seeds
#: 1, 2, 3, 4, 7: three days each): the top-ranked site lay within 15 m of the hidden lab in 3 of 5 with these
#: settings against 1 of 5 with the single-survey defaults (which are better on the single-survey suite);
#: `python benchmarks/locator_options.py demo|suite` reproduces both. A survey accepts a source alone at the
#: fusion's confirmation threshold (10 nats, :class:`plumetrace.fuse.SiteFuser`), not the single-survey
#: default of 8: weaker evidence goes to the evidence maps, where repeated surveys add it up.
PIPELINE_LOCATOR = {"evidence_resolution": 25.0, "merge_radius": 25.0, "stability_spread": True,
                    "urban_with_buildings": True, "min_log_bayes": 10.0}


@dataclass
class SurveyResult:
    """Everything the store keeps of one analysed survey."""

    content_hash: str
    path: str
    format: str
    platform: str | None
    start_time: float
    end_time: float
    n_samples: int
    channels: list
    wind_source: str | None
    stability: str | None
    extent: tuple
    meta: dict
    seconds: float
    hits: list = field(default_factory=list)
    estimates: list = field(default_factory=list)
    maps: list = field(default_factory=list)


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


def survey_origin(path: str | Path) -> tuple[float, float]:
    """Centre (lat, lon) of a survey file, for fixing a campaign frame."""
    from plumetrace.io.survey import read_survey

    s = read_survey(path)
    return s.frame.lat0, s.frame.lon0


def analyze_survey(path: str | Path, origin: tuple[float, float], locator: dict | None = None,
                   buildings: str | None = None, threads: int | None = None) -> SurveyResult:
    """Detect, locate and summarise one survey file in the campaign frame centred at ``origin``.

    Parameters
    ----------
    path : str or pathlib.Path
        A survey CSV (contract 1). Flight logs must first be joined with their sensor file by
        ``plumetrace convert``.
    origin : (float, float)
        Campaign frame origin (lat, lon): evidence maps of all surveys share its lattice.
    locator : dict, optional
        Keyword arguments of :class:`~plumetrace.locate.SourceLocator`.
    buildings : str, optional
        Building footprints (GeoJSON, contract 2) for building attribution.
    threads : int, optional
        Numba threads for this call (Dask workers use 1, so that N workers use N cores).
    """
    from plumetrace.io.crs import LocalFrame
    from plumetrace.io.flightlog import detect_format
    from plumetrace.io.survey import read_survey
    from plumetrace.locate import SourceLocator
    from plumetrace.locate.report import source_to_dict

    if threads is not None:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    t0 = time.perf_counter()
    path = Path(path)
    fmt = detect_format(path)
    if fmt in ("px4-ulog", "ardupilot-dataflash", "mavlink-tlog"):
        raise InputError(f"is a flight log ({fmt}) without gas readings; join it with its sensor logger first: "
                         f"plumetrace convert {path.name} --sensor SENSOR.csv --out SURVEY.csv", path)
    frame = LocalFrame(*origin)
    survey = read_survey(path, frame=frame)
    footprints = None
    if buildings:
        from plumetrace.io.buildings import read_buildings

        footprints, _ = read_buildings(buildings, frame)
    loc = SourceLocator(**{**PIPELINE_LOCATOR, **(locator or {})}).fit(survey, footprints)
    d = survey.data
    hits = [{"t_start": float(e.t_start), "t_end": float(e.t_end), "lat": float(e.lat), "lon": float(e.lon),
             "channels": list(e.channels), "peak_sigma": float(e.peak_sigma), "source_class": e.label,
             "class_probability": float(e.probability)} for e in loc.detector_.events_]
    estimates = []
    for est in loc.sources_:
        j = source_to_dict(est, frame)
        estimates.append({
            "lat": float(est.lat), "lon": float(est.lon), "east": float(est.east), "north": float(est.north),
            "height_m": float(est.height_m), "species": est.species, "channels": list(est.channels),
            "rate_g_s": float(est.rate_g_s), "rate_lo_g_s": float(est.rate_ci90_g_s[0]),
            "rate_hi_g_s": float(est.rate_ci90_g_s[1]), "radius90_m": float(est.credible90_radius_m),
            "credible90_geojson": j["credible90"], "log_bayes": float(est.log_bayes),
            "source_class": est.source_class, "class_probability": float(est.class_probability),
            "building_id": est.building_id,
            "building_probability": None if est.building_probability is None else float(est.building_probability),
        })
    platform = None
    if "platform" in d.columns and d["platform"].notna().any():
        platform = str(d["platform"].dropna().iloc[0])
    elif survey.metadata.get("platform"):
        platform = str(survey.metadata["platform"])
    meta = {k: v for k, v in survey.metadata.items() if isinstance(v, (str, int, float, bool, type(None), list,
                                                                       dict))}
    return SurveyResult(
        content_hash=file_hash(path), path=str(path), format="survey-csv", platform=platform,
        start_time=float(d["time"].iloc[0]), end_time=float(d["time"].iloc[-1]), n_samples=int(len(d)),
        channels=list(survey.channels), wind_source=survey.metadata.get("wind_source"), stability=loc.stability_,
        extent=(float(d["east"].min()), float(d["east"].max()), float(d["north"].min()), float(d["north"].max())),
        meta=meta, seconds=time.perf_counter() - t0, hits=hits, estimates=estimates,
        maps=list(loc.evidence_.values()),
    )


def fuse_store(store, fuser=None) -> tuple[list, dict]:
    """Fuse every survey's evidence in the store and replace its sites; returns (sites, changes)."""
    from plumetrace.fuse import SiteFuser
    from plumetrace.io.crs import LocalFrame

    origin = store.campaign_origin()
    evidence = store.evidence()
    if origin is None or not evidence:
        return [], {"new": 0, "updated": 0, "retired": 0}
    if fuser is None:
        from plumetrace.signatures import load_source_classes

        species = {name: {c.primary, *c.ratios} for name, c in load_source_classes().items()}
        fuser = SiteFuser(class_species=species)
    fuser = fuser.fit(evidence)
    changes = store.replace_sites(fuser.sites_, LocalFrame(*origin), merge_radius=fuser.merge_radius)
    return ranked_sites(store), changes


def ranked_sites(store, include_retired: bool = False) -> list[dict]:
    """The store's sites in analyst order (:func:`plumetrace.fuse.rank_sites`: target classes first)."""
    from plumetrace.fuse import rank_sites
    from plumetrace.signatures import load_source_classes

    targets = {name for name, c in load_source_classes().items() if c.target}
    return rank_sites(store.sites(include_retired=include_retired), targets)


def run_campaign(paths, store, workers: int | None = None, scheduler: str | None = None,
                 locator: dict | None = None, buildings: str | None = None, fuser=None,
                 progress: bool = True, console=None) -> CampaignSummary:
    """Analyse survey files into the store and refresh its sites (see the module docstring).

    Parameters
    ----------
    paths : list of path
        Survey CSVs.
    store : plumetrace.store.Store
    workers : int, optional
        Start a Dask ``LocalCluster`` with this many single-threaded worker processes.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``) instead.
    progress : bool
        Show a rich progress bar.
    """
    import psutil
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    t0 = time.perf_counter()
    paths = [Path(p) for p in paths]
    failed, todo = [], []
    seen_hashes = set()
    for p in paths:
        try:
            h = file_hash(p)
        except OSError as exc:
            failed.append((str(p), f"cannot be read ({exc.strerror or exc})"))
            continue
        if h in seen_hashes or store.has_survey(h):
            continue
        seen_hashes.add(h)
        todo.append(p)
    skipped = len(paths) - len(todo) - len(failed)
    origin = store.campaign_origin()
    if origin is None and todo:
        for p in todo:
            try:
                origin = store.set_campaign_origin(*survey_origin(p))
                break
            except InputError:
                continue
    ingested, analysis_s = 0, 0.0
    peak = psutil.Process().memory_info().rss
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console, disable=not progress, transient=False)

    def store_result(res):
        nonlocal ingested, analysis_s
        _, new = store.ingest(res)
        ingested += int(new)
        analysis_s += res.seconds

    with bar:
        task = bar.add_task("analysing surveys", total=len(todo))
        if todo and (workers or scheduler):
            from dask.distributed import Client, LocalCluster, as_completed

            cluster = None
            if scheduler:
                client = Client(scheduler)
            else:
                cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                                       dashboard_address=None)
                client = Client(cluster)
            try:
                futures = {client.submit(analyze_survey, str(p), origin, locator, buildings, 1, pure=False): p
                           for p in todo}
                for fut in as_completed(futures):
                    p = futures[fut]
                    try:
                        store_result(fut.result())
                    except InputError as exc:
                        failed.append((str(p), str(exc)))
                    bar.advance(task)
                    rss = client.run(lambda: __import__("psutil").Process().memory_info().rss)
                    peak = max(peak, sum(rss.values()) + psutil.Process().memory_info().rss)
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
        else:
            for p in todo:
                try:
                    store_result(analyze_survey(p, origin, locator, buildings))
                except InputError as exc:
                    failed.append((str(p), str(exc)))
                bar.advance(task)
                peak = max(peak, psutil.Process().memory_info().rss)
    sites, changes = fuse_store(store, fuser)
    return CampaignSummary(files=len(paths), ingested=ingested, skipped=skipped, failed=failed,
                           seconds=time.perf_counter() - t0, analysis_seconds=analysis_s,
                           workers=workers if not scheduler else None, peak_rss_mb=peak / 2**20, sites=sites,
                           site_changes=changes)
