"""How the notebook display and `adkstream run` put things in words: why a model stopped,
how long it thought, file sizes and token counts (the chat page says them alike)."""

from __future__ import annotations

from adkstream.events import FILTER_FREE_REASONS, Usage

__all__ = [
    "base64_size",
    "file_size",
    "run_stop_notice",
    "stop_notice",
    "thought_for",
    "usage_parts",
    "usage_text",
]

_STOP_REASONS = {
    "safety": "safety filter",
    "recitation": "recitation filter",
    "blocklist": "blocklist filter",
    "prohibited_content": "prohibited content filter",
    "spii": "personal information filter",
    "image_safety": "image safety filter",
    "language": "unsupported language",
    "malformed_function_call": "malformed function call",
    "other": "unspecified reason",
}


def stop_notice(reason: str | None) -> str:
    """What to say about a message's `finish_reason`: "" when the model ended it normally.

    >>> stop_notice("max_tokens")
    'The answer was cut at the token limit'
    >>> stop_notice("safety")
    'The model stopped: safety filter (safety)'
    """
    if not reason or reason == "stop":
        return ""
    if reason == "max_tokens":
        return "The answer was cut at the token limit"
    why = _STOP_REASONS.get(reason, reason.replace("_", " "))
    return f"The model stopped: {why} ({reason})"


def run_stop_notice(reason: str | None, *, noted: str | None = None) -> str:
    """What to say about `run.completed.finish_reason`: only a filter's reason is news,
    and not when the last message said it already (`noted`, that message's reason)."""
    if not reason or reason in FILTER_FREE_REASONS or reason == noted:
        return ""
    return stop_notice(reason)


def thought_for(started: float | None, ended: float | None) -> str:
    """ "Thought for 3 s", from the first `reasoning.delta` to `reasoning.completed`;
    "Thoughts" when it came whole (no delta, no time to tell)."""
    if started is None or ended is None:
        return "Thoughts"
    seconds = max(0.0, ended - started)
    if seconds < 1:
        return "Thought for <1 s"
    if seconds < 60:
        return f"Thought for {round(seconds)} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"Thought for {minutes} min {rest} s"


def file_size(size: int) -> str:
    """12 bytes, 4.1 KB, 2.3 MB."""
    if size < 1024:
        return f"{size} byte" if size == 1 else f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def base64_size(data: str) -> int:
    """How many bytes base64 `data` holds (without decoding it)."""
    return len(data) * 3 // 4 - data[-2:].count("=")


def usage_parts(usage: Usage) -> list[str]:
    """The parts of a run's tokens worth knowing: ["5 thinking", "2 cached"] (none if 0)."""
    counts = ((usage.thought_tokens, "thinking"), (usage.cached_tokens, "cached"))
    return [f"{count} {what}" for count, what in counts if count]


def usage_text(usage: Usage | None) -> str:
    """ "12 tokens (5 thinking, 2 cached)": the total, and the parts worth knowing."""
    if usage is None:
        return "0 tokens"
    parts = usage_parts(usage)
    extra = f" ({', '.join(parts)})" if parts else ""
    return f"{usage.total_tokens} tokens{extra}"
