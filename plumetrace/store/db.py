"""The store: one SQLAlchemy engine, Alembic migrations, idempotent and atomic writes.

``sqlite:///plumetrace.db`` (the embedded default; ``$PLUMETRACE_DB`` overrides) or a ``postgresql://`` URL
(PostgreSQL with PostGIS, the multi-user store; the ``postgresql+psycopg`` driver is chosen for it). Opening a
store brings its schema to the newest migration. Every survey is written in one transaction with all its
hits, estimates and evidence maps, keyed by the SHA-256 of the file's bytes: the same file twice is a no-op,
and a process killed mid-write leaves the store as it was (SQLite rolls the journal back on the next open,
PostgreSQL aborts the transaction with the connection). Sites are replaced in one transaction too, keeping
their ids where a new fused site matches an old one.
"""

from __future__ import annotations

import json
import os
import zlib
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, delete, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from plumetrace.exceptions import InputError
from plumetrace.fuse import match_sites
from plumetrace.geo.crs import geodesic_distance_m
from plumetrace.store import models as m

DEFAULT_URL = "sqlite:///plumetrace.db"


def resolve_url(url: str | None = None) -> str:
    """The store URL: ``url``, else ``$PLUMETRACE_DB``, else ``sqlite:///plumetrace.db``.

    ``postgresql://`` URLs are given the psycopg 3 driver.
    """
    url = url or os.environ.get("PLUMETRACE_DB") or DEFAULT_URL
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise InputError(f"--db {url!r} is neither sqlite:///FILE nor postgresql://USER@HOST/DB")
    if url.startswith("sqlite") and url.split("://", 1)[-1] in ("", "/", "/:memory:"):
        raise InputError(f"--db {url!r} is an in-memory SQLite store: everything written to it is lost when the "
                         "command ends; give a file, sqlite:///FILE")
    if url.startswith("sqlite:///"):
        folder = Path(url[len("sqlite:///"):]).parent
        if not folder.is_dir():
            raise InputError(f"--db {url!r}: the folder {str(folder)!r} does not exist")
    return url


def pack_array(a: np.ndarray) -> bytes:
    """zlib-compressed float32 bytes of an array."""
    return zlib.compress(np.ascontiguousarray(a, dtype=np.float32).tobytes(), 6)


