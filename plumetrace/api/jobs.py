"""Uploads and the background analysis of surveys: jobs persisted in the store, run on Dask.

:func:`accept_upload` checks an uploaded survey CSV — or a flight log with its sensor logger's CSV, joined as
``plumetrace convert`` joins them — in the request, with the readers the command line uses, so that a bad file
gets the CLI's message (naming the uploaded file, line and problem) as a 422 and nothing is stored. A good file
is identified by its samples (:func:`plumetrace.io.survey.content_hash`): one already stored, or already queued,
gives the existing survey or job back (idempotent); otherwise its bytes (``uploads``) and a ``queued`` job
(``jobs``) are written in one transaction.

:class:`JobRunner` (one per served store) claims queued jobs one at a time — an ``UPDATE … WHERE status =
'queued'`` that only one claimant can win — and runs :func:`plumetrace.pipeline.analyze_survey` on the same Dask
machinery as ``plumetrace analyze`` (:func:`plumetrace.pipeline.dask_executor`: a local cluster started at the
first job, or an existing scheduler by address), then stores the result and refreshes the sites
(:func:`plumetrace.pipeline.fuse_store`). The job's ``stage`` and ``progress`` (queued 0, reading 0.1, analysing
0.3, storing 0.8, fusing 0.9, done 1) are in the store, so the API and the page show them. A restart loses no
job: jobs left ``running`` by a process that stopped are queued again when the runner starts; a ``done`` job is
never run again, and because ingestion is idempotent, a job re-run after a crash that had already stored its
survey completes with that survey.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update

from plumetrace.exceptions import InputError
from plumetrace.store.models import Job, Survey, Upload, utc_iso

log = logging.getLogger("plumetrace.jobs")

#: Largest upload accepted [bytes] (a 45-minute 10 Hz survey CSV with 8 channels is about 25 MB).
MAX_UPLOAD_BYTES = 64 * 2**20
STAGES = {"queued": 0.0, "reading": 0.1, "analysing": 0.3, "storing": 0.8, "fusing": 0.9, "done": 1.0}


def _now() -> datetime:
    return datetime.now(UTC)


def safe_filename(name: str | None, default: str = "upload.csv") -> str:
    """The base name of an uploaded file, without path parts or control characters (at most 100 characters)."""
    base = Path((name or "").replace("\\", "/")).name
    base = "".join(c for c in base if c.isprintable() and c not in "/\0").strip(". ")
    return (base or default)[:100]


def _named(exc: InputError, folder: Path) -> InputError:
    """The reader's error with the temporary folder taken out, so that it names the uploaded file."""
    return InputError(str(exc).replace(str(folder) + "/", ""))


def _survey_bytes(folder: Path, filename: str, data: bytes, sensor: tuple[str, bytes] | None,
                  profile: str) -> tuple[bytes, Path]:
    """The survey CSV of an upload, as bytes and as a file in ``folder``.

    It is the upload itself, or a flight log joined with its sensor CSV.
    """
    from plumetrace.io.flightlog import FLIGHT_LOG_FORMATS, detect_format

    path = folder / filename
    path.write_bytes(data)
    fmt = detect_format(path)
    if fmt not in FLIGHT_LOG_FORMATS:
        if sensor is not None:
            raise InputError("a sensor file goes with a flight log (.ulg, .bin, .tlog); this is not one", filename)
        return data, path
    if sensor is None:
        raise InputError(f"is a flight log ({fmt}) without gas readings; upload it with its sensor logger's CSV "
                         "(the sensor field)", filename)
    from plumetrace.io.align import estimate_clock_offset, merge
    from plumetrace.io.flightlog import read_flight_log
    from plumetrace.io.sensorlog import read_sensor_log

    sname = safe_filename(sensor[0], "sensor.csv")
    if sname == filename:
        sname = "sensor-" + sname
    spath = folder / sname
    spath.write_bytes(sensor[1])
    flight = read_flight_log(path)
    logger = read_sensor_log(spath, profile)
    survey, _ = merge(flight, logger, estimate_clock_offset(flight, logger), {})
    csv_bytes = survey.to_csv(index=False, float_format="%.7f").encode("utf-8")
    out = folder / (Path(filename).stem + ".survey.csv")
    out.write_bytes(csv_bytes)
    return csv_bytes, out


