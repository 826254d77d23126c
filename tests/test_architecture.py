"""The layering that the import contract states (pyproject.toml, run by `lint-imports` in
`make lint`), and what that contract cannot see by itself: a module outside every layer, and a
cycle between modules of one layer."""

import re
import tomllib
from functools import cache
from pathlib import Path

import grimp

from core import eventlog
from readmodels.models import DomainEvent

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
PACKAGES = CONFIG["root_packages"]


@cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES)


def layered_modules() -> set[str]:
    (layers,) = [c["layers"] for c in CONFIG["contracts"] if c["type"] == "layers"]
    return {name.strip() for layer in layers for name in re.split(r"[|:]", layer)}


def cycles(nodes, imported_by) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in imported_by(node):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return found


def test_every_module_is_in_a_layer():
    layered = layered_modules()
    outside = [
        module
        for module in graph().modules
        if module not in PACKAGES
        and not any(module == name or module.startswith(f"{name}.") for name in layered)
    ]
    assert outside == []


def test_no_module_imports_itself_back():
    modules = graph().modules
    assert cycles(modules, lambda m: sorted(graph().find_modules_directly_imported_by(m))) == []


def test_the_cycle_check_finds_a_cycle():
    edges = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}
    assert cycles(edges, edges.__getitem__) == [["a", "b", "c"]]


def test_the_kernel_appends_to_the_table_the_read_side_migrates():
    # core names the log's table without importing the read side's model.
    assert DomainEvent._meta.db_table == eventlog.EVENT_TABLE
