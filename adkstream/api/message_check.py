"""The one check of a user message's size, shared by the native and protocol routes.

A message is empty when it has no part other than text and its text is blank; it is too
long when its text passes `max_message_chars`. Both are 422 before anything starts, with
the same words on every route (only the field differs: `message` natively, `messages` on
the protocols whose bodies carry a list).
"""

from __future__ import annotations

from google.genai import types

from adkstream.errors import RequestError


def check_message(message: types.Content, *, limit: int, field: str = "message") -> None:
    """Refuses an empty message or one over `limit` characters of text.

    Raises:
        RequestError: 422, `invalid_field` (`<field>: the message is empty`) or
            `message_too_long`.
    """
    parts = message.parts or []
    texts = [part.text for part in parts if part.text is not None]
    if len(texts) == len(parts) and not "".join(texts).strip():
        raise RequestError(
            f"{field}: the message is empty", code="invalid_field", field=field, status=422
        )
    if sum(len(text) for text in texts) > limit:
        raise RequestError(
            f"the message is over the limit of {limit} characters",
            code="message_too_long",
            field=field,
            status=422,
        )
