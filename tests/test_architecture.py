"""The dependency direction of ARCHITECTURE.md, checked statically over ``src/lanterna``.

Every ``import`` of a lanterna module (at module level or inside a function; imports under
``if TYPE_CHECKING:`` only name types and are left out) must follow the layer table below, and
the modules imported while a module loads must not form a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "lanterna"

#: Layer -> the layers it may import (besides itself and the shared leaves).
LAYERS: dict[str, set[str]] = {
    "entities": set(),
    "tracing": {"entities"},
    "store": {"entities"},
    "export": {"entities", "store", "otel"},
    "otel": {"tracing", "entities", "store"},
    "integrations": {"public", "entities"},
    "server": {"store", "entities", "otel"},
    "testing": {"*"},
    "cli": {"*"},
    # The public surface: ``lanterna`` itself, the functions of ``lanterna.tracing``, the
    # client and the glue that wires the tracing runtime to the export pipeline.
    "public": {"entities", "tracing", "export", "store", "otel"},
}
#: Small modules every layer may use: logging, internal-error reporting, exceptions, settings,
#: the signal mask of background threads.
LEAVES = {"lanterna._log", "lanterna._errors", "lanterna.exceptions", "lanterna.settings",
          "lanterna._threads"}
#: Modules of the public surface (by dotted name); everything else belongs to its package.
PUBLIC = {
    "lanterna", "lanterna._traces", "lanterna._wiring", "lanterna._lifecycle",
    "lanterna._store_fluent",
    "lanterna.client", "lanterna.tracing",
}
#: Modules that belong to another layer than their folder says: ``python -m lanterna`` runs the
#: command line; ``lanterna.openai`` is the short name of the OpenAI integration.
ENTRY_POINTS = {"lanterna.__main__": "cli", "lanterna.openai": "integrations"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def layer_of(module: str) -> str:
    if module in ENTRY_POINTS:
        return ENTRY_POINTS[module]
    if module in PUBLIC:
        return "public"
    if module in LEAVES:
        return "leaf"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "public"


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(module: str, tree: ast.AST, *, load_time_only: bool) -> Iterator[tuple[str, int]]:
    """(imported lanterna module, line) for each import in ``tree``."""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]

    def walk(node: ast.AST) -> Iterator[tuple[str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                yield from (x for n in child.orelse for x in walk_one(n))
                continue
            if load_time_only and isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            ):
                continue
            yield from walk_one(child)

    def walk_one(node: ast.AST) -> Iterator[tuple[str, int]]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                name = f"{base}.{alias.name}"
                yield (name if name in MODULES else base), node.lineno
        else:
            yield from walk(node)

    for name, line in walk(tree):
        if name == "lanterna" or name.startswith("lanterna."):
            while name not in MODULES:
                name = name.rpartition(".")[0]
            yield name, line


def _graph(load_time_only: bool) -> dict[str, list[tuple[str, int]]]:
    return {
        module: [
            (target, line)
            for target, line in _imports(module, ast.parse(path.read_text()),
                                         load_time_only=load_time_only)
            if target != module
        ]
        for module, path in MODULES.items()
    }


def test_every_package_has_a_layer() -> None:
    unknown = {layer_of(m) for m in MODULES} - set(LAYERS) - {"leaf"}
    assert not unknown, f"add these packages to LAYERS in {__file__}: {sorted(unknown)}"


def test_imports_follow_the_dependency_direction() -> None:
    wrong = []
    for module, targets in _graph(load_time_only=False).items():
        source = layer_of(module)
        for target, line in targets:
            allowed = LAYERS.get(source, set()) | {source, "leaf"}
            if source == "leaf":
                allowed = {"leaf"}
            if "*" in allowed:
                continue
            if layer_of(target) not in allowed:
                wrong.append(f"{MODULES[module].relative_to(SRC.parent)}:{line} "
                             f"({source}) imports {target} ({layer_of(target)})")
    assert not wrong, "imports against ARCHITECTURE.md's direction:\n" + "\n".join(wrong)


def test_only_cli_imports_the_server() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in _graph(load_time_only=False).items()
        for target, _ in targets
        if layer_of(target) == "server" and layer_of(module) not in ("server", "cli")
    ]
    assert not wrong


def test_the_layer_table_has_no_cycle() -> None:
    _assert_acyclic({k: [(v, 0) for v in vs - {"*"}] for k, vs in LAYERS.items()})


def test_no_import_cycle_while_modules_load() -> None:
    _assert_acyclic(_graph(load_time_only=True))


def _assert_acyclic(graph: dict[str, list[tuple[str, int]]]) -> None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target, _ in graph.get(node, []):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if state.get(target) is None:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The checker itself: a store module importing the export package is caught."""
    tree = ast.parse("def f():\n    from lanterna.export import setup\n")
    found = list(_imports("lanterna.store.base", tree, load_time_only=False))
    assert found == [("lanterna.export.setup", 2)]
    assert layer_of("lanterna.export.setup") not in LAYERS["store"]
    assert list(_imports("lanterna.store.base", tree, load_time_only=True)) == []
