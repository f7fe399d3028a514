"""SQLAlchemy 2 models of the store: surveys, hits, source estimates, evidence maps, sites and their links.

The schema itself is created and changed by Alembic migrations (``plumetrace/store/migrations``); these
classes map it. PostgreSQL adds a PostGIS ``geom`` column to ``sites`` and ``source_estimates`` (generated
from lat/lon, GiST-indexed) in the migration; SQLite keeps lat/lon with B-tree indexes and queries by
bounding box and shapely.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utc(t: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite gives naive UTC back; PostgreSQL aware), None kept."""
    return None if t is None else (t if t.tzinfo is not None else t.replace(tzinfo=UTC))


def utc_iso(t: datetime | None) -> str | None:
    """A stored time as ISO 8601 with its UTC offset, None kept."""
    return None if t is None else utc(t).isoformat()


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
    samples: Mapped[list[SurveySamples]] = relationship(back_populates="survey", cascade="all, delete-orphan")


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
    details: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # peak time, peaks, ratios, class posterior
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
    posterior: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # kept cells: resolution, east, north, mass
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


class SurveySamples(Base):
    """A survey's samples for maps and evidence plots.

    Time, position, readings and background, every ``stride``-th row (zlib-compressed float64 matrix,
    ``columns`` names its columns).
    """

    __tablename__ = "survey_samples"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), unique=True)
    columns: Mapped[list] = mapped_column(JSON)
    stride: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    survey: Mapped[Survey] = relationship(back_populates="samples")


class Upload(Base):
    """The bytes of an uploaded survey, kept until its job has run (a restart loses no upload)."""

    __tablename__ = "uploads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Job(Base):
    """A background analysis of one upload: queued → running → done | failed, with its stage and progress."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    stage: Mapped[str] = mapped_column(String(64), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id"))
    survey_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebSession(Base):
    """A browser session: only the cookie's SHA-256 is kept, with the CSRF token the page must echo."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LoginAttempt(Base):
    """One password login attempt (for the rate limit and the record)."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Plan(Base):
    """A stored flight plan: its sorties' paths in WGS 84 ([[lat, lon], …] each), the QGC document, metadata."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    flight_min: Mapped[float] = mapped_column(Float)
    paths: Mapped[list] = mapped_column(JSON)
    document: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    meta: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PartnerSettings(Base):
    """A partner organisation's service targets (hours from share to acknowledgement, etc.) and webhook."""

    __tablename__ = "partner_settings"
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    sla_hours: Mapped[dict] = mapped_column(JSON)
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)


class Lead(Base):
    """A lead made from a site, through review and sharing to the partner's outcome (``plumetrace.leads``)."""

    __tablename__ = "leads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    tlp: Mapped[str] = mapped_column(String(16), default="AMBER")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    partner_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True, index=True)
    snapshot: Mapped[dict] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    action_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    shared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    actioned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LeadRecipient(Base):
    """A named person a TLP:RED lead is shared with."""

    __tablename__ = "lead_recipients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class LeadEvent(Base):
    """One step in a lead's history (created, reviewed, shared, updated, acknowledged, action, closed)."""

    __tablename__ = "lead_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """One entry of the hash-chained, append-only audit log (``plumetrace.leads.audit``)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
