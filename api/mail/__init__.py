"""Email on the records side: inbound triage, the replies it sends, the SMTP sender and the
`memberdesk email` commands. Putting an email in the outbox (and rendering it) is api.outbox,
which every domain that tells someone something uses, so it sits below them; this package sits
above cases, ballots and subscriptions, which triage reaches into.
"""
