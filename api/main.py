"""The records API application: routers, and the one error boundary."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from api.caller_first import CallerBeforeBody
from api.config import get_settings
from api.errors import DomainError
from api.idempotency.claims import IN_PROGRESS, StoredAnswer
from api.idempotency.middleware import FirstAnswerMiddleware
from api.nul_guard import NoControlCharactersInAddress, NoNulInBody
from api.reads import close_readers

log = logging.getLogger("memberdesk.api")


def _routers() -> list[APIRouter]:
    # Imported here, not at module level, so importing api.main stays cheap.
    from api.ballots.views import router as ballots
    from api.cases.views import router as cases
    from api.changes.views import router as changes
    from api.conversations.views import router as conversations
    from api.data_protection.views import router as data_protection
    from api.employers.views import router as employers
    from api.identity.views import router as identity
    from api.mail.views import router as mailbox
    from api.members.views import router as members
    from api.membership.views import record_router as member_record
    from api.membership.views import router as membership
    from api.payments.views import router as payments
    from api.staff.views import router as staff
    from api.subscriptions.views import router as subscriptions

    return [identity, members, member_record, membership, employers, subscriptions, payments,
            ballots, changes, cases, staff, mailbox, conversations, data_protection]


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    yield
    # The record look-ups' PostgreSQL connections are the loop's own: closed before it ends.
    await close_readers()


def create_app() -> FastAPI:
    """Build the application. Settings are read (and checked) here, at start-up."""
    settings = get_settings()
    app = FastAPI(
        title="memberdesk records API",
        version="1.0",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=_lifespan,
    )
    for router in _routers():
        app.include_router(router, prefix="/api/v1")
    # Pages members open from a link (the secure payment page) live outside the JSON API.
    from api.payments.views import pages_router

    app.include_router(pages_router)
    # The staff console: HTML pages with their own session cookie (api.console.session).
    from api.console.views import router as console

    app.include_router(console)

    @app.get("/api/v1/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok", "environment": settings.env}

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        body: dict[str, object] = {"detail": exc.message}
        if exc.field:
            body["field"] = exc.field
        return JSONResponse(body, status_code=exc.status_code)

    @app.exception_handler(StaleDataError)
    async def stale_write(_request: Request, _exc: StaleDataError) -> JSONResponse:
        return JSONResponse(
            {"detail": "The record changed since you read it. Read it again and retry."},
            status_code=409,
        )

    @app.exception_handler(StoredAnswer)
    async def repeated_request(_request: Request, answer: StoredAnswer) -> Response:
        return Response(
            answer.body,
            status_code=answer.status_code,
            media_type=answer.media_type,
            headers={"Idempotent-Replayed": "true"},
        )

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        # Two copies of one keyed request at once: the second loses the race for the key, and
        # its change was rolled back with its claim.
        if "idempotent_requests" in str(exc.orig):
            return JSONResponse({"detail": IN_PROGRESS}, status_code=409)
        return await unexpected(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Name the field, without echoing the submitted value back.
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        field = errors[0]["field"] if errors else None
        # api.validation's messages are written for members; pydantic's own are not.
        first = exc.errors()[0] if errors else None
        detail = first["msg"] if first and first["type"] == "invalid_value" else None
        return JSONResponse(
            {"detail": detail or "Some values are not valid.", "field": field, "errors": errors},
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "Something went wrong on our side."}, status_code=500)

    from api.console.session import CONSOLE_DOOR
    from api.payments.views import PAYMENT_LINK_DOOR

    # Added innermost first: the address is checked, then the caller, and only then the body.
    app.add_middleware(NoNulInBody)
    app.add_middleware(CallerBeforeBody, keyed_doors=[CONSOLE_DOOR, PAYMENT_LINK_DOOR])
    app.add_middleware(NoControlCharactersInAddress)
    # Outermost, so it sees the answer every other layer produced.
    app.add_middleware(FirstAnswerMiddleware)
    return app
