"""The library of source classes: what each kind of emitter releases (``data/source_classes.yaml``).

The simulator draws emissions from it; chemical attribution compares measured enhancement ratios with it.
Users can add classes with :func:`load_source_classes` on their own YAML file of the same form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from plumetrace.exceptions import InputError
from plumetrace.physics.species import SPECIES

RELEASES = ("roof_vent", "chimney", "window", "ground")


@dataclass(frozen=True)
class Ratio:
    """Molar emission ratio of a species to the class's primary species [mol/mol]."""

    median: float
    log_sd: float = 0.0
    presence: float = 1.0


@dataclass(frozen=True)
class SourceClass:
    """One entry of the library (see the header of ``source_classes.yaml``)."""

    key: str
    description: str
    primary: str
    ratios: dict[str, Ratio]
    rate_median_g_s: float
    rate_log_sd: float
    release: str
    target: bool
    illustrative: bool
    sources: tuple[str, ...] = field(default_factory=tuple)

    @property
    def species(self) -> tuple[str, ...]:
        """Primary species first, then every species with a non-zero ratio."""
        return (self.primary,) + tuple(s for s, r in self.ratios.items() if r.median > 0)


def _parse(path: str, data: object) -> dict[str, SourceClass]:
    if not isinstance(data, dict):
        raise InputError("expected a mapping of class keys to class entries", path)
    out = {}
    allowed = {"description", "primary", "ratios", "rate_g_s", "release", "target", "illustrative", "sources"}
    for key, entry in data.items():
        where = f"{key}"
        if not isinstance(entry, dict):
            raise InputError(f"class {key!r} must be a mapping", path, column=where)
        unknown = set(entry) - allowed
        if unknown:
            raise InputError(f"unknown key(s) {', '.join(sorted(unknown))}; expected {', '.join(sorted(allowed))}",
                             path, column=f"{where}.{sorted(unknown)[0]}")
        primary = entry.get("primary")
        if primary not in SPECIES:
            raise InputError(f"unknown species {primary!r}", path, column=f"{where}.primary")
        ratios = {}
        for sp, r in (entry.get("ratios") or {}).items():
            if sp not in SPECIES:
                raise InputError(f"unknown species {sp!r}", path, column=f"{where}.ratios.{sp}")
            if not isinstance(r, dict) or "median" not in r:
                raise InputError("needs {median: ..., log_sd: ...}", path, column=f"{where}.ratios.{sp}")
            ratio = Ratio(float(r["median"]), float(r.get("log_sd", 0.0)), float(r.get("presence", 1.0)))
            if ratio.median < 0 or ratio.log_sd < 0 or not 0 <= ratio.presence <= 1:
                raise InputError("median and log_sd must be >= 0, presence in [0, 1]", path,
                                 column=f"{where}.ratios.{sp}")
            ratios[sp] = ratio
        rate = entry.get("rate_g_s") or {}
        release = entry.get("release", "ground")
        if release not in RELEASES:
            raise InputError(f"unknown release {release!r}; expected one of {', '.join(RELEASES)}", path,
                             column=f"{where}.release")
        out[key] = SourceClass(
            key=key, description=str(entry.get("description", "")).strip(), primary=primary, ratios=ratios,
            rate_median_g_s=float(rate.get("median", 0.1)), rate_log_sd=float(rate.get("log_sd", 1.0)),
            release=release, target=bool(entry.get("target", False)),
            illustrative=bool(entry.get("illustrative", True)), sources=tuple(entry.get("sources") or ()),
        )
    return out


@lru_cache(maxsize=1)
def _builtin() -> dict[str, SourceClass]:
    text = resources.files("plumetrace").joinpath("data/source_classes.yaml").read_text(encoding="utf-8")
    return _parse("plumetrace/data/source_classes.yaml", yaml.safe_load(text))


def load_source_classes(extra: str | Path | None = None) -> dict[str, SourceClass]:
    """The built-in classes, plus (and overridden by) those of a user YAML file of the same form."""
    classes = dict(_builtin())
    if extra is not None:
        path = Path(extra)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError("file not found", path) from None
        except yaml.YAMLError as exc:
            raise InputError(f"is not valid YAML ({exc})", path) from None
        classes.update(_parse(str(path), data))
    return classes