def accept_upload(store, filename: str | None, data: bytes, user_id: int | None = None,
                  sensor: tuple[str | None, bytes] | None = None, profile: str = "generic") -> dict:
    """Check an upload and queue its analysis; returns ``{"status": "queued"|"exists"|"stored", …}``.

    Raises :class:`InputError` (the CLI's message, naming ``filename``) for a file the readers refuse.
    """
    from plumetrace.io.survey import content_hash, read_survey

    filename = safe_filename(filename)
    if not data:
        raise InputError("is empty", filename)
    with tempfile.TemporaryDirectory(prefix="plumetrace-upload-") as tmp:
        folder = Path(tmp)
        try:
            csv_bytes, path = _survey_bytes(folder, filename, data, sensor, profile)
            csv_name = path.name
            survey = read_survey(path)
        except InputError as exc:
            raise _named(exc, folder) from None
        h = content_hash(survey)
    with store.session.begin() as s:
        sid = s.scalar(select(Survey.id).where(Survey.content_hash == h))
        if sid is not None:
            return {"status": "stored", "survey_id": int(sid), "job": None}
        job = s.scalar(select(Job).where(Job.content_hash == h, Job.status != "failed").order_by(Job.id.desc()))
        if job is not None:
            return {"status": "exists", "survey_id": job.survey_id, "job": job_dict(job)}
        digest = hashlib.sha256(csv_bytes).hexdigest()
        up = s.scalar(select(Upload).where(Upload.sha256 == digest))
        if up is None:
            up = Upload(sha256=digest, filename=csv_name, size=len(csv_bytes), data=csv_bytes, created_at=_now())
            s.add(up)
            s.flush()
        job = Job(kind="survey", status="queued", stage="queued", progress=0.0, content_hash=h, upload_id=up.id,
                  user_id=user_id, attempts=0, created_at=_now())
        s.add(job)
        s.flush()
        return {"status": "queued", "survey_id": None, "job": job_dict(job)}


def job_dict(j: Job) -> dict:
    """A job as the API shows it."""
    return {"id": j.id, "kind": j.kind, "status": j.status, "stage": j.stage, "progress": float(j.progress),
            "message": j.message, "survey_id": j.survey_id, "attempts": j.attempts, "created_at": utc_iso(j.created_at),
            "started_at": utc_iso(j.started_at), "finished_at": utc_iso(j.finished_at)}


def get_job(store, job_id: int) -> dict | None:
    """One job, or None."""
    with store.session() as s:
        j = s.get(Job, job_id)
        return None if j is None else job_dict(j)


def list_jobs(store, limit: int = 100) -> list[dict]:
    """The newest jobs first."""
    with store.session() as s:
        return [job_dict(j) for j in s.scalars(select(Job).order_by(Job.id.desc()).limit(limit))]


def _set(store, job_id: int, **values) -> None:
    with store.session.begin() as s:
        s.execute(update(Job).where(Job.id == job_id).values(**values))


def _stage(store, job_id: int, stage: str) -> None:
    _set(store, job_id, stage=stage, progress=STAGES[stage])


def requeue_abandoned(store) -> int:
    """Queue again the jobs a stopped process left running; returns how many."""
    with store.session.begin() as s:
        r = s.execute(update(Job).where(Job.status == "running")
                      .values(status="queued", stage="queued", progress=0.0,
                              message="re-queued: the process running it stopped"))
        return int(r.rowcount or 0)


def claim_next(store) -> int | None:
    """Claim the oldest queued job (only one claimant wins it); its id, or None."""
    with store.session() as s:
        ids = list(s.scalars(select(Job.id).where(Job.status == "queued").order_by(Job.id).limit(5)))
    for job_id in ids:
        with store.session.begin() as s:
            r = s.execute(update(Job).where(Job.id == job_id, Job.status == "queued")
                          .values(status="running", stage="reading", progress=STAGES["reading"],
                                  attempts=Job.attempts + 1, started_at=_now()))
            if r.rowcount == 1:
                return job_id
    return None


