"""``plumetrace bench``: speed and accuracy against baselines run in the same process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from plumetrace.cli._app import bench_app
from plumetrace.cli._common import handle_errors, out, print_json


@bench_app.command("speed")
@handle_errors
def bench_speed_cmd(
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    receptors: Annotated[int, typer.Option(help="Receptors for the plume-model benchmark.", min=1000)] = 1_000_000,
    samples: Annotated[int, typer.Option(help="Samples for the detection benchmark.", min=10_000)] = 2_000_000,
    quick: Annotated[bool, typer.Option(help="Small sizes, for a smoke test.")] = False,
    no_locate: Annotated[bool, typer.Option("--no-locate", help="Skip the localisation benchmark (emcee, pyELQ).")]
    = False,
) -> None:
    """Forward model, detection and localisation speed against baselines measured in this process."""
    from plumetrace.bench.detect_speed import render_detection_report, run_detection_benchmark
    from plumetrace.bench.forward import render_forward_report, run_forward_benchmark

    forward = run_forward_benchmark(n_receptors=receptors if not quick else 20_000, quick=quick,
                                    progress=not json_output)
    detection = run_detection_benchmark(n_samples=samples if not quick else 50_000,
                                        n_baseline=200_000 if not quick else 20_000)
    locate = None
    if not no_locate:
        from plumetrace.bench.locate_speed import render_locate_report, run_locate_benchmark

        locate = run_locate_benchmark(budget_s=20.0 if quick else 180.0, minutes=6.0 if quick else 30.0,
                                      pyelq_iterations=300 if quick else 3000)
    if json_output:
        print_json({"forward": forward, "detection": detection, "locate": locate})
    else:
        render_forward_report(forward, out)
        render_detection_report(detection, out)
        if locate is not None:
            render_locate_report(locate, out)


@bench_app.command("accuracy")
@handle_errors
def bench_accuracy_cmd(
    suite: Annotated[Path | None, typer.Option(help="Folder of scenario YAML files.")] = None,
    select: Annotated[str | None, typer.Option(help="Comma-separated globs on scenario names.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    locate: Annotated[bool, typer.Option("--locate/--no-locate", help="Also run and score the locator.")] = True,
) -> None:
    """Simulate a scenario suite, run the pipeline and score it against the ground truth."""
    from plumetrace.bench.accuracy import DEFAULT_SUITE, render_accuracy, run_accuracy

    report = run_accuracy(suite or DEFAULT_SUITE, select, progress=not json_output, locate=locate)
    if json_output:
        print_json(report)
    else:
        render_accuracy(report, out)




@bench_app.command("follow-up")
@handle_errors
def bench_follow_up_cmd(
    scenarios: Annotated[int, typer.Option(help="Seeded scenarios (a quarter in the puff world).", min=1, max=200)]
    = 20,
    workers: Annotated[int, typer.Option(help="Dask worker processes (1: in this process).", min=1, max=64)] = 1,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    first_seed: Annotated[int, typer.Option(help="Seed of the first scenario (a later range: cases no setting was "
                                                 "chosen on).", min=0, max=10_000)] = 0,
    budget_min: Annotated[float, typer.Option(help="Follow-up flight per candidate [min] (issue #16: at most 12).",
                                              min=1.0, max=60.0)] = 12.0,
) -> None:
    """Coverage → follow-up plan → fly → joint locate, adaptive against a ladder and an orbit of equal flight time."""
    from rich.table import Table

    from plumetrace.bench.follow_up import ARMS, run_follow_up_bench

    def show(row):
        if not json_output:
            out.print(f"{row['scenario']}: " + ", ".join(
                f"{a} {'top-1' if row[a]['top1'] else ('found' if row[a]['found'] else 'missed')}" for a in ARMS)
                + f" ({row['seconds']:.0f} s)")

    report = run_follow_up_bench(scenarios, workers, progress=show, first_seed=first_seed, budget_min=budget_min)
    if json_output:
        print_json(report)
        return
    s = report["summary"]
    for title, block in [("all", s["overall"]), *[(f"world {w}", b) for w, b in s["by_world"].items()]]:
        table = Table(title=f"follow-up benchmark, {title}", title_justify="left")
        for col in ("arm", "cases", "found", "building top-1", "top-3", "median error m", "to the house m",
                    "90 % coverage", "flight min"):
            table.add_column(col, justify="left" if col == "arm" else "right")
        for arm in ARMS:
            r = block[arm]

            def pct(v):
                return "–" if v is None else f"{100 * v:.0f} %"

            table.add_row(arm, str(r["cases"]), str(r["found"]), pct(r["top1"]), pct(r["top3"]),
                          *("–" if r.get(k) is None else f"{r[k]:.1f}"
                            for k in ("median_error_m", "median_building_distance_m")),
                          pct(r["coverage90"]), f"{r['flight_min']:.1f}")
        out.print(table)
    p = s["paired_top1"]
    out.print(f"paired building top-1, adaptive against the best fixed pattern ({p['best_fixed']}): adaptive only "
              f"{p['adaptive_only']}, {p['best_fixed']} only {p['fixed_only']}; {s['seconds']:.0f} s of work")


@bench_app.command("learning")
@handle_errors
def bench_learning_cmd(
    seeds: Annotated[int, typer.Option(help="Drawn worlds (four areas each).", min=1, max=500)] = 20,
    campaigns: Annotated[int, typer.Option(help="Campaigns per world, outcomes fed back after each.", min=2,
                                           max=100)] = 12,
    warmup: Annotated[int, typer.Option(help="First campaigns left out of the score (learning starts).", min=0)]
    = 4,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Learning from outcomes, before and after: false-positive leads per confirmed lab at equal recall."""
    from rich.table import Table

    from plumetrace.bench.learning import run_learning_bench

    if warmup >= campaigns:
        from plumetrace.exceptions import InputError

        raise InputError(f"--warmup {warmup} leaves no campaign to score of --campaigns {campaigns}")
    report = run_learning_bench(seeds, campaigns, warmup)
    if json_output:
        print_json(report)
        return
    table = Table(title=f"learning from outcomes: {seeds} worlds × {campaigns} campaigns (scored after {warmup})",
                  title_justify="left")
    for col in ("payload", "arm", "labs", "confirmed", "false +", "nothing found", "recall", "false per confirmed",
                "floor σ"):
        table.add_column(col, justify="left" if col in ("payload", "arm") else "right")
    for payload, r in report["payloads"].items():
        for arm in ("fixed", "learning"):
            a = r[arm]["at_t_0_5"]
            table.add_row(payload, arm, str(a["labs"]), str(a["confirmed"]), str(a["false_positive"]),
                          str(a["nothing_found"]), f"{100 * a['recall']:.0f} %", f"{a['fp_per_confirmed']:.3f}",
                          f"{a['mean_threshold_sigma']:.2f}")
    out.print(table)
    for payload, r in report["payloads"].items():
        e = r["equal_recall"]
        out.print(f"{payload} payload, at equal recall {100 * e['recall']:.0f} %: false leads per confirmed lab "
                  f"{e['fixed']:.3f} fixed → {e['learning']:.3f} learning; lead threshold P(lab) ≥ 0.5")
    out.print(f"{report['seconds']:.0f} s")
