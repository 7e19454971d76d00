"""Keep tracebacks away from the user: a failing handler becomes a visible UI error."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from textual.actions import SkipAction

F = TypeVar("F", bound=Callable[..., Any])


class Reporter(Protocol):
    def report_ui_error(self, what: str, exc: BaseException) -> None: ...


def _reporter(owner: Any) -> Reporter | None:
    app = getattr(owner, "app", None)
    return app if hasattr(app, "report_ui_error") else None


def guarded(what: str) -> Callable[[F], F]:
    """Decorate a handler or action so an exception is reported on screen instead of raised."""

    def decorate(fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                try:
                    return await fn(self, *args, **kwargs)
                except SkipAction:
                    raise
                except Exception as exc:
                    reporter = _reporter(self)
                    if reporter is None:
                        raise
                    reporter.report_ui_error(what, exc)
                    return None

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(self, *args, **kwargs)
            except SkipAction:
                raise
            except Exception as exc:
                reporter = _reporter(self)
                if reporter is None:
                    raise
                reporter.report_ui_error(what, exc)
                return None

        return wrapper  # type: ignore[return-value]

    return decorate
