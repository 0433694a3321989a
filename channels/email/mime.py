"""Inbound email parsing: the member's own words out of whatever MIME arrives.

- multipart is walked: the first inline text/plain is the body, else the first text/html turned
  into text; parts with a filename or `Content-Disposition: attachment` are attachments.
- charsets: the declared one is tried first; a body that is not valid in it (or that declares
  ASCII or Latin-1 but is really UTF-8, the usual mislabelling) is read as UTF-8, then
  Windows-1252, so a wrong label costs an accent, never the email.
- quoted replies ("On ... wrote:", Outlook's "From: / Sent:" block, "> " lines, Gmail's and
  Outlook's quote blocks in HTML) and signatures ("-- ", "Sent from my iPhone", disclaimers)
  are stripped, because the earlier messages of a thread are already on the case.
- attachments are recorded as metadata only (name, declared type, size from the encoded
  length); their content is never decoded, opened or stored.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from channels.email.automatic import automatic_reason

MAX_ATTACHMENTS_RECORDED = 20
# The body is cut long before cleaning: no member writes 200,000 characters of prose.
_MAX_BODY_CHARACTERS = 200_000
_MAX_FILENAME = 200
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,490}>")


@dataclass(frozen=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int


@dataclass(frozen=True)
class ParsedEmail:
    """An inbound email reduced to what triage needs."""

    message_id: str
    from_address: str | None
    from_name: str | None
    subject: str
    in_reply_to: str | None
    references: list[str]
    body_text: str
    attachments: list[Attachment]
    attachments_not_listed: int
    automatic_reason: str | None
    defects: list[str] = field(default_factory=list)


# -- charsets ---------------------------------------------------------------------------------

_LATIN_LABELS = frozenset({"us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "windows-1252",
                           "cp1252"})


def decode_text(payload: bytes, declared: str | None) -> str:
    """`payload` as text, trusting the declared charset only as far as the bytes allow."""
    label = (declared or "").strip().strip('"').lower()
    if label in _LATIN_LABELS or not label:
        try:
            text = payload.decode("utf-8")
            return text
        except UnicodeDecodeError:
            pass
    if label:
        try:
            return payload.decode(label)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("cp1252", errors="replace")


# -- HTML -------------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                         "table", "ul", "ol", "hr", "section", "article", "header", "footer"})
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template", "noscript"})
_QUOTE_MARKERS = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "divrplyfwdmsg",
                  "appendonsend", "gmail_signature")
_VOID_TAGS = frozenset({"br", "hr", "img", "meta", "link", "input", "area", "base", "col",
                        "embed", "source", "track", "wbr"})


class _TextOfHtml(HTMLParser):
    """Visible text, without scripts, styles or the quoted earlier messages of a thread."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        # Open elements, and whether each starts a skipped region.
        self._stack: list[tuple[str, bool]] = []
        self._rest_is_quote = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.lower()
        marks = " ".join(f"{v or ''}" for k, v in attrs if k in ("class", "id")).lower()
        if tag == "div" and any(m in marks for m in ("divrplyfwdmsg", "appendonsend")):
            # Outlook puts the quoted thread after these markers, outside any container.
            self._rest_is_quote = True
        skipped = tag in _SKIPPED_TAGS or tag == "blockquote" or any(
            m in marks for m in _QUOTE_MARKERS
        )
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag in _VOID_TAGS:
            return
        self._stack.append((tag, skipped))
        if skipped:
            self._skip_depth += 1

    def handle_endtag(self, tag: str) -> None:
        tag = tag.lower()
        if tag in _VOID_TAGS:
            return
        # Close up to the matching element: real-world HTML leaves <p> and <td> unclosed.
        if any(open_tag == tag for open_tag, _ in self._stack):
            while self._stack:
                open_tag, skipped = self._stack.pop()
                if skipped:
                    self._skip_depth -= 1
                if open_tag == tag:
                    break
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip_depth == 0 and not self._rest_is_quote:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML body, one paragraph per line."""
    parser = _TextOfHtml()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):
        # HTMLParser gives up on some malformed markup; what it read so far is kept.
        pass
    text = "".join(parser.parts).replace("\u00a0", " ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# -- quoted replies and signatures ------------------------------------------------------------

_WROTE = re.compile(r"\bwrote:\s*$|\bwrites:\s*$|\bescribió:\s*$|\ba écrit\s*:\s*$",
                    re.IGNORECASE)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(original message|forwarded message)\s*-{2,}",
                       re.IGNORECASE)
_HEADER_BLOCK_START = re.compile(r"^\s*\*?(from|van|von)\s*:\*?\s", re.IGNORECASE)
_HEADER_BLOCK_NEXT = re.compile(r"^\s*\*?(sent|date|to|subject)\s*:\*?\s", re.IGNORECASE)
_SIGNATURE_CUTS = re.compile(
    r"^\s*(sent from my \w+|sent from (outlook|mail) for \w+|get outlook for \w+"
    r"|sent from yahoo mail|this (e-?mail|message) (and any attachments? )?"
    r"(is|are|may be) (confidential|intended)|disclaimer:)",
    re.IGNORECASE,
)


def strip_quotes_and_signature(text: str) -> str:
    """The new part of a reply: quoted history, signature and disclaimers removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped in ("--", "-- ") or line == "-- ":
            break
        if _ORIGINAL.match(line) or _SIGNATURE_CUTS.match(line):
            break
        if re.fullmatch(r"_{8,}", stripped) and any(
            _HEADER_BLOCK_START.match(following) for following in lines[index + 1 : index + 3]
        ):
            break
        if _HEADER_BLOCK_START.match(line) and any(
            _HEADER_BLOCK_NEXT.match(following) for following in lines[index + 1 : index + 5]
        ):
            break
        if stripped.lower().startswith("on ") and (
            _WROTE.search(stripped)
            or any(_WROTE.search(following) for following in lines[index + 1 : index + 3])
        ):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line.rstrip())
    result = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", result)


