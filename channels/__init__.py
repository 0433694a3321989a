"""Member channels (Telegram now; webchat and email next) and the safety layer they share.

Nothing here imports a channel's client library at package import time: the action server
imports `channels.safety` and has no use for Telegram.
"""