def unpack_array(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    """Inverse of :func:`pack_array`."""
    return np.frombuffer(zlib.decompress(data), dtype=np.float32).reshape(shape)


class Store:
    """A plumetrace store (see the module docstring).

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; see :func:`resolve_url`.
    upgrade : bool
        Bring the schema to the newest migration on opening.
    """

    def __init__(self, url: str | None = None, upgrade: bool = True):
        self.url = resolve_url(url)
        kwargs = {"future": True}
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 60}
            path = self.url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = create_engine(self.url, **kwargs)
        except Exception as exc:  # noqa: BLE001 - bad URL forms raise several types
            raise InputError(f"--db {url!r}: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.session = sessionmaker(self.engine, expire_on_commit=False)
        if upgrade:
            self.upgrade()

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    # -- migrations ---------------------------------------------------------------------------------------
    def _alembic(self, connection):
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(resources.files("plumetrace.store") / "migrations"))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        cfg.attributes["connection"] = connection
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to ``revision``."""
        from alembic import command

        try:
            with self.engine.begin() as conn:
                command.upgrade(self._alembic(conn), revision)
        except Exception as exc:
            if type(exc).__module__.startswith(("sqlalchemy", "psycopg")):
                raise InputError(f"cannot open the store {self.url_safe}: {exc.__class__.__name__}: "
                                 f"{str(exc).splitlines()[0]}") from None
            raise

    def downgrade(self, revision: str = "base") -> None:
        """Revert migrations down to ``revision`` (``"base"``: an empty database)."""
        from alembic import command

        with self.engine.begin() as conn:
            command.downgrade(self._alembic(conn), revision)

    def revision(self) -> str | None:
        """The schema's current migration revision (None: not created)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @property
    def url_safe(self) -> str:
        """The URL without its password."""
        return self.engine.url.render_as_string(hide_password=True)

    # -- settings -----------------------------------------------------------------------------------------
    def get_setting(self, key: str):
        """A JSON setting, or None."""
        with self.session() as s:
            row = s.get(m.Setting, key)
            return None if row is None else json.loads(row.value)

    def set_setting(self, key: str, value) -> None:
        """Store a JSON setting (insert or replace)."""
        with self.session.begin() as s:
            row = s.get(m.Setting, key)
            if row is None:
                s.add(m.Setting(key=key, value=json.dumps(value)))
            else:
                row.value = json.dumps(value)

    def campaign_origin(self) -> tuple[float, float] | None:
        """(lat, lon) of the campaign frame's origin, once a survey fixed it."""
        v = self.get_setting("campaign_origin")
        return None if v is None else (float(v[0]), float(v[1]))

    def set_campaign_origin(self, lat: float, lon: float) -> tuple[float, float]:
        """Fix the campaign frame (first writer wins) and return the origin in force."""
        with self.session.begin() as s:
            row = s.get(m.Setting, "campaign_origin")
            if row is None:
                s.add(m.Setting(key="campaign_origin", value=json.dumps([lat, lon])))
                return lat, lon
            v = json.loads(row.value)
            return float(v[0]), float(v[1])

    # -- surveys ------------------------------------------------------------------------------------------
    def has_survey(self, content_hash: str) -> bool:
        """Whether a file with these bytes was ingested."""
        with self.session() as s:
            return s.scalar(select(m.Survey.id).where(m.Survey.content_hash == content_hash)) is not None

    def ingest(self, result) -> tuple[int, bool]:
        """Write one analysed survey (a :class:`plumetrace.pipeline.SurveyResult`) in one transaction.

        Returns
        -------
        (int, bool)
            The survey's id and whether it was new (False: the same bytes were ingested before; nothing
            changed).
        """
        with self.session.begin() as s:
            existing = s.scalar(select(m.Survey.id).where(m.Survey.content_hash == result.content_hash))
            if existing is not None:
                return int(existing), False
            platform_id = None
            if result.platform:
                platform_id = s.scalar(select(m.Platform.id).where(m.Platform.name == result.platform))
                if platform_id is None:
                    p = m.Platform(name=result.platform)
                    s.add(p)
                    s.flush()
                    platform_id = p.id
            survey = m.Survey(
                content_hash=result.content_hash, path=result.path, format=result.format, platform_id=platform_id,
                start_time=result.start_time, end_time=result.end_time, n_samples=result.n_samples,
                channels=list(result.channels), wind_source=result.wind_source, stability=result.stability,
                east_min=result.extent[0], east_max=result.extent[1], north_min=result.extent[2],
                north_max=result.extent[3], meta=result.meta, seconds=result.seconds, preset=result.preset,
                ingested_at=datetime.now(UTC),
            )
            s.add(survey)
            s.flush()
            self._add_children(s, survey, result)
            return int(survey.id), True

    def _add_children(self, s: Session, survey, result) -> None:
        for h in result.hits:
            s.add(m.Hit(survey_id=survey.id, **h))
        for e in result.estimates:
            s.add(m.SourceEstimate(survey_id=survey.id, **_estimate_columns(e)))
        if result.samples is not None:
            v = np.asarray(result.samples["values"], dtype=np.float64)
            s.add(m.SurveySamples(survey_id=survey.id, columns=list(result.samples["columns"]),
                                  stride=int(result.samples["stride"]), n=int(v.shape[0]),
                                  data=zlib.compress(v.tobytes(), 6)))
        for em in result.maps:
            nx, ny = em.log_bf.shape
            s.add(m.EvidenceMapRow(survey_id=survey.id, channel=em.channel, species=em.species, x0=em.x0,
                                   y0=em.y0, step=em.step, nx=nx, ny=ny, data=pack_array(em.log_bf)))
        s.flush()

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        tables = {"surveys": m.Survey, "hits": m.Hit, "source_estimates": m.SourceEstimate,
                  "evidence_maps": m.EvidenceMapRow, "sites": m.Site, "site_evidence": m.SiteEvidence,
                  "platforms": m.Platform}
        with self.session() as s:
            return {k: int(s.scalar(select(func.count()).select_from(t))) for k, t in tables.items()}

    def data_version(self) -> tuple:
        """A value that changes whenever what the map and the evidence views show can have changed.

        Surveys, hits and estimates are only added; sites are replaced (their ``updated_at`` moves); plans are
        added; the buildings are a setting (with its SHA-256). One statement, cheap enough to ask per request (the
        API's heavy views are cached on it).
        """
        q = select(select(func.max(m.Survey.id)).scalar_subquery(),
                   select(func.count()).select_from(m.Hit).scalar_subquery(),
                   select(func.count()).select_from(m.Site).scalar_subquery(),
                   select(func.max(m.Site.updated_at)).scalar_subquery(),
                   select(func.max(m.Site.id)).scalar_subquery(),
                   select(func.max(m.Plan.id)).scalar_subquery(),
                   select(m.Setting.value).where(m.Setting.key == "buildings_sha256").scalar_subquery())
        with self.session() as s:
            return tuple(s.execute(q).one())

    def surveys(self) -> list[dict]:
        """Ingested surveys, oldest first."""
        with self.session() as s:
            rows = s.scalars(select(m.Survey).order_by(m.Survey.start_time)).all()
            return [{"id": r.id, "path": r.path, "start_time": r.start_time, "end_time": r.end_time,
                     "n_samples": r.n_samples, "channels": r.channels, "hits": len(r.hits),
                     "estimates": len(r.estimates), "seconds": r.seconds} for r in rows]

    def evidence(self) -> list:
        """Every survey's result as fusion needs it (:class:`plumetrace.locate.SurveyResult`), oldest first.

        Each carries its store id, times, channels, extent, evidence maps and estimates (as
        :func:`plumetrace.locate.source_record` keys, with the estimate's ``id``); hits are not loaded.
        """
        from plumetrace.locate.posterior import EvidenceMap
        from plumetrace.locate.result import SurveyResult

        out = []
        with self.session() as s:
            for r in s.scalars(select(m.Survey).order_by(m.Survey.start_time)).all():
                maps = [EvidenceMap(e.channel, e.species, e.x0, e.y0, e.step, unpack_array(e.data, (e.nx, e.ny)))
                        for e in r.maps]
                ests = [_estimate_record(e) for e in r.estimates]
                out.append(SurveyResult(
                    survey_id=r.id, start_time=r.start_time, end_time=r.end_time, channels=list(r.channels),
                    extent=(r.east_min, r.east_max, r.north_min, r.north_max), maps=maps, estimates=ests,
                    content_hash=r.content_hash, path=r.path, format=r.format, n_samples=r.n_samples,
                    wind_source=r.wind_source, stability=r.stability, meta=r.meta or {}, seconds=r.seconds,
                    preset=r.preset))
        return out

    # -- sites --------------------------------------------------------------------------------------------
    def replace_sites(self, fused, frame, merge_radius: float = 50.0) -> dict[str, int]:
        """Write fused sites in one transaction, keeping the id of an old site a new one matches.

        Old sites that no fused site matches any more are kept, marked retired, with their history.

        Returns
        -------
        dict
            Counts of ``new``, ``updated`` and ``retired`` sites.
        """
        now = datetime.now(UTC)
        counts = {"new": 0, "updated": 0, "retired": 0}
        with self.session.begin() as s:
            old = list(s.scalars(select(m.Site).where(m.Site.retired.is_(False))).all())
            by_id = {o.id: o for o in old}
            matches = match_sites([(o.id, o.east, o.north) for o in old], fused, merge_radius)
            taken: set[int] = set()
            for site, match_id in zip(fused, matches, strict=True):
                match = by_id.get(match_id)
                lat, lon = frame.to_wgs84(np.array([site.east]), np.array([site.north]))
                values = {
                    "lat": float(lat[0]), "lon": float(lon[0]), "east": site.east, "north": site.north,
                    "credible90_radius_m": site.credible90_radius_m, "channels": site.channels, "species": site.species,
                    "log_bayes": site.log_bayes, "confidence": site.confidence, "status": site.status,
                    "activity": site.activity, "source_class": site.source_class, "building_id": site.building_id,
                    "rate_g_s": site.rate_g_s, "first_seen": site.first_seen, "last_seen": site.last_seen,
                    "n_covering": site.n_covering, "n_detected": site.n_detected, "history": site.history,
                    "retired": False, "updated_at": now,
                }
                if match is None:
                    row = m.Site(**values)
                    s.add(row)
                    s.flush()
                    counts["new"] += 1
                else:
                    for k, v in values.items():
                        setattr(match, k, v)
                    row = match
                    taken.add(match.id)
                    s.execute(delete(m.SiteEvidence).where(m.SiteEvidence.site_id == row.id))
                    counts["updated"] += 1
                for h in site.history:
                    s.add(m.SiteEvidence(site_id=row.id, survey_id=int(h["survey"]), log_bf=h["log_bf"],
                                         detected=bool(h["detected"])))
            for o in old:
                if o.id not in taken:
                    o.retired = True
                    o.updated_at = now
                    counts["retired"] += 1
        return counts

    def sites(self, include_retired: bool = False) -> list[dict]:
        """Sites, strongest evidence first, as JSON-ready dicts."""
        with self.session() as s:
            q = select(m.Site).order_by(m.Site.log_bayes.desc())
            if not include_retired:
                q = q.where(m.Site.retired.is_(False))
            return [_site_dict(r) for r in s.scalars(q).all()]

    def site(self, site_id: int) -> dict | None:
        """One site (retired ones too), or None."""
        with self.session() as s:
            r = s.get(m.Site, site_id)
            return None if r is None else _site_dict(r)

    def estimate(self, estimate_id: int) -> dict | None:
        """One single-survey estimate (as :meth:`estimates` lists them), or None."""
        with self.session() as s:
            r = s.get(m.SourceEstimate, estimate_id)
            return None if r is None else {c.name: getattr(r, c.name) for c in m.SourceEstimate.__table__.columns
                                           if c.name != "posterior"}

    def estimates(self) -> list[dict]:
        """All single-survey source estimates."""
        with self.session() as s:
            rows = s.scalars(select(m.SourceEstimate).order_by(m.SourceEstimate.id)).all()
            return [{c.name: getattr(r, c.name) for c in m.SourceEstimate.__table__.columns if c.name != "posterior"}
                    for r in rows]

    def estimate_posterior(self, estimate_id: int) -> dict | None:
        """An estimate's kept posterior cells (campaign frame), or None."""
        with self.session() as s:
            r = s.get(m.SourceEstimate, estimate_id)
            return None if r is None else r.posterior

    def hits(self) -> list[dict]:
        """All plume events."""
        with self.session() as s:
            rows = s.scalars(select(m.Hit).order_by(m.Hit.id)).all()
            return [{c.name: getattr(r, c.name) for c in m.Hit.__table__.columns} for r in rows]

    def samples(self, survey_id: int):
        """A survey's kept samples as a DataFrame (None if it has none: stored before they were kept)."""
        import pandas as pd

        with self.session() as s:
            r = s.scalar(select(m.SurveySamples).where(m.SurveySamples.survey_id == survey_id))
            if r is None:
                return None
            v = np.frombuffer(zlib.decompress(r.data), dtype=np.float64).reshape(r.n, len(r.columns))
            out = pd.DataFrame(v, columns=list(r.columns))
            out.attrs["stride"] = r.stride
            return out

    def set_buildings(self, geojson: dict) -> None:
        """Keep the campaign's building footprints (GeoJSON, contract 2) for the map."""
        import hashlib

        self.set_setting("buildings", geojson)
        self.set_setting("buildings_sha256", hashlib.sha256(json.dumps(geojson, sort_keys=True).encode()).hexdigest())

    def learned_priors(self) -> dict:
        """The class prior and floor threshold learnt from outcomes, per area, or {} before any.

        Keys are :func:`plumetrace.detect.learning.area_key`; values ``{"class_prior": {…}, "k_min": σ,
        "belief": {…}}``.
        """
        return self.get_setting("learned_priors") or {}

    def set_learned_priors(self, areas: dict) -> None:
        """Replace the learnt per-area priors (:mod:`plumetrace.leads.learning`)."""
        self.set_setting("learned_priors", areas)

    def buildings(self) -> dict | None:
        """The campaign's building footprints (GeoJSON), if a campaign gave them."""
        return self.get_setting("buildings")

    def add_plan(self, name: str, kind: str, flight_min: float, paths: list, document: dict | None = None,
                 meta: dict | None = None) -> int:
        """Keep a flight plan (sorties' paths [[lat, lon], …] in WGS 84); returns its id."""
        with self.session.begin() as s:
            row = m.Plan(name=name, kind=kind, flight_min=float(flight_min), paths=paths, document=document,
                         meta=meta or {}, created_at=datetime.now(UTC))
            s.add(row)
            s.flush()
            return int(row.id)

    def plans(self) -> list[dict]:
        """Stored flight plans, newest first (without their documents)."""
        with self.session() as s:
            rows = s.scalars(select(m.Plan).order_by(m.Plan.id.desc())).all()
            return [{"id": r.id, "name": r.name, "kind": r.kind, "flight_min": r.flight_min, "paths": r.paths,
                     "meta": r.meta or {}, "created_at": r.created_at.isoformat()} for r in rows]

    def plan_document(self, plan_id: int) -> dict | None:
        """A stored plan's QGroundControl document (None: no such plan or none kept)."""
        with self.session() as s:
            r = s.get(m.Plan, plan_id)
            return None if r is None else r.document

    def sites_near(self, lat: float, lon: float, radius_m: float) -> list[dict]:
        """Sites within ``radius_m`` of a point.

        PostGIS ``ST_DWithin`` on PostgreSQL; a bounding box on the lat/lon indexes and a geodesic distance on
        SQLite.
        """
        from sqlalchemy import text

        with self.session() as s:
            if self.dialect == "postgresql":
                ids = s.scalars(text("SELECT id FROM sites WHERE NOT retired AND ST_DWithin(geom::geography, "
                                     "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :r)"),
                                {"lat": lat, "lon": lon, "r": radius_m}).all()
                rows = [s.get(m.Site, i) for i in ids]
            else:
                dlat = radius_m / 111_000.0
                dlon = dlat / max(np.cos(np.deg2rad(lat)), 1e-6)
                rows = s.scalars(select(m.Site).where(m.Site.retired.is_(False),
                                                      m.Site.lat.between(lat - dlat, lat + dlat),
                                                      m.Site.lon.between(lon - dlon, lon + dlon))).all()
                rows = [r for r in rows if geodesic_distance_m(lat, lon, r.lat, r.lon) <= radius_m]
            return [_site_dict(r) for r in rows]


