"""An honest reply, and nothing half-done, when a part of the assistant is down.

Rasa 3.6 swallows a failed call to the action server: it logs the error, drops the action's
events and carries on predicting, so the member gets silence (or a stray question), and the
conversation is saved half-moved. Its FailSafeTrackerStore is worse: it answers a failed read
of the tracker store (PostgreSQL) with a new, empty conversation, and keeps a failed write in
process memory. A lock store (Redis) that is down fails the whole message, which each channel
caught in its own way, or not at all.

Here all of them end the same way. A call to the action server that cannot be made is tried
again for a moment (a restarting action server comes back in a second or two), then ends the
whole message with `AssistantUnavailable`, as a tracker store that cannot be read or written
does; Rasa saves nothing of a message that ends with an exception, so the conversation stays
exactly where it was before it. The channel then sends `sorry()`: what happened, that nothing
is lost, to send it again shortly, and a reference that is also in the log, so staff can find
the failure if the member calls.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

log = logging.getLogger(__name__)

# Written against Rasa 3.6.21's RemoteAction.run; another release is left alone.
RASA_RELEASE = "3.6.21"
# Seconds to wait before each further try of an action server that refused the connection.
RETRY_DELAYS = (0.5, 1.5)
SORRY = (
    "Sorry, part of our system isn't answering right now, so I couldn't deal with that "
    "message. Nothing you've told me is lost: please send it again in a minute or two. If it "
    "keeps happening, our team can look into it with reference {reference}."
)
_installed = False


class AssistantUnavailable(BaseException):
    """The message could not be handled because a part of the assistant is down.

    A BaseException on purpose: Rasa's processor catches every Exception an action raises and
    carries on with the action's events lost; this one must end the message, unsaved, so the
    member can simply send it again.
    """


def sorry(error: BaseException | None = None) -> str:
    """The member's reply to a message that failed, with a reference that is in the log."""
    reference = "OUT-" + secrets.token_hex(3).upper()
    log.error("a member's message failed (reference %s): %r", reference, error)
    return SORRY.format(reference=reference)


def _unreachable(error: BaseException) -> bool:
    """The action server could not be reached or failed on its side (not a rejection)."""
    import aiohttp

    cause = error.__cause__ or error.__context__
    if isinstance(cause, aiohttp.ClientResponseError):
        return cause.status >= 500
    return isinstance(cause, aiohttp.ClientError | asyncio.TimeoutError)


def _refused_connection(error: BaseException) -> bool:
    """Nothing was sent: the connection itself failed, so trying again cannot run it twice.

    Besides a refused connection, a kept-alive connection the action server closed just as
    Rasa reused it ("Cannot write to closing transport"): the request never left.
    """
    import aiohttp

    cause = error.__cause__ or error.__context__
    return isinstance(cause, aiohttp.ClientConnectorError) or (
        isinstance(cause, aiohttp.ClientOSError) and "write" in str(cause).lower()
    )


def install() -> None:
    """Make a failed action-server call end the message (see the module's docstring); once."""
    global _installed
    if _installed:
        return
    import rasa
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
    from rasa.shared.exceptions import RasaException

    if rasa.__version__ != RASA_RELEASE:
        log.warning("Rasa %s is not %s: action-server failures are Rasa's own",
                    rasa.__version__, RASA_RELEASE)
        return
    original = RemoteAction.run

    async def run(self: RemoteAction, *args: Any, **kwargs: Any) -> Any:
        delays = list(RETRY_DELAYS)
        while True:
            try:
                return await original(self, *args, **kwargs)
            except ActionExecutionRejection:
                raise
            except RasaException as error:
                if delays and _refused_connection(error):
                    await asyncio.sleep(delays.pop(0))
                    continue
                if _unreachable(error):
                    raise AssistantUnavailable(
                        f"the action server did not run {self.name()}"
                    ) from error
                raise

    RemoteAction.run = run  # type: ignore[method-assign]
    _no_silent_tracker_fallback()
    _installed = True


def _no_silent_tracker_fallback() -> None:
    """A tracker store that is down ends the message, rather than starting it afresh.

    Rasa wraps the tracker store in FailSafeTrackerStore, which answers a failed read with "no
    such conversation" and saves a failed write in process memory: a member half-way through a
    change would be greeted as a stranger, and what they say next kept only in one replica's
    memory, to vanish on its next restart or on another replica. Here a failed read or write
    ends the message unsaved (`AssistantUnavailable`), and the channel says so.
    """
    from rasa.core.tracker_store import FailSafeTrackerStore

    async def retrieve(self: FailSafeTrackerStore, sender_id: str) -> Any:
        try:
            return await self._tracker_store.retrieve(sender_id)
        except Exception as error:
            raise AssistantUnavailable("the tracker store could not be read") from error

    async def retrieve_full_tracker(self: FailSafeTrackerStore, sender_id: str) -> Any:
        try:
            return await self._tracker_store.retrieve_full_tracker(sender_id)
        except Exception as error:
            raise AssistantUnavailable("the tracker store could not be read") from error

    async def save(self: FailSafeTrackerStore, tracker: Any) -> None:
        try:
            await self._tracker_store.save(tracker)
        except Exception as error:
            raise AssistantUnavailable("the tracker store could not be written") from error

    FailSafeTrackerStore.retrieve = retrieve  # type: ignore[method-assign]
    FailSafeTrackerStore.retrieve_full_tracker = retrieve_full_tracker  # type: ignore[method-assign]
    FailSafeTrackerStore.save = save  # type: ignore[method-assign]
