"""The REST API over the store (contract 8) and the analyst web map it serves at ``/``.

``create_app(db_url)`` builds a FastAPI application on one :class:`~plumetrace.store.Store`. Every endpoint under
``/api/v1`` declares the roles that may call it through :func:`plumetrace.api.auth.allow` — the single place where
a bearer token or the page's session cookie is resolved and its role checked: 401 without a valid credential
(with ``WWW-Authenticate: Bearer``), 403 when the role may not (or a cookie request that changes state lacks the
CSRF header), 404 for an object that does not exist or that the caller may not see. Partners see no site,
survey, hit, estimate, job or plan — only the leads shared with their organisation (:mod:`plumetrace.api.leads`).
Errors have one shape, ``{"error": {"code": …, "message": …}}``; the OpenAPI schema is at ``/openapi.json``;
``GET /healthz`` needs no token.

Surveys are uploaded (``POST /api/v1/surveys``, multipart: a survey CSV, or a flight log with its sensor CSV), checked
in the request (a bad file: 422 with the CLI's message; nothing stored), and analysed in the background by the
:class:`~plumetrace.api.jobs.JobRunner` on Dask; ``GET /api/v1/jobs/{id}`` shows the stage and progress. The
request body is limited to :data:`plumetrace.api.jobs.MAX_UPLOAD_BYTES` (413 beyond it).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from pathlib import Path
from typing import Annotated

from fastapi import Body, Depends, FastAPI, File, Form, HTTPException, Query, Request, Response, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from plumetrace import __version__
from plumetrace.api import auth, jobs
from plumetrace.api.accounts import Principal
from plumetrace.api.auth import MAX_ID, ObjectId, Offset, allow
from plumetrace.exceptions import InputError
from plumetrace.store import views

#: Roles of the analysis organisations (everything but the partners).
ANALYSIS_ROLES = ("admin", "analyst", "reviewer")
#: Roles that may upload surveys.
UPLOAD_ROLES = ("admin", "analyst")
ERROR_CODES = {400: "bad_request", 401: "unauthorised", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               409: "conflict", 413: "too_large", 422: "invalid", 429: "too_many_requests"}
MAX_PAGE = 500
#: Rendered evidence panels and maps kept per app (each keyed by the store's data version).
VIEW_CACHE_SIZE = 256

__all__ = ["ANALYSIS_ROLES", "allow", "create_app"]


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": ERROR_CODES.get(status, "error"), "message": message}}, status_code=status,
                        headers=headers)


#: The one error body, as the schema documents it.
ERROR_SCHEMA = {"type": "object", "required": ["error"], "additionalProperties": False, "properties": {
    "error": {"type": "object", "required": ["code", "message"], "additionalProperties": False,
              "properties": {"code": {"type": "string", "enum": sorted(set(ERROR_CODES.values()) | {"error"})},
                             "message": {"type": "string"}}}}}


def _document_errors(app: FastAPI) -> None:
    """Declare in the OpenAPI schema the refusals each operation can give, all in the one error format.

    Every ``/api/v1`` operation may answer 400 (a malformed request), 401, 403, 404 and 422; the login also 429;
    an upload 413; a lead step 409 (the state does not allow it). FastAPI's own validation-error model is replaced
    by :data:`ERROR_SCHEMA`, since the handler of :class:`RequestValidationError` answers in that format.
    """
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            doc.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
            for name in ("HTTPValidationError", "ValidationError"):
                doc["components"]["schemas"].pop(name, None)
            for path, ops in doc.get("paths", {}).items():
                for method, op in ops.items():
                    codes = [400, 401, 403, 404, 422] if path.startswith("/api/") else [400]
                    if path == "/api/v1/session" and method == "post":
                        codes = [400, 401, 422, 429]
                    if path == "/api/v1/surveys" and method == "post":
                        codes.append(413)
                    if path.startswith("/api/v1/leads/") and method == "post":
                        codes.append(409)
                    for code in codes:
                        op.setdefault("responses", {})[str(code)] = {
                            "description": ERROR_CODES[code].replace("_", " "),
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi


def _page(rows: list[dict], key: str, survey: int | None, limit: int, offset: int) -> dict:
    """One page of rows (of one survey when given) with the total."""
    rows = [r for r in rows if survey is None or r.get("survey_id") == survey]
    return {"total": len(rows), "offset": offset, "limit": limit, key: rows[offset:offset + limit]}


def _site(store, site_id: int) -> dict:
    site = store.site(site_id)
    if site is None:
        raise HTTPException(404, f"no site {site_id}")
    return site


async def _read_limited(upload: UploadFile, limit: int, what: str) -> bytes:
    """The bytes of an uploaded part, or 413 once it passes ``limit``."""
    chunks, size = [], 0
    while chunk := await upload.read(1 << 20):
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"{what} is larger than the {limit // 2**20} MiB limit")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(db_url: str | None = None, workers: int = 1, scheduler: str | None = None, run_jobs: bool = True,
               max_upload_bytes: int = jobs.MAX_UPLOAD_BYTES, secure_cookies: bool = False) -> FastAPI:
    """The application on the store at ``db_url`` (default: the embedded SQLite store).

    ``workers``/``scheduler``: the Dask cluster of background jobs (a local one of ``workers`` processes, or an
    existing scheduler's address); ``run_jobs=False`` serves without running jobs (they wait in the store for a
    server that runs them). ``secure_cookies``: mark the session cookie ``Secure`` (behind HTTPS).
    """
    from plumetrace.store import Store

    store = Store(db_url)

    @contextlib.asynccontextmanager
    async def lifespan(application: FastAPI):
        runner = jobs.JobRunner(store, workers=workers, scheduler=scheduler).start() if run_jobs else None
        application.state.runner = runner
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()

    app = FastAPI(title="plumetrace", version=__version__, lifespan=lifespan,
                  description="Hidden emission sources from airborne gas surveys: sites, surveys, leads.")
    app.state.store = store
    app.state.runner = None
    app.state.max_upload = int(max_upload_bytes)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request, exc: StarletteHTTPException):
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return _error(422, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(InputError)
    async def _bad_input(_request, exc: InputError):
        return _error(422, str(exc))

    @app.middleware("http")
    async def _limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return _error(400, "Content-Length is not a number")
            if int(length) > app.state.max_upload + 2**20:
                return _error(413, f"the request is larger than the {app.state.max_upload // 2**20} MiB limit")
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    @app.get("/healthz", tags=["service"])
    def healthz(request: Request) -> dict:
        """Liveness: the store's back end and schema revision (no token needed)."""
        return {"status": "ok", "store": store.dialect, "revision": store.revision()}

    # -- who ------------------------------------------------------------------------------------------------
    @app.post("/api/v1/session", tags=["service"])
    def login(request: Request, response: Response,
              username: Annotated[str, Body(max_length=64)], password: Annotated[str, Body(max_length=1024)]) -> dict:
        """Log in with a password: sets the HttpOnly session cookie; returns the CSRF token to echo on writes."""
        p, cookie, csrf = auth.login(store, username, password, auth.client_address(request))
        response.set_cookie(auth.COOKIE, cookie, max_age=int(auth.SESSION_HOURS * 3600), httponly=True,
                            samesite="strict", secure=secure_cookies, path="/")
        return {"username": p.username, "role": p.role, "organisation": p.org_name, "partner": p.partner,
                "csrf_token": csrf}

    @app.delete("/api/v1/session", tags=["service"])
    def logout(request: Request, response: Response,
               _p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES, "partner"))]) -> dict:
        """Log out: the session cookie is revoked and cleared."""
        auth.logout(store, request.cookies.get(auth.COOKIE))
        response.delete_cookie(auth.COOKIE, path="/")
        return {"logged_out": True}

    @app.get("/api/v1/me", tags=["service"])
    def me(request: Request, p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES, "partner"))]) -> dict:
        """Who the caller acts as (and, with the session cookie, the session's CSRF token)."""
        out = {"username": p.username, "role": p.role, "organisation": p.org_name, "partner": p.partner}
        csrf = getattr(request.state, "csrf_token", None)  # set when the session cookie authenticated the call
        if csrf is not None:
            out["csrf_token"] = csrf
        return out

    # -- sites --------------------------------------------------------------------------------------------
    @app.get("/api/v1/sites", tags=["sites"])
    def sites(_p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))],
              source_class: Annotated[str | None, Query(alias="class", max_length=64)] = None,
              status: Annotated[str | None, Query(max_length=32)] = None,
              min_confidence: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
              bbox: Annotated[str | None, Query(description="lon0,lat0,lon1,lat1", max_length=100)] = None,
              since: Annotated[float | None, Query(description="last seen at or after (UNIX s)")] = None,
              until: Annotated[float | None, Query(description="first seen at or before (UNIX s)")] = None,
              limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
              offset: Offset = 0) -> dict:
        """Persistent sites, strongest evidence first, filtered (class, status, confidence, box, time) and paged."""
        from plumetrace.pipeline import ranked_sites

        rows = ranked_sites(store)
        if bbox is not None:
            try:
                lon0, lat0, lon1, lat1 = (float(v) for v in bbox.split(","))
            except ValueError:
                raise HTTPException(400, "bbox must be lon0,lat0,lon1,lat1") from None
            rows = [r for r in rows if lon0 <= r["lon"] <= lon1 and lat0 <= r["lat"] <= lat1]
        rows = [r for r in rows if (source_class is None or r["class"] == source_class)
                and (status is None or r["status"] == status) and r["confidence"] >= min_confidence
                and (since is None or (r["last_seen"] or 0) >= since)
                and (until is None or (r["first_seen"] or 0) <= until)]
        return {"total": len(rows), "offset": offset, "limit": limit, "sites": rows[offset:offset + limit]}

    @app.get("/api/v1/sites/{site_id}", tags=["sites"])
    def site(site_id: ObjectId, _p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))]) -> dict:
        """One site."""
        return _site(store, site_id)

    @functools.lru_cache(maxsize=VIEW_CACHE_SIZE)
    def _rendered(view: str, key: int, _version: tuple) -> bytes:
        """A heavy view as JSON bytes, computed once per state of the store (``Store.data_version``)."""
        if view == "evidence":
            value = views.site_evidence(store, _site(store, key))
        else:
            from plumetrace.pipeline import ranked_sites

            value = views.map_layers(store, ranked_sites(store))
        return JSONResponse(jsonable_encoder(value)).body

    render_lock = threading.Lock()

    def rendered(view: str, key: int) -> Response:
        """The cached view; one thread renders a missing one while the others wait for it, not render it too."""
        with render_lock:  # rendering is CPU-bound under the GIL: serialising it costs nothing, duplicates do
            return Response(_rendered(view, key, store.data_version()), media_type="application/json")

    @app.get("/api/v1/sites/{site_id}/evidence", tags=["sites"], response_model=dict)
    def site_evidence(site_id: ObjectId, _p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))]) -> Response:
        """A site's evidence: surveys, estimates (rate interval), hits with their time series, ratios, classes."""
        return rendered("evidence", site_id)

    @app.get("/api/v1/map", tags=["sites"], response_model=dict)
    def map_layers(_p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))]) -> Response:
        """Every layer of the analyst map as GeoJSON, and the bounds that fit the sites."""
        return rendered("map", 0)

    # -- surveys, hits, estimates, jobs, plans -----------------------------------------------------------
    @app.get("/api/v1/hits", tags=["surveys"])
    def hits(_p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))],
             survey: Annotated[int | None, Query(ge=1, le=MAX_ID, description="only this survey's hits")] = None,
             limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
             offset: Offset = 0) -> dict:
        """Plume events (hits) of the stored surveys, paged."""
        return _page(store.hits(), "hits", survey, limit, offset)

    @app.get("/api/v1/estimates", tags=["surveys"])
    def estimates(_p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))],
                  survey: Annotated[int | None, Query(ge=1, le=MAX_ID,
                                                      description="only this survey's estimates")] = None,
                  limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
                  offset: Offset = 0) -> dict:
        """Single-survey source estimates (contract-3 records), paged."""
        return _page(store.estimates(), "estimates", survey, limit, offset)

    def _estimate(estimate_id: int) -> dict:
        e = store.estimate(estimate_id)
        if e is None:
            raise HTTPException(404, f"no estimate {estimate_id}")
        return e

    @app.get("/api/v1/estimates/{estimate_id}/region", tags=["surveys"])
    def estimate_region(estimate_id: ObjectId, _p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))]) -> dict:
        """An estimate's 90 % credible region as a GeoJSON Feature (WGS 84)."""
        e = _estimate(estimate_id)
        return {"type": "Feature", "geometry": e["credible90"],
                "properties": {"estimate_id": e["id"], "survey_id": e["survey_id"], "class": e["source_class"],
                               "credible90_radius_m": e["credible90_radius_m"]}}

    @app.get("/api/v1/estimates/{estimate_id}/posterior.png", tags=["surveys"],
             responses={200: {"content": {"image/png": {}}}})
    def estimate_posterior(estimate_id: ObjectId,
                           _p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))]) -> Response:
        """An estimate's posterior as a heat image; ``X-Image-Bounds``: south,west,north,east (WGS 84)."""
        _estimate(estimate_id)
        out = views.posterior_png(store, estimate_id)
        if out is None:
            raise HTTPException(404, f"estimate {estimate_id} has no stored posterior")
        png, ((s, w), (n, e)) = out
        return Response(png, media_type="image/png", headers={"X-Image-Bounds": f"{s:.7f},{w:.7f},{n:.7f},{e:.7f}",
                                                              "Cache-Control": "private, max-age=300"})

    @app.get("/api/v1/surveys", tags=["surveys"])
    def surveys(_p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))]) -> dict:
        """Ingested surveys, oldest first."""
        return {"surveys": store.surveys()}

    @app.post("/api/v1/surveys", tags=["surveys"], status_code=202)
    async def upload(request: Request, response: Response, p: Annotated[Principal, Depends(allow(*UPLOAD_ROLES))],
                     file: Annotated[UploadFile, File(description="a survey CSV (contract 1) or a flight log")],
                     sensor: Annotated[UploadFile | None, File(description="the sensor CSV of a flight log")] = None,
                     profile: Annotated[str, Form(max_length=64)] = "generic") -> dict:
        """Upload a survey: checked now (422 with the CLI's message), analysed in the background (a job)."""
        limit = app.state.max_upload
        data = await _read_limited(file, limit, file.filename or "the file")
        sens = None
        if sensor is not None and sensor.filename:
            sens = (sensor.filename, await _read_limited(sensor, limit, sensor.filename))
        import anyio

        out = await anyio.to_thread.run_sync(lambda: jobs.accept_upload(store, file.filename, data, p.user_id,
                                                                        sens, profile))
        if out["status"] == "stored":
            response.status_code = 200
        elif out["job"] is not None:
            response.headers["Location"] = f"/api/v1/jobs/{out['job']['id']}"
            runner = request.app.state.runner
            if runner is not None:
                runner.wake()
        return out

    @app.get("/api/v1/jobs", tags=["surveys"])
    def job_list(_p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))],
                 limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100) -> dict:
        """Background jobs, newest first."""
        return {"jobs": jobs.list_jobs(store, limit)}

    @app.get("/api/v1/jobs/{job_id}", tags=["surveys"])
    def job(job_id: ObjectId, _p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))]) -> dict:
        """A job: status (queued, running, done, failed), stage, progress 0–1, message, the survey it stored."""
        j = jobs.get_job(store, job_id)
        if j is None:
            raise HTTPException(404, f"no job {job_id}")
        return j

    @app.get("/api/v1/plans", tags=["plans"])
    def plans(_p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))]) -> dict:
        """Stored flight plans (sorties' paths in WGS 84), newest first."""
        return {"plans": store.plans()}

    @app.get("/api/v1/plans/{plan_id}", tags=["plans"])
    def plan(plan_id: ObjectId, _p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))]) -> dict:
        """One plan with its QGroundControl document."""
        for row in store.plans():
            if row["id"] == plan_id:
                return {**row, "document": store.plan_document(plan_id)}
        raise HTTPException(404, f"no plan {plan_id}")

    from plumetrace.api.leads import router as leads_router

    app.include_router(leads_router)
    _document_errors(app)
    _mount_page(app)
    return app


def _mount_page(app: FastAPI) -> None:
    """The web map at ``/``: its own files and Leaflet from xstatic-leaflet (nothing fetched at run time)."""
    import xstatic.pkg.leaflet as xleaflet

    from plumetrace.web import STATIC

    app.mount("/static/leaflet", StaticFiles(directory=xleaflet.BASE_DIR), name="leaflet")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(Path(STATIC) / "index.html", media_type="text/html",
                            headers={"Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob: *; "
                                                                "style-src 'self' 'unsafe-inline'; "
                                                                "connect-src 'self'; frame-ancestors 'none'",
                                     "Cache-Control": "no-cache"})
