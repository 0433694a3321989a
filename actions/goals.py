"""What the assistant does for each member intent: the one table the dialogue rules come from.

`scripts/generate_rules.py` turns this table into `data/rules/goals.yml`, so the rules, the
actions and the tests never disagree about which intent needs an identity check or which form
or action handles it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    """How one intent is handled."""

    intent: str
    # The form that collects values, or None when one action does the whole job.
    form: str | None
    # The action that runs once the form is complete (or at once when there is no form).
    action: str
    # Personal data is involved: run the identity check first.
    needs_identity: bool = True
    # When `action` reads the values back and asks "shall I go ahead?", the action that runs
    # on a plain "yes"; every other answer goes to ANSWER_PENDING_CHANGE (actions/confirming.py).
    on_affirm: str | None = None
    # May be carried on, without a yes, when NLU ranks it second in a message that asked for
    # another goal first (actions.second_request): it only answers, or asks for something
    # nobody would regret (a replacement ballot paper, a link to pay on). A ranking is a guess,
    # so a goal that changes the record, or has a form to fill, never starts from one.
    may_carry_on: bool = False


GOALS: tuple[Goal, ...] = (
    Goal(
        "change_address",
        "address_form",
        "action_confirm_address",
        on_affirm="action_submit_address",
    ),
    Goal(
        "change_contact_details",
        "contact_form",
        "action_confirm_contact",
        on_affirm="action_submit_contact",
    ),
    Goal(
        "change_employment",
        "employment_form",
        "action_confirm_employment",
        on_affirm="action_submit_employment",
    ),
    Goal("change_personal_details", "personal_details_form", "action_submit_personal_details"),
    Goal("change_circumstances", "circumstances_form", "action_submit_circumstances"),
    Goal("check_subscription", None, "action_check_subscription", may_carry_on=True),
    Goal("payment_failed", None, "action_payment_failed", may_carry_on=True),
    Goal("change_payment_method", "payment_method_form", "action_submit_payment_method"),
    Goal("request_refund", "refund_form", "action_submit_refund"),
    Goal("payment_not_recognised", "charge_form", "action_explain_charge"),
    Goal("make_payment", None, "action_make_payment", may_carry_on=True),
    Goal("renew_membership", None, "action_renew_membership"),
    Goal("rejoin_membership", None, "action_rejoin_membership"),
    Goal(
        "cancel_membership",
        "cancel_form",
        "action_confirm_cancel",
        on_affirm="action_submit_cancel",
    ),
    Goal("membership_status", None, "action_membership_status", may_carry_on=True),
    Goal("ballot_eligibility", None, "action_ballot_eligibility", may_carry_on=True),
    Goal("ballot_paper_missing", None, "action_ballot_paper_missing", may_carry_on=True),
    Goal("data_protection_request", "data_protection_form", "action_submit_data_protection"),
    Goal("complaint", "complaint_form", "action_submit_complaint", needs_identity=False),
    Goal("join_membership", None, "action_join_membership", needs_identity=False),
    Goal("ballot_info", None, "action_ballot_info", needs_identity=False,
         may_carry_on=True),
    Goal("industrial_action_info", None, "action_industrial_action_info", needs_identity=False,
         may_carry_on=True),
    Goal("opening_hours", None, "action_opening_hours", needs_identity=False, may_carry_on=True),
)

# Reads every answer to "shall I go ahead?" but a plain yes, while `pending_change` is set.
ANSWER_PENDING_CHANGE = "action_answer_pending_change"

GOALS_BY_INTENT = {goal.intent: goal for goal in GOALS}
IDENTITY_GOALS = tuple(goal.intent for goal in GOALS if goal.needs_identity)

# Questions a member may ask in the middle of a form; the assistant answers, then carries on
# with the form. Each is answered by one action, without a form of its own.
INTERRUPTIONS: dict[str, str] = {
    "ballot_info": "action_ballot_info",
    "industrial_action_info": "action_industrial_action_info",
    "join_membership": "action_join_membership",
    "opening_hours": "action_opening_hours",
    "bot_challenge": "utter_iamabot",
    "greet": "utter_greet_in_form",
    "thank_you": "utter_youre_welcome_in_form",
    "out_of_scope": "utter_out_of_scope",
}

FORMS: tuple[str, ...] = ("identity_form",) + tuple(goal.form for goal in GOALS if goal.form)
