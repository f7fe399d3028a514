"""Campaign commands: analyze surveys into the store, list the sites, the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from plumetrace.cli._app import app
from plumetrace.cli._common import DB_HELP, err, handle_errors, out, parse_lags, print_fields, print_json
from plumetrace.exceptions import InputError


@app.command("analyze")
@handle_errors
def analyze_cmd(
    paths: Annotated[list[Path], typer.Argument(metavar="SURVEY_OR_LOG...", help="Survey CSVs (contract 1); flight "
                                                "logs are joined with their sensor file by `convert` first.")],
    db: Annotated[str | None, typer.Option(help=DB_HELP)] = None,
    workers: Annotated[int | None, typer.Option(help="Start a Dask LocalCluster with N single-threaded workers.",
                                                min=1)] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of an existing Dask scheduler.")] = None,
    buildings: Annotated[Path | None, typer.Option(help="Building footprints (GeoJSON, contract 2).")] = None,
    lag: Annotated[list[str] | None, typer.Option(help="Sensor response lag, COLUMN=SECONDS; repeatable.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The whole pipeline into the store: surveys → hits → estimates → fused sites (Dask for many files).

    Every survey is located with the ``campaign`` preset (plumetrace.locate.presets): the same physics as
    ``plumetrace locate``, plus the evidence maps that fusion adds up across surveys.
    """
    import contextlib

    from plumetrace.locate.presets import CAMPAIGN_PRESET
    from plumetrace.pipeline import dask_executor, run_campaign
    from plumetrace.store import Store

    if workers and scheduler:
        raise InputError("give either --workers or --scheduler, not both")
    if workers:
        from plumetrace.pipeline import max_workers

        if workers > max_workers():
            raise InputError(f"--workers {workers}: this machine has {max_workers()} cores for analysis; give at "
                             f"most {max_workers()} (each worker is one single-threaded process)")
    if scheduler:
        from plumetrace.pipeline import check_scheduler_address

        scheduler = check_scheduler_address(scheduler)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InputError("file not found", missing[0])
    store = Store(db)
    lags = parse_lags(lag)
    with contextlib.ExitStack() as stack:
        executor = memory = None
        if workers or scheduler:
            executor, memory = stack.enter_context(dask_executor(workers, scheduler))
        summary = run_campaign(paths, store, executor=executor, buildings=str(buildings) if buildings else None,
                               locator={"lags": lags}, progress=not json_output, console=err, worker_memory=memory,
                               workers=workers)
    from plumetrace.leads.lifecycle import refresh_leads

    updated_leads = refresh_leads(store) if summary.ingested else []
    report = {"store": store.url_safe, "files": summary.files, "ingested": summary.ingested,
              "skipped_already_stored": summary.skipped,
              "skipped": [{"file": f, "reason": r} for f, r in summary.skipped_files],
              "failed": [{"file": f, "error": e} for f, e in summary.failed],
              "seconds": summary.seconds, "surveys_per_minute": 60 * summary.throughput if summary.ingested else None,
              "workers": summary.workers, "peak_rss_mb": summary.peak_rss_mb, "site_changes": summary.site_changes,
              "sites": summary.sites, "counts": store.counts(), "preset": CAMPAIGN_PRESET,
              "leads_updated": updated_leads}
    if json_output:
        print_json(report)
    else:
        changes = summary.site_changes
        print_fields(f"campaign in {store.url_safe}", [("locator preset", CAMPAIGN_PRESET),
                     ("files", f"{summary.files} ({summary.ingested} analysed, {summary.skipped} already stored, "
                                f"{len(summary.failed)} failed)"),
                     ("time", f"{summary.seconds:.1f} s ({summary.analysis_seconds:.1f} s of analysis)"),
                     ("peak memory", f"{summary.peak_rss_mb:.0f} MB"),
                     ("sites", f"{len(summary.sites)} ({changes['new']} new, {changes['updated']} updated, "
                               f"{changes['retired']} retired)"),
                     ("store", ", ".join(f"{k} {v}" for k, v in store.counts().items()))])
        if summary.sites:
            out.print(_sites_table(summary.sites))
    if not json_output:
        for f, why in summary.skipped_files:
            err.print(Text.assemble(("skipped: ", "dim"), f"{f}: {why}"), soft_wrap=True)
    for _, e in summary.failed:
        err.print(Text.assemble(("error: ", "red"), str(e)), soft_wrap=True)
    if summary.failed:
        raise typer.Exit(2)


