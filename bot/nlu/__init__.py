"""Custom Rasa NLU components for the assistant's pipeline (see config.yml)."""

# The key under which NLU's parse holds the member's text with its misspelt words corrected
# (bot.nlu.spelling), when any were. Here, apart from the component, so the action server
# can read it without importing Rasa.
TEXT_AS_READ = "text_as_read"