def _estimate_columns(record: dict) -> dict:
    """Columns of a ``source_estimates`` row from a :func:`plumetrace.locate.source_record` dict."""
    lo, hi = record["rate_ci90_g_s"]
    return {"lat": record["lat"], "lon": record["lon"], "east": record["east"], "north": record["north"],
            "height_m": record["height_m"], "species": record["species"], "channels": list(record["channels"]),
            "rate_g_s": record["rate_g_s"], "rate_ci90_low_g_s": lo, "rate_ci90_high_g_s": hi,
            "credible90_radius_m": record["credible90_radius_m"], "credible90": record["credible90"],
            "log_bayes": record["log_bayes"], "source_class": record["class"],
            "class_probability": record["class_probability"], "building_id": record["building_id"],
            "building_probability": record["building_probability"], "posterior": record.get("posterior_cells")}


def _estimate_record(r) -> dict:
    """A stored estimate back as :func:`plumetrace.locate.source_record` keys (those the store keeps) + ``id``."""
    return {"id": r.id, "lat": r.lat, "lon": r.lon, "east": r.east, "north": r.north, "height_m": r.height_m,
            "species": r.species, "channels": list(r.channels or []), "rate_g_s": r.rate_g_s,
            "rate_ci90_g_s": [r.rate_ci90_low_g_s, r.rate_ci90_high_g_s],
            "credible90_radius_m": r.credible90_radius_m, "credible90": r.credible90, "log_bayes": r.log_bayes,
            "class": r.source_class, "class_probability": r.class_probability, "building_id": r.building_id,
            "building_probability": r.building_probability}


def _site_dict(r) -> dict:
    return {"id": r.id, "lat": r.lat, "lon": r.lon, "credible90_radius_m": r.credible90_radius_m,
            "channels": r.channels,
            "species": r.species, "log_bayes": r.log_bayes, "confidence": r.confidence, "status": r.status,
            "activity": r.activity, "class": r.source_class, "building_id": r.building_id,
            "rate_g_s": r.rate_g_s, "first_seen": r.first_seen, "last_seen": r.last_seen,
            "n_covering": r.n_covering, "n_detected": r.n_detected, "history": r.history, "retired": r.retired}


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
