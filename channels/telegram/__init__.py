"""The Telegram channel: the webhook (channel), its replies (output), the Bot API (bot_api),
what it keeps across restarts (store), account linking (linking) and the webhook's command
line (cli). channels/TELEGRAM.md says how to run it.

`channels.telegram.TelegramChannel` is the name credentials.yml gives the channel.
"""

from channels.telegram.channel import TelegramChannel

__all__ = ["TelegramChannel"]
