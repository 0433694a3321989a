"""Email triage: inbound email parsed, classified by the assistant's NLU model and routed.

`python -m channels.email classify|ingest|poll` (or `memberdesk email ...`) runs it; the
README's "Email" section says how to point it at a support mailbox.
"""
