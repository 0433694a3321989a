"""The website webchat: a socket.io input channel, the chat widget, and a demo member portal.

Rasa's own socket.io channel takes the session id the browser sends as the conversation,
so anyone who learns an id can join that conversation, and it accepts every origin. This
channel instead:

1. accepts socket.io connections only from the server's own origin and the origins in
   `allowed_origins` (credentials.yml) or `MEMBERDESK_WEBCHAT_ORIGINS`;
2. on connect, reads `auth = {"session": ..., "member_token": ...}`. A valid member token
   (channels.webchat.auth) binds the conversation to that member: every message then carries
   the membership number, signed (bot.identity), so the assistant starts the session
   verified and skips the identity check. The session token is one this server issued;
   anything else starts a new conversation with a new unguessable id (see `resume_or_start`);
3. on every message: a per-conversation rate limit, then card numbers masked, control
   characters stripped and long messages cut with a notice (bot.safety). Typed text is
   read as words, never as an intent payload; a button press is accepted only when it is one
   of the buttons the assistant offered in its last turn (read from the tracker store).

Events, server to browser (all text is plain text: the widget renders it with textContent):

- `session` `{"token", "signed_in", "sign_in_refused", "resumed"}`: keep `token` for the tab;
- `history` `{"messages": [...]}`: the conversation so far, sent on every (re)connect, each
  message like a `bot_uttered` one plus `"from": "member" | "assistant" | "staff"`;
- `received` `{"id", "text"}`: the member's message as the assistant saw it (card numbers
  masked), so the widget can show that instead of what was typed;
- `bot_uttered` `{"text", "buttons": [{"title", "payload"}]}`, `{"notice"}` for the
  channel's own messages, `{"staff": {"from", "text", "note"}}` for a staff message (`note`
  when it reads as a line about the conversation, "Alex Agent from the Records team has
  joined the conversation."), or `{"staff_joined": "Alex from the records team"}`;
- `typing` `{"active": bool}`;
- `acknowledged` `{"id", "repeat"}`: the message with that id has been handled (`repeat`: it
  had been already, and this copy was dropped).

Browser to server: `start` (the widget was opened: greets a conversation that has not
begun), `user_uttered` `{"id", "text"}` or `{"id", "choice": payload}`. The widget keeps each
message until it is acknowledged and sends it again, same id, after reconnecting; the server
handles each id once (channels.webchat.delivery): at least once, effectively once.

Live hand-off (channels.handoff), as on Telegram: while a person has the conversation, a
member's messages go to the case in the staff console instead of the assistant, and the
member is told who they went to. Staff messages are fetched from the records API after each
member message and by a poller, sent to the conversation's tabs and kept in the tracker (as
bot events with a `{"memberdesk": {"staff_message": ...}}` custom payload), so a reload
shows them.

Staff joining, without the console: a bot message with the custom payload
`{"memberdesk": {"staff_joined": "Alex from the records team"}}` makes the widget say that
they joined, and is replayed with the history. A staff tool sends it with Rasa's HTTP API:
`POST /conversations/<id>/tracker/events?output_channel=webchat&execute_side_effects=true`
with `{"event": "bot", "data": {"custom": {"memberdesk": {"staff_joined": "..."}}}}`. Other
custom payloads are not shown.

Each conversation is a socket.io room, so every tab open on it gets the replies; with
several Rasa replicas the rooms are shared through Redis (`MEMBERDESK_WEBCHAT_REDIS_URL`).

The blueprint (under /webhooks/webchat/) serves `GET /` (health), the widget
(channels.webchat.widget: `widget.js`, `widget.css`, and `socket.io.js` from the npm package
socket.io-client that `make setup` installs) and, in development and test only, the demo
member portal at `/webhooks/webchat/portal` (channels.webchat.portal) with a demo sign-in that
signs member tokens the way an organisation's website would.

The input channel is channels.webchat.channel, what the widget is sent channels.webchat.messages.
`channels.webchat.WebchatInput` is the name credentials.yml gives the channel.
"""

from channels.webchat.channel import WebchatInput

__all__ = ["WebchatInput"]
