"""The package's imports point one way, down the data flow, with no cycle.

Every `import` and `from ... import` of every module is read from its source -- those inside
functions too, so an import cannot hide in a function to dodge a cycle.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tfgan_app"

# The layers of the data flow, bottom first; a module may import its own layer or lower ones.
LAYERS = ["config", "cli", "data", "nets", "games", "metrics", "training", "export", "evaluate"]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set) -> set:
    """The tfgan_app modules `path` imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # `from PKG import MODULE` imports that module; `from MODULE import NAME`, the module
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in known and t != name}
    return found


def layer(name: str) -> int:
    top = name.split(".")[1] if "." in name else ""
    return LAYERS.index(top) if top in LAYERS else -1


def graph() -> dict:
    mods = modules()
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def test_every_module_has_a_layer():
    assert [m for m in modules() if m != "tfgan_app" and layer(m) < 0] == []


def test_imports_point_down_the_data_flow():
    upward = [f"{m} ({LAYERS[layer(m)]}) imports {t} ({LAYERS[layer(t)]})"
              for m, targets in graph().items() if m != "tfgan_app"
              for t in targets if layer(t) > layer(m)]
    assert upward == []


def find_cycle(edges: dict):
    """A list of modules forming a cycle, or None (depth-first search)."""
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if state.get(t) == "open":
                return stack[stack.index(t):] + [t]
            if t not in state:
                found = visit(t)
                if found:
                    return found
        stack.pop()
        state[m] = "done"
        return None

    for m in sorted(edges):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_no_import_cycle():
    assert find_cycle(graph()) is None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("source, expected", [
    ("def f():\n    from tfgan_app.training import train\n", {"tfgan_app.training.train"}),
    ("from tfgan_app import games\n", {"tfgan_app.games"}),
    ("from . import losses\n", {"tfgan_app.games.losses"}),
])
def test_imports_inside_functions_and_relative_ones_are_seen(tmp_path, source, expected):
    path = tmp_path / "probe.py"
    path.write_text(source)
    known = {"tfgan_app.training.train", "tfgan_app.games", "tfgan_app.games.losses"}
    assert imports_of("tfgan_app.games.probe", path, known) == expected
