"""Member channels: each a package (webchat, telegram, email) on the shared code in `bot/`.

- webchat/, telegram/: Rasa input channels, each with its own output, settings and storage;
- rest.py: Rasa's REST channel with the same checks at its entrance;
- handoff/: the live hand-off every chat channel goes through (gate, turn counting);
- text_output.py: the text-only output base the chat channels share;
- rasa_speedups.py: fixes to Rasa's hot paths, installed as each channel starts;
- email/: email triage, run as `python -m channels.email`.

Nothing here imports `actions`, and the package itself imports no channel's client library:
a module is loaded only when its channel is used. Both sides share `bot/` instead.
"""
