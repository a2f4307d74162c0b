"""Dependencies between thawnet's packages (issue #11): measured from the source with ``ast``.

The target is an order where every package imports only the ones below it and no function
hides an import of thawnet. Until the remaining debt is paid, these tests are a ratchet: a
*new* cycle between packages, or more function-local imports than today, fails; the known
ones are listed here so that each fix shrinks the list.
"""

from __future__ import annotations

import ast
import pathlib

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "thawnet"

# Cycles between top-level packages that exist today (issue #11 is open for them).
KNOWN_CYCLES = {
    frozenset({"callbacks", "io", "models", "training", "utils"}),
}
# Function-local imports of thawnet modules today (some keep thawnet.callbacks lazy).
MAX_LOCAL_IMPORTS = 62


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "thawnet"


def _imports(path: pathlib.Path, module: str):
    """``(imported thawnet module, is function-local)`` for each import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    local_nodes = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef,
                                                                   ast.AsyncFunctionDef))
                   for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "thawnet" else [
                f"thawnet.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("thawnet."):
                yield name, id(node) in local_nodes


def _is_unit(name: str) -> bool:
    """A package (``layers/``) or a top-level module (``variables.py``)."""
    return (SRC / name).is_dir() or (SRC / f"{name}.py").is_file()


def _graph():
    edges, local = {}, []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        src = _package(module)
        for name, is_local in _imports(path, module):
            dst = _package(name)
            if is_local:
                local.append((str(path.relative_to(SRC)), name))
            if dst != src and _is_unit(dst) and _is_unit(src):
                edges.setdefault(src, set()).add(dst)
    return edges, local


def _cycles(edges):
    """Strongly connected components with more than one package (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(frozenset(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def test_no_new_cycle_between_packages():
    edges, _ = _graph()
    cycles = _cycles(edges)
    new = [sorted(c) for c in cycles if not any(c <= known for known in KNOWN_CYCLES)]
    assert not new, (f"new import cycle(s) between packages: {new}. Move the shared piece "
                     "down (or the dependent one up) instead of importing both ways.")


def test_the_core_packages_import_nothing_above_them():
    edges, _ = _graph()
    below = {"backend": set(), "variables": {"backend", "initializers"},
             "ops": {"backend", "variables"},
             "layers": {"activations", "backend", "constraints", "initializers", "ops",
                        "regularizers", "variables"}}
    for package, allowed_packages in below.items():
        above = edges.get(package, set()) - allowed_packages
        assert not above, f"{package} imports {sorted(above)}, which sit above it"


def test_function_local_imports_do_not_grow():
    _, local = _graph()
    assert len(local) <= MAX_LOCAL_IMPORTS, (
        f"{len(local)} function-local imports of thawnet modules (at most "
        f"{MAX_LOCAL_IMPORTS}); import at the top, or fix the boundary that needs it. "
        f"Newest: {local[-3:]}")
