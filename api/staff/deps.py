"""Staff routes of the JSON API held to the same permissions as the console's pages.

The console hides a queue from a role that may not work it; the JSON API must refuse it too,
or an agent could list the held changes, refunds and replacement papers with their token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, HTTPException

from api.deps import StaffCaller
from api.security import Caller
from api.staff.permissions import Permission, can


def staff_who_may(permission: Permission) -> Any:
    """A dependency: the signed-in staff caller, if their role (as it is now) may do this."""

    async def allowed(staff: StaffCaller) -> Caller:
        if not staff.role or not can(staff.role, permission):
            raise HTTPException(403, "Your role does not allow this.")
        return staff

    checked: Callable[[Caller], Awaitable[Caller]] = allowed
    return Depends(checked)
