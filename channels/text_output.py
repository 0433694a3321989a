"""What a channel that shows text and buttons, and nothing richer, sends for Rasa's other
kinds of response.

Rasa's own fallbacks write "Image: ..." or "title : subtitle" into the chat; members should
read the link, or the element's words with its buttons, instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rasa.core.channels.channel import OutputChannel


class TextOnlyOutput(OutputChannel):
    """An output channel's text-only fallbacks: a channel overrides what it can show better."""

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Quick replies as ordinary buttons."""
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """The image's address as text."""
        await self.send_text_message(recipient_id, str(image))

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        """The attachment (usually a link) as text."""
        await self.send_text_message(recipient_id, str(attachment))

    async def send_elements(
        self, recipient_id: str, elements: Iterable[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Each element as its title and subtitle, with its buttons when it has any."""
        for element in elements:
            text = "\n".join(
                str(element[key]) for key in ("title", "subtitle") if element.get(key)
            )
            if element.get("buttons"):
                await self.send_text_with_buttons(recipient_id, text, element["buttons"])
            elif text:
                await self.send_text_message(recipient_id, text)
