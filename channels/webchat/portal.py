"""The demo member portal, in development and test only: /webhooks/webchat/portal.

A page with the chat widget and a demo sign-in (any demo membership number, one shared
password) that signs member tokens the way an organisation's website would (README.md,
Webchat), so a signed-in member is not asked who they are.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.webchat.auth import WebchatSettings, sign_member_token, sign_value, signed_value
from channels.webchat.widget import STATIC_DIR

DEMO_COOKIE = "memberdesk_demo_portal"
# The demo portal's sign-in password for every demo member (README.md, Demo data).
DEMO_PASSWORD = "memberdesk-demo-password"  # noqa: S105
_PAGE_HEADERS = {
    # The portal runs no inline script and loads nothing from elsewhere: bot or member
    # text that slipped through as HTML could not run anyway.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _portal_of(request: Request) -> str:
    """The portal page's path, from one of its forms' paths (".../portal/sign-in")."""
    return request.path.rsplit("/", 1)[0]


def serve_demo_portal(webchat: Blueprint, settings: WebchatSettings) -> None:
    """Add the portal page, its demo sign-in and sign-out, and its member token route."""
    key = hashlib.sha256(b"memberdesk demo portal" + settings.session_key).digest()

    @webchat.route("/portal", methods=["GET"])
    async def portal(_: Request) -> HTTPResponse:
        return await response.file(
            STATIC_DIR / "portal.html", mime_type="text/html; charset=utf-8",
            headers=_PAGE_HEADERS,
        )

    @webchat.route("/portal/token", methods=["GET"])
    async def member_token(request: Request) -> HTTPResponse:
        # What an organisation's website does for a signed-in member: a short-lived token.
        member = signed_value(request.cookies.get(DEMO_COOKIE), key=key)
        token = sign_member_token(member, secret=settings.jwt_secret) if member else None
        return response.json(
            {"token": token, "membership_number": member},
            headers={"Cache-Control": "no-store"},
        )

    @webchat.route("/portal/sign-in", methods=["POST"])
    async def sign_in(request: Request) -> HTTPResponse:
        form = parse_qs((request.body or b"").decode("utf-8", "replace")[:2000])
        number = (form.get("membership_number") or [""])[0].strip()
        password = (form.get("password") or [""])[0]
        right_password = hmac.compare_digest(password.encode(), DEMO_PASSWORD.encode())
        if len(number) != 7 or not number.isdigit() or not right_password:
            return response.redirect(_portal_of(request) + "?refused=1", status=303)
        answer = response.redirect(_portal_of(request), status=303)
        _set_demo_cookie(answer, sign_value(number, key=key))
        return answer

    @webchat.route("/portal/sign-out", methods=["POST"])
    async def sign_out(request: Request) -> HTTPResponse:
        answer = response.redirect(_portal_of(request), status=303)
        _set_demo_cookie(answer, "", max_age=0)
        return answer


def _set_demo_cookie(answer: HTTPResponse, value: str, *, max_age: int = 8 * 3600) -> None:
    answer.cookies[DEMO_COOKIE] = value
    answer.cookies[DEMO_COOKIE]["httponly"] = True
    answer.cookies[DEMO_COOKIE]["samesite"] = "Strict"
    answer.cookies[DEMO_COOKIE]["path"] = "/webhooks/webchat/"
    answer.cookies[DEMO_COOKIE]["max-age"] = max_age
