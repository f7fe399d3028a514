"""Named locator settings: the one place that says how ``locate`` and ``analyze`` configure the locator.

Both presets run the same physics — the :class:`~plumetrace.locate.SourceLocator` defaults, chosen on the
47-scenario suite (docs/localisation.md) — so ``plumetrace locate`` and ``plumetrace analyze`` give the same
estimate for the same survey. The campaign preset adds only what fusion across surveys needs:

``survey``
    The defaults: a source is accepted at 8 nats of evidence (on the suite, thresholds 10 / 8 / 6 found
    32 / 34 / 35 of 46 targets with 3 / 4 / 5 false sites).
``campaign``
    Evidence maps on a 25 m campaign lattice for the channels in which no source was accepted (repeated
    surveys add weak evidence up), and a survey accepts a source on its own only at the fusion's confirmation
    threshold (10 nats, :class:`plumetrace.fuse.SiteFuser`): weaker evidence goes to the maps, so a single
    survey never confirms on less than fusion would. For the same reason a candidate is not promoted by the other
    gases at its position (``co_emission``): the fuser weighs the gases and the surveys of a site together.
"""

from __future__ import annotations

#: Preset name → keyword arguments of :class:`~plumetrace.locate.SourceLocator` (on top of its defaults).
PRESETS: dict[str, dict] = {
    "survey": {},
    "campaign": {"evidence_resolution": 25.0, "min_log_bayes": 10.0, "co_emission": False},
}
DEFAULT_PRESET = "survey"
CAMPAIGN_PRESET = "campaign"


def locator_settings(preset: str = DEFAULT_PRESET, **overrides) -> dict:
    """Keyword arguments of the named preset with ``overrides`` applied (a new dict).

    >>> locator_settings("campaign", lags={"co_ppm": 15.0})["min_log_bayes"]
    10.0

    Raises
    ------
    ValueError
        For an unknown preset name.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown locator preset {preset!r}; expected one of {', '.join(PRESETS)}")
    return {**PRESETS[preset], **overrides}
