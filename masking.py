"""Masking of personal numbers in text that travels or is shown (logs, the event feed,
`rules explain`/`replay`): ID, card, account and phone numbers are runs of digits, so every
run of six or more (an ID number's trailing X included) keeps only its last four characters.

Layer 0 beside errors.py: rules/, messaging/, store/ and the service all mask, and none of
them may import another (pyproject.toml, the layers contract)."""

from __future__ import annotations

import logging
import re
from typing import Any

# not inside a word, a hex digest or a decimal number (timestamps, hashes stay readable)
_NUMBER = re.compile(r"(?<![\w.])\d[\d -]{4,}\d[Xx]?(?![\w.])")


def _hide(m: re.Match[str]) -> str:
    text = m.group(0)
    digits = sum(c.isdigit() for c in text)
    if digits < 6:
        return text
    return "*" * (len(text) - 4) + text[-4:]


def mask_text(text: str) -> str:
    return _NUMBER.sub(_hide, text)


def mask_value(value: Any) -> Any:
    """Strings masked; lists and dicts walked; anything else as it is."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value


class MaskingFilter(logging.Filter):
    """On a handler: every record's message leaves with its personal numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


def mask_logs(logger: logging.Logger | None = None) -> None:
    """Every handler of `logger` (default: the root) masks what it writes."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())


FREE_TEXTS = ("reason_text", "reason", "note")


def feed_view(event: dict[str, Any]) -> dict[str, Any]:
    """A case event as the feed carries it to other systems: the customer id masked, free
    texts (which may name a person) withheld, any other personal number masked."""
    out = dict(event)
    if out.get("customer_id"):
        out["customer_id"] = _mask_all(str(out["customer_id"]))
    data = dict(out.get("data") or {})
    for name in FREE_TEXTS:
        if data.get(name):
            data[name] = f"(withheld, {len(str(data[name]))} characters)"
    out["data"] = data
    return {k: mask_value(v) for k, v in out.items()}


def _mask_all(text: str) -> str:
    """Only the last four characters shown, whatever the text."""
    return "****" if len(text) <= 4 else "*" * (len(text) - 4) + text[-4:]
