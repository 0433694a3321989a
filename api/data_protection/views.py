"""The subject access export over the JSON API: staff whose role may answer one, nobody else.

A member asks for their data through the organisation (a case for the data protection team),
not through the assistant: the export holds internal notes and the audit log, which the data
team reviews before it is sent. So member and service tokens get 403, as do agents and team
leads (api.staff.permissions).
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import Response
from sqlalchemy import select

from api.data_protection import subject_access
from api.deps import ChannelDep, SessionDep, SettingsDep
from api.members.models import Member
from api.security import Caller
from api.staff.deps import staff_who_may
from api.staff.permissions import Permission

router = APIRouter(tags=["data protection"])


@router.get(
    "/members/{membership_number}/subject-access-export",
    responses={200: {"content": {"application/json": {}},
                     "description": "Everything held about the member, as a download."}},
)
def subject_access_export(
    membership_number: Annotated[str, Path(max_length=20)],
    db: SessionDep,
    channel: ChannelDep,
    settings: SettingsDep,
    staff: Caller = staff_who_may(Permission.subject_access),
) -> Response:
    """Everything held about one member (audited), as one JSON document to download."""
    member = db.scalar(select(Member).where(Member.membership_number == membership_number))
    if member is None:
        raise HTTPException(404, "No such member.")
    document = subject_access.produce(db_session=db, member=member, actor=staff.actor,
                                      channel=channel, settings=settings)
    return Response(
        json.dumps(document, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={
            "Content-Disposition":
                f'attachment; filename="{subject_access.filename_for(member)}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
