"""Custom Rasa NLU components for the assistant's pipeline (see config.yml)."""
