"""The records API's layers, checked from the source: who may import whom.

Every module under api/ is parsed (imports inside functions count too) and each import of
another api module is an edge. A unit is the first path component under api/: a domain folder
(`api/cases/...` is `cases`) or a top-level module (`api/money.py` is `money`).

| layer        | units                                                   | may import           |
|--------------|---------------------------------------------------------|----------------------|
| shared       | config, errors, timekeeping, money, references,         | shared only          |
|              | validation, security, database, reads, deps, migrate    |                      |
| domains      | employers, members, audit, outbox, staff, identity,     | shared, domains      |
|              | ballots, payments, changes, subscriptions, cases,       |                      |
|              | conversations, reports, mail, imports                   |                      |
| orchestrators| membership, console, data_protection                    | shared, domains,     |
|              |                                                         | orchestrators        |
| entry points | main, serve, cli, models, seed, migrations              | anything             |

And everywhere: no cycle between units, no cycle between modules, and nothing imports the bot
side (actions, channels, bot, nlu_components, rasa, rasa_sdk): the two halves share only HTTP.
A new folder or top-level module fails here until it is given a layer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "api"

SHARED = frozenset({
    "config", "errors", "timekeeping", "money", "references", "validation", "security",
    "database", "reads", "deps", "migrate", "idempotency", "nul_guard", "caller_first",
})
DOMAINS = frozenset({
    "employers", "members", "audit", "outbox", "staff", "identity", "ballots", "payments",
    "changes", "subscriptions", "cases", "conversations", "reports", "mail", "imports",
})
ORCHESTRATORS = frozenset({"membership", "console", "data_protection"})
ENTRY_POINTS = frozenset({"main", "serve", "cli", "models", "seed", "migrations"})
BOT_SIDE = frozenset({"actions", "channels", "bot", "nlu_components", "rasa", "rasa_sdk"})


def module_name(path: Path) -> str:
    """`api/cases/service.py` -> `api.cases.service`; a package's __init__ is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def api_modules() -> dict[str, Path]:
    """Every module under api/, by dotted name."""
    return {module_name(path): path for path in sorted(API.rglob("*.py"))}


def imported_names(name: str, path: Path) -> set[str]:
    """Every dotted name the module at `path` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return names_in_source(path.read_text(encoding="utf-8"), package=package)


def names_in_source(source: str, *, package: str) -> set[str]:
    """Every dotted name `source` imports, anywhere in it, relative imports resolved."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            found.add(source)
            # `from api.cases import sla` imports the module api.cases.sla.
            found.update(f"{source}.{alias.name}" for alias in node.names)
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the api modules it imports (the deepest module each import names)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in imported_names(name, path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def unit(module: str) -> str:
    """The domain folder or top-level module a module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "api"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def unit_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The module graph folded onto units, without self-edges."""
    folded: dict[str, set[str]] = {}
    for module, targets in graph.items():
        folded.setdefault(unit(module), set()).update(
            unit(t) for t in targets if unit(t) != unit(module)
        )
    return folded


def offending(
    graph: dict[str, set[str]], importers: Iterable[str], banned: Iterable[str]
) -> list[str]:
    """`module -> import` lines where a module of `importers` imports a unit in `banned`."""
    importers, banned = set(importers), set(banned)
    return sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if unit(module) in importers
        for target in targets
        if unit(target) in banned
    )


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(api_modules())


def test_every_unit_has_a_layer(graph: dict[str, set[str]]) -> None:
    known = SHARED | DOMAINS | ORCHESTRATORS | ENTRY_POINTS | {"api"}
    assert sorted({unit(m) for m in graph} - known) == []


def test_nothing_imports_the_bot_side() -> None:
    modules = api_modules()
    bad = sorted(
        f"{name} -> {imported}"
        for name, path in modules.items()
        for imported in imported_names(name, path)
        if imported.split(".")[0] in BOT_SIDE
    )
    assert bad == []


def test_no_cycle_between_domain_folders(graph: dict[str, set[str]]) -> None:
    assert cycles(unit_graph(graph)) == []


def test_no_cycle_between_modules(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_shared_modules_import_no_domain(graph: dict[str, set[str]]) -> None:
    everything_else = DOMAINS | ORCHESTRATORS | ENTRY_POINTS
    assert offending(graph, SHARED, everything_else) == []


def test_domains_import_no_orchestrator_or_entry_point(graph: dict[str, set[str]]) -> None:
    assert offending(graph, DOMAINS, ORCHESTRATORS | ENTRY_POINTS) == []


def test_orchestrators_import_no_entry_point(graph: dict[str, set[str]]) -> None:
    assert offending(graph, ORCHESTRATORS, ENTRY_POINTS) == []


def test_the_checks_see_imports_inside_functions() -> None:
    # A check that missed deferred imports could not see the cycles they hide.
    source = "def later():\n    from ..membership import service\n    import api.console\n"
    found = names_in_source(source, package="api.cases")
    assert {"api.membership.service", "api.console"} <= found
