"""Data protection (UK GDPR): the retention purge and the subject access export.

Both read across the domains, so they sit above them: `retention` removes conversation data
older than MEMBERDESK_RETENTION_DAYS from the records database and from Rasa's tracker store
(`trackers`); `subject_access` gathers everything held about one member. Neither ever touches
the audit log except to add to it. docs/data-protection.md says what each keeps and removes.
"""
