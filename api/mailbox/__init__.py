"""Email triage on the records side: inbound emails, their threads, and the replies they get."""
