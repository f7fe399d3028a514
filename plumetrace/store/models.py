"""SQLAlchemy 2 models of the store: surveys, hits, source estimates, evidence maps, sites and their links.

The schema itself is created and changed by Alembic migrations (``plumetrace/store/migrations``); these
classes map it. PostgreSQL adds a PostGIS ``geom`` column to ``sites`` and ``source_estimates`` (generated
from lat/lon, GiST-indexed) in the migration; SQLite keeps lat/lon with B-tree indexes and queries by
bounding box and shapely.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Declarative base of the store's tables."""


class Setting(Base):
    """Key–value settings of the store (the campaign frame's origin)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Platform(Base):
    """An aircraft that flew surveys."""

    __tablename__ = "platforms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)


class Survey(Base):
    """One ingested survey file (idempotent by content hash)."""

    __tablename__ = "surveys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    path: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(32))
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id"), nullable=True)
    start_time: Mapped[float] = mapped_column(Float)
    end_time: Mapped[float] = mapped_column(Float)
    n_samples: Mapped[int] = mapped_column(Integer)
    channels: Mapped[list] = mapped_column(JSON)
    wind_source: Mapped[str | None] = mapped_column(String(64), nullable=True)
    stability: Mapped[str | None] = mapped_column(String(4), nullable=True)
    east_min: Mapped[float] = mapped_column(Float)
    east_max: Mapped[float] = mapped_column(Float)
    north_min: Mapped[float] = mapped_column(Float)
    north_max: Mapped[float] = mapped_column(Float)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)  # analysis time
    preset: Mapped[str | None] = mapped_column(String(32), nullable=True)  # locator preset used
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    hits: Mapped[list[Hit]] = relationship(back_populates="survey", cascade="all, delete-orphan")
    estimates: Mapped[list[SourceEstimate]] = relationship(back_populates="survey", cascade="all, delete-orphan")
    maps: Mapped[list[EvidenceMapRow]] = relationship(back_populates="survey", cascade="all, delete-orphan")


class Hit(Base):
    """A plume event of a survey with its attributed class."""

    __tablename__ = "hits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    t_start: Mapped[float] = mapped_column(Float)
    t_end: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    channels: Mapped[list] = mapped_column(JSON)
    peak_sigma: Mapped[float] = mapped_column(Float)
    source_class: Mapped[str] = mapped_column(String(64))
    class_probability: Mapped[float] = mapped_column(Float)
    survey: Mapped[Survey] = relationship(back_populates="hits")


class SourceEstimate(Base):
    """A source the single-survey locator accepted (posterior summaries; the grid is in ``evidence_maps``)."""

    __tablename__ = "source_estimates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    lat: Mapped[float] = mapped_column(Float, index=True)
    lon: Mapped[float] = mapped_column(Float, index=True)
    east: Mapped[float] = mapped_column(Float)
    north: Mapped[float] = mapped_column(Float)
    height_m: Mapped[float] = mapped_column(Float)
    species: Mapped[str] = mapped_column(String(64))
    channels: Mapped[list] = mapped_column(JSON)
    rate_g_s: Mapped[float] = mapped_column(Float)
    rate_ci90_low_g_s: Mapped[float] = mapped_column(Float)
    rate_ci90_high_g_s: Mapped[float] = mapped_column(Float)
    credible90_radius_m: Mapped[float] = mapped_column(Float)
    credible90: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    log_bayes: Mapped[float] = mapped_column(Float)
    source_class: Mapped[str] = mapped_column(String(64))
    class_probability: Mapped[float] = mapped_column(Float)
    building_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    building_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    survey: Mapped[Survey] = relationship(back_populates="estimates")


class EvidenceMapRow(Base):
    """A survey's per-channel evidence lattice (zlib-compressed float32 log Bayes factors)."""

    __tablename__ = "evidence_maps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    species: Mapped[str] = mapped_column(String(64))
    x0: Mapped[float] = mapped_column(Float)
    y0: Mapped[float] = mapped_column(Float)
    step: Mapped[float] = mapped_column(Float)
    nx: Mapped[int] = mapped_column(Integer)
    ny: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    survey: Mapped[Survey] = relationship(back_populates="maps")


class Site(Base):
    """A persistent site from fused evidence."""

    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lat: Mapped[float] = mapped_column(Float, index=True)
    lon: Mapped[float] = mapped_column(Float, index=True)
    east: Mapped[float] = mapped_column(Float)
    north: Mapped[float] = mapped_column(Float)
    credible90_radius_m: Mapped[float] = mapped_column(Float)
    channels: Mapped[list] = mapped_column(JSON)
    species: Mapped[list] = mapped_column(JSON)
    log_bayes: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    activity: Mapped[str] = mapped_column(String(16))
    source_class: Mapped[str] = mapped_column(String(64))
    building_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    rate_g_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    first_seen: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_seen: Mapped[float | None] = mapped_column(Float, nullable=True)
    n_covering: Mapped[int] = mapped_column(Integer)
    n_detected: Mapped[int] = mapped_column(Integer)
    history: Mapped[list] = mapped_column(JSON)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    evidence: Mapped[list[SiteEvidence]] = relationship(back_populates="site", cascade="all, delete-orphan")


class SiteEvidence(Base):
    """Link of a site to a survey that covered it (and the estimate that saw it, if any)."""

    __tablename__ = "site_evidence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    log_bf: Mapped[float | None] = mapped_column(Float, nullable=True)
    detected: Mapped[bool] = mapped_column(Boolean)
    site: Mapped[Site] = relationship(back_populates="evidence")


class Organisation(Base):
    """An organisation: the analysis organisation, or a partner authority that receives leads."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    partner: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class User(Base):
    """A person who may use the service, with one role in one organisation (password as an argon2id hash)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """An API token: only its SHA-256 is stored, with its expiry and revocation."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
