"""Live hand-off, the channels' side: while a person has a conversation, the assistant is quiet.

The records API holds who a conversation is with (api/conversations/views.py); every channel
does the same four things with it, through one `LiveHandoff`:

1. `handle()` (or `gate()` alone) for each member message, once bot.safety has checked
   it, in place of calling Rasa's `on_new_message` directly: passes it to the
   assistant, or, while the conversation is paused for a person, puts it on the case for the
   console instead. A conversation staff handed back is resumed first (`resume()`): a
   `ConversationResumed` event and the slots for what staff learned are appended to the
   tracker, then the API is told.
2. `deliver_staff_messages()` sends the staff messages waiting for a conversation through a
   callback the channel gives (each channel shows them its own way), and marks only those it
   sent as delivered, so a crash means a message is sent again rather than lost.
3. `watch()` runs, for the life of a channel, a poller over the conversations the gate saw
   paused, so staff replies reach a member who has nothing more to say.
4. `turns.count_turn_soon()` after the assistant handled a message, for the dashboard: the
   count is sent while the member already reads the reply (channels.handoff.turns).

The API's hand-off state is what counts, not the tracker's own pause: when the API says the
assistant has a conversation whose tracker is still paused (staff resolved the case), the
tracker is resumed, without slots, so the member is answered again. When the API cannot be
reached, a message goes to the assistant (the tracker keeps it, so nothing is lost): if the
tracker is paused Rasa will not answer, so `Gate.notice` tells the member honestly that the
team could not be reached.

The gate, resuming and staff messages are in channels.handoff.gate. A channel plugs in with a
few lines (Telegram does, in channels/telegram/channel.py):

    handoff = LiveHandoff(read_settings(), "webchat")            # once, at start-up
    await handoff.handle(user_message, on_new_message, request.app.ctx.agent)
    await handoff.deliver_staff_messages(conversation_id, send)  # send(StaffMessage)
    handoff.watch_while_serving(blueprint, send_for)             # send_for(id) -> send

`send` raises (e.g. `StaffMessageNotSent`) when it could not show a message, which is then
left undelivered and offered again.
"""
