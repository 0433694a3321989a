"""What each staff role may do in the console.

agent      works the queues: takes cases, talks to members, hands back, resolves.
team_lead  an agent who also decides held changes and refunds and sees the reports.
data_team  decides held changes and refunds, sees the reports and the data-quality report,
           makes the ballot exports for the independent scrutineer, and answers subject access
           requests (the export of everything held about one member).
admin      everything.

Decisions are still checked again by the services that make them (changes.reviewing.decide,
payments.service.decide_refund), so a role missing here can never widen what they allow.
"""

from __future__ import annotations

import enum

from api.staff.models import Role


class Permission(str, enum.Enum):
    work_cases = "work_cases"
    decide_changes = "decide_changes"
    view_reports = "view_reports"
    data_quality = "data_quality"
    ballot_exports = "ballot_exports"
    # The data protection work is the data team's: an export holds a member's whole record,
    # their cases with internal notes, and the audit log about them, so no agent or team lead
    # produces one.
    subject_access = "subject_access"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.agent: frozenset({Permission.work_cases}),
    Role.team_lead: frozenset(
        {Permission.work_cases, Permission.decide_changes, Permission.view_reports}
    ),
    Role.data_team: frozenset(
        {
            Permission.work_cases,
            Permission.decide_changes,
            Permission.view_reports,
            Permission.data_quality,
            Permission.ballot_exports,
            Permission.subject_access,
        }
    ),
    Role.admin: frozenset(Permission),
}

ROLE_LABELS: dict[Role, str] = {
    Role.agent: "Agent",
    Role.team_lead: "Team lead",
    Role.data_team: "Data team",
    Role.admin: "Admin",
}


def can(role: Role | str, permission: Permission) -> bool:
    """True when staff with `role` may do `permission`."""
    return permission in ROLE_PERMISSIONS.get(Role(role), frozenset())
