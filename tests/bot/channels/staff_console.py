"""A member of staff using the console of a running records API, as their browser would.

The console's cookies are Secure (path /console); the test API is served over plain HTTP on
127.0.0.1, where an HTTP client's cookie jar will not send them, so they are carried by hand.
"""

from __future__ import annotations

import re

import httpx

PASSWORD = "memberdesk-demo-password"  # noqa: S105 - the demo staff users' password
SESSION_COOKIE = "memberdesk_console"
SIGN_IN_COOKIE = "memberdesk_console_sign_in"


def _cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        pair = header.split(";", 1)[0]
        if pair.startswith(name + "="):
            return pair.split("=", 1)[1].strip('"')
    raise AssertionError(f"no {name} cookie in {response.status_code} {response.headers}")


class StaffConsole:
    """One signed-in staff user: take a case, reply, hand back, resolve, read the conversation."""

    def __init__(self, api_url: str, username: str = "alex.agent") -> None:
        self.http = httpx.Client(base_url=api_url, timeout=30, follow_redirects=False)
        page = self.http.get("/console/sign-in")
        token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text)
        assert token, page.text
        signed_in = self.http.post(
            "/console/sign-in",
            data={"username": username, "password": PASSWORD, "sign_in_token": token[1]},
            headers={"Cookie": f"{SIGN_IN_COOKIE}={_cookie(page, SIGN_IN_COOKIE)}"},
        )
        assert signed_in.status_code == 303, signed_in.text
        self.session = _cookie(signed_in, SESSION_COOKIE)
        queue = self.get("/console/queue")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', queue.text)
        assert csrf, queue.text
        self.csrf = csrf[1]

    def close(self) -> None:
        self.http.close()

    def get(self, path: str) -> httpx.Response:
        page = self.http.get(path, headers={"Cookie": f"{SESSION_COOKIE}={self.session}"})
        assert page.status_code == 200, (path, page.status_code, page.text[:500])
        return page

    def _post(self, path: str, **form: str) -> None:
        done = self.http.post(
            path, data={**form, "csrf_token": self.csrf},
            headers={"Cookie": f"{SESSION_COOKIE}={self.session}"},
        )
        assert done.status_code == 303, (path, done.status_code, done.text[:500])
        # A refused action comes back to the case page with its reason in the address.
        assert "error=" not in done.headers.get("location", ""), done.headers["location"]

    def take(self, reference: str) -> None:
        self._post(f"/console/cases/{reference}/take")

    def reply(self, reference: str, text: str) -> None:
        self._post(f"/console/cases/{reference}/messages", text=text, kind="reply")

    def hand_back(self, reference: str, note: str) -> None:
        self._post(f"/console/cases/{reference}/hand-back", note=note)

    def resolve(self, reference: str, outcome: str) -> None:
        self._post(f"/console/cases/{reference}/resolve", outcome=outcome)

    def conversation(self, reference: str) -> str:
        """The live conversation part of the case page (what htmx polls)."""
        return self.get(f"/console/cases/{reference}/conversation").text
