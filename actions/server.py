"""The action server's entry point: rasa-sdk's own app, answering nobody but Rasa.

A call to the action server runs actions on a tracker the caller sends, and the actions act on
what it says (who the member is, what they asked for). So every route that does anything checks
a secret only Rasa has (`X-Memberdesk-Action-Secret`, sent by bot/endpoints.yml) before the
body is even parsed, in constant time; `/health` alone stays open. Outside development the
server refuses to start without the secret (bot.settings.actions_secret_required).

It also binds to its own address setting (MEMBERDESK_ACTIONS_HOST, default 127.0.0.1), allows
no browser origin whatever `--cors` says (nothing in a browser should ever call it), and never
echoes a request body, which holds the member's token, in an error.

    python -m actions.server --port 5055      # the same options as `python -m rasa_sdk`
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app, create_argument_parser, create_ssl_context
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request

from actions import pending
from bot.settings import actions_secret_required, get_settings, pending_store_url_checked

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Memberdesk-Action-Secret"  # noqa: S105 - a header name
# A load balancer's or a supervisor's liveness probe: it runs nothing and says nothing.
OPEN_PATHS = frozenset({"/health"})


class NotFromRasa(SanicException):
    """A call without the action server's secret: nothing it sent is read."""

    status_code = 401
    quiet = True


def from_rasa(request: Request, secret: str) -> bool:
    """Whether the request carries the secret (compared in constant time)."""
    presented = request.headers.get(SECRET_HEADER, "")
    return hmac.compare_digest(presented.encode(), secret.encode())


def guard(app: Sanic, secret: str | None) -> None:
    """Refuse every call but the health check that lacks `secret` (None: development)."""

    # Signalled once the route is known and before Sanic reads the body, so a refused call's
    # tracker is never parsed, let alone run.
    @app.signal("http.routing.after")
    async def check_secret(request: Request, **_: Any) -> None:
        if secret is not None and request.path not in OPEN_PATHS and not from_rasa(request, secret):
            raise NotFromRasa("This server answers only the assistant.")

    @app.exception(NotFromRasa)
    async def refused(request: Request, exc: NotFromRasa) -> response.HTTPResponse:
        log.warning("refused a call to %s without the action server's secret", request.path)
        return response.json({"error": "This server answers only the assistant."}, status=401)

    # rasa-sdk's own handler echoes the request body, which holds the member's token.
    @app.exception(Exception)
    async def failed(request: Request, exc: Exception) -> response.HTTPResponse:
        log.error("the action server failed on %s", request.path, exc_info=exc)
        return response.json({"error": "The action server failed."}, status=500)


def build_app(actions_package: str, *, secret: str | None, auto_reload: bool = False) -> Sanic:
    """rasa-sdk's app for `actions_package`, guarded by `secret`, open to no browser origin."""
    app = create_app(actions_package, cors_origins=None, auto_reload=auto_reload)
    guard(app, secret)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)

    @app.listener("after_server_start")
    async def replay_kept_requests(app: Sanic, loop: Any) -> None:
        # At once, not at the first action: requests kept before a restart are sent even if
        # no member writes in.
        pending.replay_in_this_process()

    return app


def main(argv: list[str] | None = None) -> None:
    """Start the action server as `python -m rasa_sdk` would, on our address, guarded."""
    args = create_argument_parser().parse_args(argv)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
                                 args.log_file, args.loglevel, args.logging_config_file)
    utils.update_sanic_log_level()
    settings = get_settings()
    secret = actions_secret_required(settings)  # refuses to start without one outside development
    # Checked, not connected: with its database down the server still answers members honestly.
    pending_store_url_checked(settings)
    if secret is None:
        log.warning("MEMBERDESK_ACTIONS_SECRET is not set: anyone who reaches this port can "
                    "run actions (development only)")
    app = build_app(args.actions or "actions", secret=secret, auto_reload=args.auto_reload)
    ssl_context = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    log.info("Action server on %s:%s", settings.actions_host, args.port)
    app.run(settings.actions_host, args.port, ssl=ssl_context,
            workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
