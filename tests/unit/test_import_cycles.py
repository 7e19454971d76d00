"""No import cycle among convai_tui's modules.

The graph is grimp's (the library import-linter uses), so it holds every import statement:
module level, inside functions and under TYPE_CHECKING. A cycle through a function-level or
type-only import is still two modules that cannot be understood or changed apart.
"""

from __future__ import annotations

import grimp
import pytest


def import_cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """The strongly connected groups of more than one module of `package` (Tarjan), each
    sorted; a module that imports itself counts too."""
    modules = sorted(m for m in graph.modules if m == package or m.startswith(package + "."))
    inside = set(modules)
    edges = {m: sorted(inside & graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    for root in modules:
        if root in index:
            continue
        # Iterative depth-first search: (module, position in its edge list).
        work = [(root, 0)]
        while work:
            module, position = work.pop()
            if position == 0:
                index[module] = lowlink[module] = len(index)
                stack.append(module)
                on_stack.add(module)
            targets = edges[module]
            if position < len(targets):
                work.append((module, position + 1))
                target = targets[position]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    lowlink[module] = min(lowlink[module], index[target])
                continue
            if lowlink[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1 or module in edges[module]:
                    cycles.append(sorted(group))
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[module])
    return cycles


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("convai_tui")


def test_no_import_cycle_among_convai_tui_modules(graph: grimp.ImportGraph) -> None:
    assert import_cycles(graph, "convai_tui") == []


def test_the_cycle_finder_finds_a_cycle_through_three_modules() -> None:
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.app", "pkg.commands", "pkg.help", "pkg.model"):
        graph.add_module(name)
    for importer, imported in [
        ("pkg.app", "pkg.commands"),
        ("pkg.commands", "pkg.help"),
        ("pkg.help", "pkg.app"),
        ("pkg.app", "pkg.model"),
        ("pkg.help", "pkg.model"),
    ]:
        graph.add_import(importer=importer, imported=imported)
    assert import_cycles(graph, "pkg") == [["pkg.app", "pkg.commands", "pkg.help"]]
    graph.remove_import(importer="pkg.help", imported="pkg.app")
    assert import_cycles(graph, "pkg") == []
