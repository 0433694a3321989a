"""What the assistant's two processes share: the action server (`actions`) and Rasa with its
channels (`channels`).

Settings, the records API's vocabulary and clients, signed identities, card-number masking and
the NLU components live here, once. This package imports neither `actions` nor `channels` (nor
the records API's `api`): they import it (tests/bot/test_layers.py keeps it so). Beside it are
Rasa's own files: domain/, endpoints.yml, credentials.yml.
"""
