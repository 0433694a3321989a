"""Imports every model so Base.metadata is complete (for Alembic and test set-up)."""

from api.audit.models import AuditEvent
from api.ballots.models import Ballot, ReplacementPaperRequest, ballot_employers
from api.cases.models import Case, CaseMessage, SatisfactionRating
from api.changes.models import ChangeRequest
from api.conversations.models import Conversation
from api.database import Base
from api.employers.models import Employer, Workplace
from api.idempotency.models import IdempotentRequest
from api.identity.models import IdentityAttempt, Lockout, OneTimeCode
from api.mail.models import EmailThreadId, InboundEmail
from api.members.models import EmploymentPeriod, Member, StatusPeriod
from api.outbox.models import OutboundEmail
from api.payments.models import Collection, Mandate, PaymentLink, RefundRequest
from api.staff.models import StaffSession, StaffUser, Team
from api.subscriptions.models import CategoryInfo, SubscriptionRate

__all__ = [
    "AuditEvent", "Ballot", "Base", "Case", "CaseMessage", "CategoryInfo", "ChangeRequest",
    "Collection", "Conversation", "EmailThreadId", "Employer", "EmploymentPeriod",
    "IdempotentRequest", "IdentityAttempt", "InboundEmail", "Lockout",
    "Mandate", "Member", "OneTimeCode", "OutboundEmail", "PaymentLink", "RefundRequest",
    "ReplacementPaperRequest", "SatisfactionRating", "StaffSession", "StaffUser", "StatusPeriod",
    "SubscriptionRate", "Team", "Workplace", "ballot_employers",
]
