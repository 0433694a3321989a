"""Custom actions for the memberdesk assistant (rasa-sdk). Every record read or write goes
through the records API (`actions.api_client`)."""
