"""A broadcast of session events to any number of subscribers, none of which can miss one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from convai_tui.core.api.events import Event

_CLOSED = object()


class Subscription:
    """One subscriber's ordered stream of events; iterate it, close it when done."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self.closed = False

    def _put(self, item: object) -> None:
        self._queue.put_nowait(item)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            item = await self._queue.get()
            if item is _CLOSED:
                return
            assert isinstance(item, Event)
            yield item

    def get_nowait(self) -> Event | None:
        """The next event if one is waiting (tests and pollers); None otherwise."""
        try:
            item = self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None
        if item is _CLOSED:
            self._queue.put_nowait(_CLOSED)
            return None
        assert isinstance(item, Event)
        return item

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus._remove(self)
            self._put(_CLOSED)


class EventBus:
    """Fan-out of events. Queues are unbounded on purpose: a slow UI must not lose an error."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self.published = 0

    def subscribe(self) -> Subscription:
        sub = Subscription(self)
        self._subscriptions.append(sub)
        return sub

    def publish(self, event: Event) -> None:
        self.published += 1
        for sub in tuple(self._subscriptions):
            sub._put(event)

    def close(self) -> None:
        for sub in tuple(self._subscriptions):
            sub.close()

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subscriptions:
            self._subscriptions.remove(sub)