def _sites_table(sites: list[dict]) -> Table:
    table = Table(title="sites: target classes first, then unattributed, then benign; by confidence",
                  title_justify="left")
    for col in ("id", "status", "activity", "confidence", "lat", "lon", "r90 m", "class", "channels", "seen",
                "building"):
        table.add_column(col, justify="right" if col in ("id", "confidence", "lat", "lon", "r90 m", "seen") else "left")
    for s in sites:
        table.add_row(str(s["id"]), s["status"], s["activity"], f"{s['confidence']:.2f}", f"{s['lat']:.6f}",
                      f"{s['lon']:.6f}", f"{s['credible90_radius_m']:.0f}", s["class"], ", ".join(s["channels"][:3]),
                      f"{s['n_detected']}/{s['n_covering']}", s["building_id"] or "–")
    return table


@app.command("sites")
@handle_errors
def sites_cmd(
    db: Annotated[str | None, typer.Option(help=DB_HELP)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    retired: Annotated[bool, typer.Option(help="Include retired sites.")] = False,
    geojson: Annotated[Path | None, typer.Option(help="Also write the sites as GeoJSON here.")] = None,
    kml: Annotated[Path | None, typer.Option(help="Also write the sites as KML here.")] = None,
) -> None:
    """Persistent sites with evidence, confidence and history."""
    from plumetrace.io.export import write_sites_geojson, write_sites_kml
    from plumetrace.pipeline import ranked_sites
    from plumetrace.store import Store

    store = Store(db)
    sites = ranked_sites(store, include_retired=retired)
    if geojson:
        write_sites_geojson(geojson, sites, store.hits())
    if kml:
        write_sites_kml(kml, sites, None, store.hits())
    if json_output:
        print_json({"store": store.url_safe, "sites": sites})
        return
    out.print(_sites_table(sites))
    if not sites:
        out.print("no sites yet: run `plumetrace analyze SURVEY.csv ...` first")


@app.command("demo")
@handle_errors
def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the flights, the store and the report.")]
    = Path("plumetrace-demo"),
    seed: Annotated[int, typer.Option(help="Random seed of the town, emitters and weather.")] = 7,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Simulate a town with a hidden lab, fly three days of surveys and a follow-up, run the pipeline, report."""
    from plumetrace.demo import run_demo, sites_table

    if not json_output:
        out.print(Text.assemble(("plumetrace demo", "bold"),
                                ": a town, a lab hidden among benign emitters, three days of flights"))
    result = run_demo(out_dir, seed, progress=not json_output, console=err)
    report = {"out": str(result.out), "report": str(result.report / "index.html"), "store": result.db_url,
              "seconds": result.seconds, "lab": {"lat": result.lab["lat"], "lon": result.lab["lon"],
                                                 "building_id": result.lab.get("building_id")},
              "top_site_lab_distance_m": result.lab_error_m, "sites": result.sites,
              "follow_up": ({k: v for k, v in result.follow_up.items() if k != "plan_paths"}
                            if result.follow_up else None)}
    if json_output:
        print_json(report)
        return
    out.print(sites_table(result.sites, result.lab))
    if result.sites:
        top = result.sites[0]
        out.print(f"top site: {top['class']} at {top['lat']:.6f}, {top['lon']:.6f} — {top['lab_distance_m']:.1f} m "
                  f"from the hidden lab (building {result.lab.get('building_id')}; site building "
                  f"{top['building_id'] or '–'})")
    else:
        out.print("no site found", style="yellow")
    fu = result.follow_up
    if fu:
        top = ", ".join(f"{b} {p:.2f}" for b, p in (fu["buildings_top"] or [])[:3])
        out.print(f"follow-up: {fu['flight_min']:.1f} min planned over {fu['candidate']['name']} ({fu['plan']}); "
                  f"with it, the joint posterior names building {fu['building_id'] or '–'} (top 3: {top or '–'}; "
                  f"hidden lab in {result.lab.get('building_id')}), {fu['lab_distance_m']:.1f} m from the lab, "
                  f"90 % within {fu['credible90_radius_m']:.0f} m" if fu["building_id"] is not None else
                  f"follow-up: {fu['flight_min']:.1f} min planned and flown ({fu['plan']}); no source near the "
                  "candidate yet")
    out.print(f"report: {result.report / 'index.html'} (also sites.geojson, sites.kml, samples.parquet); "
              f"{result.seconds:.0f} s")


