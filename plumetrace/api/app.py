"""The REST API over the store (contract 8): read endpoints and the one authorisation dependency.

``create_app(db_url)`` builds a FastAPI application on one :class:`~plumetrace.store.Store`. Every endpoint under
``/api/v1`` declares the roles that may call it through :func:`allow` — the single place where a bearer token is
resolved (:func:`plumetrace.api.accounts.authenticate`) and its role checked: 401 without a valid token (with
``WWW-Authenticate: Bearer``), 403 when the role may not, 404 for an object that does not exist. Partners see no
site and no survey (only the leads shared with them, which issue #18 adds). Errors have one shape,
``{"error": {"code": …, "message": …}}``; the OpenAPI schema is at ``/openapi.json``; ``GET /healthz`` needs no
token.

So far (issue #17's first part): ``/healthz``, ``/api/v1/me``, ``/api/v1/sites`` (filters: class, status,
minimum confidence, bounding box; pagination), ``/api/v1/sites/{id}``, ``/api/v1/surveys``, ``/api/v1/hits`` and
``/api/v1/estimates`` (per survey, paged). Uploads, jobs, the
web map at ``/`` and the session-cookie login are to come.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from plumetrace import __version__
from plumetrace.api.accounts import Principal, authenticate

#: Roles of the analysis organisations (everything but the partners).
ANALYSIS_ROLES = ("admin", "analyst", "reviewer")
ERROR_CODES = {400: "bad_request", 401: "unauthorised", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               413: "too_large", 422: "invalid", 429: "too_many_requests"}
MAX_PAGE = 500

_bearer = HTTPBearer(auto_error=False)


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": ERROR_CODES.get(status, "error"), "message": message}}, status_code=status,
                        headers=headers)


def _page(rows: list[dict], key: str, survey: int | None, limit: int, offset: int) -> dict:
    """One page of rows (of one survey when given) with the total."""
    rows = [r for r in rows if survey is None or r.get("survey_id") == survey]
    return {"total": len(rows), "offset": offset, "limit": limit, key: rows[offset:offset + limit]}


def allow(*roles: str):
    """The dependency of an endpoint that ``roles`` may call: the caller's :class:`Principal`, or 401 / 403."""

    def dependency(request: Request,
                   creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
        p = authenticate(request.app.state.store, creds.credentials if creds is not None else None)
        if p is None:
            raise HTTPException(401, "a valid bearer token is needed (plumetrace tokens create USER)",
                                headers={"WWW-Authenticate": "Bearer"})
        if p.role not in roles:
            raise HTTPException(403, f"the {p.role} role may not do this")
        return p

    return dependency


def create_app(db_url: str | None = None) -> FastAPI:
    """The application on the store at ``db_url`` (default: the embedded SQLite store)."""
    from plumetrace.store import Store

    app = FastAPI(title="plumetrace", version=__version__,
                  description="Hidden emission sources from airborne gas surveys: sites, surveys, leads.")
    app.state.store = Store(db_url)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request, exc: StarletteHTTPException):
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return _error(422, f"{where}: {first.get('msg', 'invalid request')}")

    @app.get("/healthz", tags=["service"])
    def healthz(request: Request) -> dict:
        """Liveness: the store's back end and schema revision (no token needed)."""
        store = request.app.state.store
        return {"status": "ok", "store": store.dialect, "revision": store.revision()}

    @app.get("/api/v1/me", tags=["service"])
    def me(p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES, "partner"))]) -> dict:
        """Who the token acts as."""
        return {"username": p.username, "role": p.role, "organisation": p.org_name, "partner": p.partner}

    @app.get("/api/v1/sites", tags=["sites"])
    def sites(request: Request, _p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))],
              source_class: Annotated[str | None, Query(alias="class", max_length=64)] = None,
              status: Annotated[str | None, Query(max_length=32)] = None,
              min_confidence: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
              bbox: Annotated[str | None, Query(description="lon0,lat0,lon1,lat1", max_length=100)] = None,
              limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
              offset: Annotated[int, Query(ge=0)] = 0) -> dict:
        """Persistent sites, strongest evidence first, filtered and paged."""
        rows = request.app.state.store.sites()
        if bbox is not None:
            try:
                lon0, lat0, lon1, lat1 = (float(v) for v in bbox.split(","))
            except ValueError:
                raise HTTPException(400, "bbox must be lon0,lat0,lon1,lat1") from None
            rows = [r for r in rows if lon0 <= r["lon"] <= lon1 and lat0 <= r["lat"] <= lat1]
        rows = [r for r in rows if (source_class is None or r["class"] == source_class)
                and (status is None or r["status"] == status) and r["confidence"] >= min_confidence]
        return {"total": len(rows), "offset": offset, "limit": limit, "sites": rows[offset:offset + limit]}

    @app.get("/api/v1/sites/{site_id}", tags=["sites"])
    def site(request: Request, site_id: int, _p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))]) -> dict:
        """One site."""
        for r in request.app.state.store.sites(include_retired=True):
            if r["id"] == site_id:
                return r
        raise HTTPException(404, f"no site {site_id}")

    @app.get("/api/v1/hits", tags=["surveys"])
    def hits(request: Request, _p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))],
             survey: Annotated[int | None, Query(ge=1, description="only this survey's hits")] = None,
             limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
             offset: Annotated[int, Query(ge=0)] = 0) -> dict:
        """Plume events (hits) of the stored surveys, paged."""
        return _page(request.app.state.store.hits(), "hits", survey, limit, offset)

    @app.get("/api/v1/estimates", tags=["surveys"])
    def estimates(request: Request, _p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))],
                  survey: Annotated[int | None, Query(ge=1, description="only this survey's estimates")] = None,
                  limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
                  offset: Annotated[int, Query(ge=0)] = 0) -> dict:
        """Single-survey source estimates (contract-3 records), paged."""
        return _page(request.app.state.store.estimates(), "estimates", survey, limit, offset)

    @app.get("/api/v1/surveys", tags=["surveys"])
    def surveys(request: Request, _p: Annotated[Principal, Depends(allow(*ANALYSIS_ROLES))]) -> dict:
        """Ingested surveys, oldest first."""
        return {"surveys": request.app.state.store.surveys()}

    return app