# -- the message ------------------------------------------------------------------------------


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, AttributeError, LookupError):
        # A header the policy cannot even represent: treat it as absent.
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def _message_ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value or "")


def _encoded_size(part: Message) -> int:
    payload = part.get_payload(decode=False)
    if not isinstance(payload, str):
        return 0
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding == "base64":
        compact = len(re.sub(r"\s", "", payload))
        return max(0, compact * 3 // 4 - payload.rstrip()[-2:].count("="))
    return len(payload.encode("utf-8", errors="replace"))


def _attachment_of(part: Message) -> Attachment:
    try:
        filename = part.get_filename()
    except (ValueError, LookupError, TypeError):
        filename = None
    if filename is not None:
        filename = " ".join(filename.split())[:_MAX_FILENAME] or None
    return Attachment(
        filename=filename,
        content_type=part.get_content_type()[:100],
        size=_encoded_size(part),
    )


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return decode_text(payload[: _MAX_BODY_CHARACTERS * 4], part.get_content_charset())


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("Content-Disposition", "")).split(";")[0].strip().lower()
    if disposition == "attachment":
        return True
    try:
        return part.get_filename() is not None and part.get_content_maintype() != "text"
    except (ValueError, LookupError, TypeError):
        return True


def _body_and_attachments(message: Message) -> tuple[str, list[Attachment]]:
    plain: str | None = None
    html: str | None = None
    attachments: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        if part is not message and _is_attachment(part):
            attachments.append(_attachment_of(part))
        elif content_type == "text/plain" and plain is None:
            plain = _part_text(part)
        elif content_type == "text/html" and html is None:
            html = _part_text(part)
        elif part is not message and content_type not in ("text/plain", "text/html"):
            attachments.append(_attachment_of(part))
    if plain is not None and plain.strip():
        return plain[:_MAX_BODY_CHARACTERS], attachments
    if html is not None:
        return html_to_text(html[:_MAX_BODY_CHARACTERS]), attachments
    return (plain or "")[:_MAX_BODY_CHARACTERS], attachments


def synthetic_message_id(raw: bytes) -> str:
    """A stable Message-ID for an email without one, so it is still processed only once."""
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@memberdesk.invalid>"


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse one RFC 5322 message (bytes as fetched or read from an .eml file)."""
    message: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[assignment]
    defects = [type(d).__name__ for d in message.defects]
    ids = _message_ids(_header(message, "Message-ID"))
    message_id = ids[0] if ids else synthetic_message_id(raw)
    from_name, from_address = None, None
    for name, address in getaddresses([_header(message, "From")]):
        if "@" in address and " " not in address.strip():
            from_name, from_address = (name or None), address.strip()
            break
    if from_address is None:
        name, address = parseaddr(_header(message, "Reply-To"))
        if "@" in address:
            from_name, from_address = (name or None), address.strip()
    try:
        body, attachments = _body_and_attachments(message)
    except (ValueError, LookupError, TypeError, AttributeError) as exc:
        defects.append(f"unreadable body: {exc.__class__.__name__}")
        body, attachments = "", []
    in_reply_to = _message_ids(_header(message, "In-Reply-To"))
    return ParsedEmail(
        message_id=message_id,
        from_address=from_address,
        from_name=(from_name or "")[:200] or None,
        subject=_header(message, "Subject")[:300],
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=_message_ids(_header(message, "References"))[-50:],
        body_text=strip_quotes_and_signature(body),
        attachments=attachments[:MAX_ATTACHMENTS_RECORDED],
        attachments_not_listed=max(0, len(attachments) - MAX_ATTACHMENTS_RECORDED),
        automatic_reason=automatic_reason(message, from_address=from_address),
        defects=defects,
    )