def run_job(store, job_id: int, submit) -> None:
    """Analyse one claimed job's survey with ``submit(fn, *args)`` → future; store it and refresh the sites."""
    from plumetrace.io.survey import read_survey
    from plumetrace.pipeline import analyze_survey, fuse_store

    with store.session() as s:
        job = s.get(Job, job_id)
        up = s.get(Upload, job.upload_id)
        name, data = up.filename, up.data
    try:
        with tempfile.TemporaryDirectory(prefix="plumetrace-job-") as tmp:
            path = Path(tmp) / safe_filename(name)
            path.write_bytes(data)
            origin = store.campaign_origin()
            if origin is None:
                sv = read_survey(path)
                origin = store.set_campaign_origin(sv.frame.lat0, sv.frame.lon0)
            buildings = None
            if store.buildings() is not None:
                import json

                buildings = str(Path(tmp) / "buildings.geojson")
                Path(buildings).write_text(json.dumps(store.buildings()))
            _stage(store, job_id, "analysing")
            locator = store.get_setting("campaign_locator") or None
            result = submit(analyze_survey, str(path), origin, locator, buildings, 1,
                            learned=store.learned_priors()).result()
        result.path = f"upload:{name}"
        _stage(store, job_id, "storing")
        survey_id, _new = store.ingest(result)
        _set(store, job_id, survey_id=survey_id)
        _stage(store, job_id, "fusing")
        fuse_store(store)
        from plumetrace.leads.lifecycle import refresh_leads

        refresh_leads(store)
        _set(store, job_id, status="done", stage="done", progress=1.0, finished_at=_now(), message=None)
    except InputError as exc:
        _set(store, job_id, status="failed", stage="failed", finished_at=_now(), message=str(exc))
    except Exception as exc:  # noqa: BLE001 - one job's failure must not stop the runner
        log.exception("job %s failed", job_id)
        _set(store, job_id, status="failed", stage="failed", finished_at=_now(),
             message=f"internal error while analysing ({type(exc).__name__}: {exc})")


class JobRunner:
    """The background worker of a served store: claims queued jobs and runs them on a Dask executor.

    Parameters
    ----------
    store : plumetrace.store.Store
    workers : int
        Worker processes of the local Dask cluster (started at the first job).
    scheduler : str, optional
        Address of an existing Dask scheduler instead (``tcp://host:8786``).
    poll_s : float
        Seconds between looks at the queue when it is empty.
    """

    def __init__(self, store, workers: int = 1, scheduler: str | None = None, poll_s: float = 0.5):
        self.store = store
        self.workers = workers
        self.scheduler = scheduler
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.recovered_ = 0

    def start(self) -> JobRunner:
        """Queue abandoned jobs again and start the worker thread."""
        self.recovered_ = requeue_abandoned(self.store)
        self._thread = threading.Thread(target=self._loop, name="plumetrace-jobs", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        """Look at the queue now (a job was just queued)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the job in hand; close the Dask client."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        from plumetrace.pipeline import dask_executor

        ctx = None
        try:
            while not self._stop.is_set():
                job_id = claim_next(self.store)
                if job_id is None:
                    self._wake.wait(self.poll_s)
                    self._wake.clear()
                    continue
                if ctx is None:
                    try:
                        ctx = dask_executor(self.workers, self.scheduler)
                        executor, _memory = ctx.__enter__()
                    except Exception as exc:  # noqa: BLE001 - say why on the job, and stop
                        ctx = None
                        _set(self.store, job_id, status="failed", stage="failed", finished_at=_now(),
                             message=f"the Dask cluster did not start ({type(exc).__name__}: {exc})")
                        raise
                run_job(self.store, job_id, executor.submit)
        except Exception:  # noqa: BLE001 - keep the service up; the job row says what failed
            log.exception("the job runner stopped")
        finally:
            if ctx is not None:
                ctx.__exit__(None, None, None)
