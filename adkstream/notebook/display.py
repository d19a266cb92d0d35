"""Redrawing a `RunView` in Jupyter: one display, updated at most every 100 ms.

`Throttle` is the pure core (fed the clock's readings); `LiveDisplay` is the shell
around an IPython display handle. A change inside the interval is drawn when the
interval ends (a timer on the event loop), and `close` always draws the final state.
IPython is imported only when a display is opened, and only where it is already loaded.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

from adkstream.notebook.render import render_html, render_text
from adkstream.notebook.view import RunView

__all__ = ["REDRAW_S", "DisplayHandle", "LiveDisplay", "Throttle", "in_notebook", "open_display"]

REDRAW_S = 0.1
"""The shortest time between two redraws of a run's display."""
_EPSILON_S = 1e-9


class DisplayHandle(Protocol):
    """What `IPython.display.display(..., display_id=True)` returns."""

    def update(self, obj: Any, **kwargs: Any) -> None: ...


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


CallLater = Callable[[float, Callable[[], None]], TimerHandle]
"""Schedules a callback after a delay in seconds (`loop.call_later`)."""


class Throttle:
    """Decides when to redraw: at most once per `interval` of the clock it is fed."""

    def __init__(self, interval: float = REDRAW_S) -> None:
        self.interval = interval
        self.last_draw: float | None = None
        self.pending = False

    def offer(self, now: float) -> bool:
        """Something changed at `now`: True to draw it now, False to draw it at `due`."""
        # The tolerance absorbs float error: a timer set for `due` fires exactly then.
        if self.last_draw is None or now - self.last_draw >= self.interval - _EPSILON_S:
            self.drawn(now)
            return True
        self.pending = True
        return False

    def drawn(self, now: float) -> None:
        self.last_draw = now
        self.pending = False

    @property
    def due(self) -> float | None:
        """When the pending change may be drawn; None when nothing is pending."""
        if not self.pending or self.last_draw is None:
            return None
        return self.last_draw + self.interval


class LiveDisplay:
    """Keeps one display output in step with a `RunView`.

    Args:
        view: the run drawn.
        handle: the display to update (`update({mime: data}, raw=True)`).
        clock: monotonic seconds.
        call_later: schedules the draw of a change made inside the interval; default:
            the running event loop's, if any (without one, the next change or `close`
            draws it).
        interval: the shortest time between two draws.
        shown: the handle shows the view already (that counts as a draw, now).
    """

    def __init__(
        self,
        view: RunView,
        handle: DisplayHandle,
        *,
        clock: Callable[[], float] = time.monotonic,
        call_later: CallLater | None = None,
        interval: float = REDRAW_S,
        shown: bool = False,
    ) -> None:
        self.view = view
        self.handle = handle
        self.draws = 0
        self._clock = clock
        self._call_later = call_later or _loop_call_later()
        self._throttle = Throttle(interval)
        self._timer: TimerHandle | None = None
        if shown:
            self._throttle.drawn(clock())

    def changed(self) -> None:
        """The view changed: draws it now, or schedules the draw for the interval's end."""
        now = self._clock()
        if self._throttle.offer(now):
            self._draw()
            return
        due = self._throttle.due
        if self._timer is None and self._call_later is not None and due is not None:
            self._timer = self._call_later(max(due - now, 0.0), self._on_timer)

    def close(self) -> None:
        """Draws the final state, however recent the last draw."""
        self._cancel_timer()
        self._throttle.drawn(self._clock())
        self._draw()

    def _on_timer(self) -> None:
        self._timer = None
        if self._throttle.pending:
            self.changed()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _draw(self) -> None:
        self.draws += 1
        self.handle.update(bundle(self.view), raw=True)


def bundle(view: RunView) -> dict[str, str]:
    """The view as a MIME bundle: HTML for Jupyter, plain text for everything else."""
    return {"text/html": render_html(view), "text/plain": render_text(view)}


def _loop_call_later() -> CallLater | None:
    import asyncio

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return loop.call_later


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (IPython with a kernel attached)."""
    if "IPython" not in sys.modules:  # a kernel has loaded it long before us
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def open_display(view: RunView) -> LiveDisplay:
    """Shows `view` in the current cell's output and returns its live display."""
    from IPython.display import display

    handle = display(bundle(view), raw=True, display_id=True)  # type: ignore[no-untyped-call]
    if handle is None:  # only without display_id
        raise RuntimeError("IPython returned no display handle")
    return LiveDisplay(view, handle, shown=True)
