"""Posterior map of located sources (matplotlib, written to a PNG file)."""

from __future__ import annotations

from pathlib import Path


def posterior_map(locator, survey, buildings, path: str | Path) -> Path:
    """Draw the sources and candidates of a fitted locator over the buildings and the track; save as PNG.

    Sources: their posterior cells and 90 % regions; candidates below the evidence threshold: dashed regions and
    hollow markers.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(8, 8), dpi=110)
    for b in buildings or []:
        geoms = getattr(b.footprint, "geoms", [b.footprint])
        for g in geoms:
            x, y = g.exterior.xy
            ax.fill(x, y, color="0.85", lw=0)
    d = survey.data
    ax.plot(d["east"], d["north"], lw=0.3, color="0.55", zorder=1)
    colours = plt.cm.tab10.colors
    for k, est in enumerate(locator.sources_):
        post = est.posterior
        c = colours[k % len(colours)]
        if post is not None:
            m = post.mass / post.mass.max()
            sel = m > 1e-3
            ax.scatter(post.cells[sel, 0], post.cells[sel, 1], c=[c], s=6, alpha=np.clip(m[sel], 0.05, 1), lw=0)
        region = est.credible90
        for g in getattr(region, "geoms", [region]):
            if hasattr(g, "exterior"):
                x, y = g.exterior.xy
                ax.plot(x, y, color=c, lw=1)
        ax.plot(est.east, est.north, marker="*", ms=14, color=c, mec="k")
        ax.annotate(f"{k + 1}: {est.source_class} {est.rate_g_s:.2g} g/s {est.species}", (est.east, est.north),
                    textcoords="offset points", xytext=(6, 6), fontsize=8)
    for k, cand in enumerate(getattr(locator, "candidates_", []), start=1):  # weak evidence: dashed, hollow
        post = cand.posterior
        region = post.credible_polygon()
        for g in getattr(region, "geoms", [region]):
            if hasattr(g, "exterior"):
                x, y = g.exterior.xy
                ax.plot(x, y, color="0.3", lw=0.8, ls="--")
        ax.plot(post.east, post.north, marker="o", ms=9, mfc="none", mec="0.2")
        ax.annotate(f"candidate {k}: {post.species}, {post.log_bayes:.1f} nats", (post.east, post.north),
                    textcoords="offset points", xytext=(6, -10), fontsize=7, color="0.25")
    ax.set_aspect("equal")
    ax.set_xlabel("east [m]")
    ax.set_ylabel("north [m]")
    ax.set_title("Source posterior (90 % credible regions)")
    path = Path(path)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
