"""The layers of the tree (docs/ARCHITECTURE.md): the protocol core in ``noots/`` imports
nothing above it, and its modules import each other without a cycle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from noots.paths import PROJECT_ROOT

#: The landscape layer and the tools on top of the core, inside ``noots/``: orchestration
#: (starting, provisioning, deploying and serving the components), the CLI, the conformance
#: suites and the test helpers. Everything else in ``noots/`` but the components is the core.
LANDSCAPE = (
    "noots.__main__",
    "noots.bootstrap",
    "noots.cli",
    "noots.compose",
    "noots.conformance",
    "noots.containers",
    "noots.deployment",
    "noots.healthcheck",
    "noots.k8s",
    "noots.landscape",
    "noots.provision",
    "noots.readme",
    "noots.supervisor",
    "noots.testing",
)
#: The three packages of components built on the core.
COMPONENTS = ("noots.registers", "noots.intermediary", "noots.consumers")


def _module(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _core() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted((PROJECT_ROOT / "noots").rglob("*.py")):
        module = _module(path)
        if not _within(module, LANDSCAPE) and not _within(module, COMPONENTS):
            yield module, ast.parse(path.read_text(encoding="utf-8"))


def _imports(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """Every absolute import in ``tree``, also those inside functions."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
            # `from noots import x` names the submodule x.
            yield from ((f"{node.module}.{a.name}", node.lineno) for a in node.names)


def _module_level_imports(tree: ast.Module) -> Iterator[str]:
    """The imports run when the module is imported (not those in functions, nor the ones
    under ``if TYPE_CHECKING:``)."""
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for name, _line in _imports(node):
            yield name
        if isinstance(node, ast.Try):
            for inner in node.body:
                yield from (name for name, _line in _imports(inner))


def test_the_core_imports_nothing_above_it() -> None:
    """No core module imports noots.registers, noots.intermediary, noots.consumers or the
    landscape layer, not even inside a function."""
    upward = [
        f"{module}:{line} imports {name}"
        for module, tree in _core()
        for name, line in _imports(tree)
        if _within(name, COMPONENTS) or _within(name, LANDSCAPE)
    ]
    assert upward == []


def test_the_core_has_no_import_cycle() -> None:
    """The core's modules import each other (when imported) without a cycle."""
    modules = dict(_core())
    graph = {
        module: sorted({name for name in _module_level_imports(tree) if name in modules} - {module})
        for module, tree in modules.items()
    }
    # A package imports its own submodules to re-export them; that is no cycle of layers.
    for module, targets in graph.items():
        graph[module] = [t for t in targets if not t.startswith(module + ".")]
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in graph[module]:
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_layer_lists_name_existing_modules() -> None:
    """Every name in LANDSCAPE and COMPONENTS is a module or package of noots/ (a renamed one
    fails here)."""
    existing = {_module(p) for p in (PROJECT_ROOT / "noots").rglob("*.py")}
    assert [name for name in (*LANDSCAPE, *COMPONENTS) if name not in existing] == []
