"""The data-quality report: member records that need the data team's attention.

Members without a workplace (they cannot be placed in a ballot's constituency), invalid email
addresses or postcodes, likely duplicates (same name and date of birth), lapsed members whose
Direct Debit mandate is still live, and arrears over a threshold.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.service import record
from api.errors import InvalidValue
from api.members.models import Member, Status
from api.payments.models import Collection, CollectionStatus, Mandate, MandateStatus
from api.validation import normalise_email, normalise_postcode

ISSUES = {
    "no_workplace": "No workplace",
    "invalid_email": "Invalid email address",
    "invalid_postcode": "Invalid postcode",
    "likely_duplicate": "Likely duplicate",
    "lapsed_with_live_mandate": "Lapsed with a live Direct Debit",
    "arrears_over_threshold": "Arrears over the threshold",
}
DEFAULT_ARREARS_THRESHOLD = Decimal("50.00")
# Members who are (or may become) in membership: workplaces matter for them.
_CURRENT = (Status.applicant, Status.active, Status.grace)


@dataclass(frozen=True)
class Finding:
    issue: str
    member: Member
    detail: str

    @property
    def label(self) -> str:
        return ISSUES[self.issue]


def _invalid(check, value: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        check(value)
    except InvalidValue:
        return True
    return False


def findings(*, db_session: Session, arrears_threshold: Decimal) -> list[Finding]:
    """Every finding, grouped by issue, then by membership number."""
    members = list(db_session.scalars(select(Member).order_by(Member.membership_number)))
    found: list[Finding] = []
    for m in members:
        if m.status in _CURRENT and m.workplace_id is None:
            found.append(Finding("no_workplace", m, "No workplace on record"))
    for m in members:
        if m.email and _invalid(normalise_email, m.email):
            found.append(Finding("invalid_email", m, m.email))
    for m in members:
        if _invalid(normalise_postcode, m.postcode):
            found.append(Finding("invalid_postcode", m, m.postcode))

    by_person: dict[tuple[str, str, str], list[Member]] = defaultdict(list)
    for m in members:
        key = (m.first_name.strip().lower(), m.last_name.strip().lower(),
               m.date_of_birth.isoformat())
        by_person[key].append(m)
    for group in by_person.values():
        if len(group) > 1:
            numbers = [g.membership_number for g in group]
            for m in group:
                others = ", ".join(n for n in numbers if n != m.membership_number)
                found.append(
                    Finding("likely_duplicate", m, f"Same name and date of birth as {others}")
                )

    live = set(
        db_session.scalars(
            select(Mandate.member_id).where(
                Mandate.status.in_((MandateStatus.active, MandateStatus.pending))
            )
        )
    )
    for m in members:
        if m.status == Status.lapsed and m.id in live:
            found.append(Finding("lapsed_with_live_mandate", m, "Mandate still active or pending"))

    unpaid = {
        member_id: total
        for member_id, total in db_session.execute(
            select(Collection.member_id, func.sum(Collection.amount))
            .where(
                Collection.status == CollectionStatus.failed, Collection.settled_on.is_(None)
            )
            .group_by(Collection.member_id)
        ).tuples()
    }
    for m in members:
        owed = Decimal(m.arrears_brought_forward or 0) + Decimal(unpaid.get(m.id) or 0)
        if owed > arrears_threshold:
            found.append(Finding("arrears_over_threshold", m, f"£{owed.quantize(Decimal('0.01'))}"))
    order = list(ISSUES)
    found.sort(key=lambda f: (order.index(f.issue), f.member.membership_number))
    return found


def as_csv(items: list[Finding]) -> str:
    """The findings as CSV, one row per finding."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["issue", "membership_number", "first_name", "last_name", "status", "detail"])
    for f in items:
        writer.writerow(
            [f.issue, f.member.membership_number, safe_cell(f.member.first_name),
             safe_cell(f.member.last_name), f.member.status.value, safe_cell(f.detail)]
        )
    return out.getvalue()


def safe_cell(value: str | None) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    text = value or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def record_export(*, db_session: Session, actor: str, rows: int, threshold: Decimal) -> None:
    """Audit a data-quality export (it lists members' personal data)."""
    record(db_session=db_session, actor=actor, action="report.data_quality_exported",
           channel="console", detail=f"rows={rows} arrears_threshold={threshold}")
    db_session.commit()
