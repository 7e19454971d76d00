"""A private asyncio event loop on its own thread, for the character's audio stream.

``rtc.AudioStream`` delivers each 10 ms frame with a ``call_soon_threadsafe`` into the loop it
was created for. Creating it for this loop instead of the application's keeps those hundred
wake-ups a second (and the jitter push and echo-reference work that follows each one) off the
loop that runs the UI and the session, which then only samples meters and counters.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .thread_names import name_this_thread

T = TypeVar("T")

THREAD_NAME = "convai-audio"


class AudioLoopThread:
    """``start()``, then ``submit(coro)`` from any thread; ``stop()`` ends the loop and joins."""

    def __init__(self, name: str = THREAD_NAME) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            name_this_thread(self.name)
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        ready.wait()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the audio loop; the returned future resolves with its result."""
        if self._loop is None or not self.running:
            coro.close()
            raise RuntimeError("the audio thread is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` run on the audio loop, from another loop."""
        return await asyncio.wrap_future(self.submit(coro))

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel what still runs there, stop the loop and join the thread; safe to call twice."""
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None or not thread.is_alive():
            return

        async def shutdown() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            asyncio.get_running_loop().stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        thread.join(timeout)
