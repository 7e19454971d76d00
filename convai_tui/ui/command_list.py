"""A command-palette provider over commands computed each time the palette opens.

Textual's ``SimpleProvider`` takes one fixed list when it is built; ours must follow the
session's state (what applies now), so subclasses compute the list on every discover/search.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider

Command = tuple[str, Callable[[], object], str]
"""Name shown in the palette, what it runs, its help line."""


class CommandListProvider(Provider):
    """Lists ``_commands()`` when the palette opens and fuzzy-matches them as the user types."""

    def _commands(self) -> list[Command]:
        return []

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
