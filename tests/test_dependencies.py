"""Dependencies between thawnet's packages (issue #11): measured from the source with ``ast``.

Every package (or top-level module) imports only the ones below it in :data:`ORDER`, so the
graph has no cycles, and no function hides an import of thawnet except the deliberate lazy ones
in :data:`LAZY_IMPORTS`, each with its reason. README's "Layout" section draws the same order.
"""

from __future__ import annotations

import ast
import pathlib

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "thawnet"

# Bottom to top: each unit may import only units listed before it. Where a lower unit needs a
# higher one at run time it gets it through an explicit hook, never an import: io reaches
# Model/Sequential through the class registry (io/model_classes.py), callbacks and io reach
# the model through the object they are handed.
ORDER = [
    "version", "backend", "initializers", "variables", "activations", "constraints",
    "regularizers", "dtype_policies", "ops", "layers", "random", "config", "losses", "metrics",
    "optimizers", "mixed_precision", "trainability", "io", "utils", "callbacks", "training",
    "models", "saving", "examples", "demo", "applications", "tuning", "distribute", "cli",
]
# The only function-local imports of thawnet modules: (file, module) -> why it is lazy.
LAZY_IMPORTS = {
    ("training/trainer.py", "thawnet.callbacks"):
        "thawnet.callbacks loads on first use (`import thawnet` stays light, test_namespace)",
    ("training/prediction.py", "thawnet.callbacks"): "the same: callbacks load on first use",
    ("training/step_blocks.py", "thawnet.callbacks"): "the same: callbacks load on first use",
    ("cli.py", "thawnet.tuning"): "thawnet.tuning needs Optuna, an optional dependency",
}
# No cycles between top-level packages are left (issue #11); the ratchet stays at zero.
KNOWN_CYCLES: set = set()
# Function-local imports of thawnet modules (fit and evaluate each import the callbacks).
MAX_LOCAL_IMPORTS = 5


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


def test_every_import_goes_down_the_one_order():
    edges, _ = _graph()
    units = {p.stem for p in SRC.iterdir()
             if (p.is_dir() and (p / "__init__.py").is_file())
             or (p.suffix == ".py" and p.name != "__init__.py")}
    unplaced = sorted(units - set(ORDER))
    assert not unplaced, (f"{unplaced} are not in ORDER: place each new package or module at "
                          "the height its imports allow (above everything it imports).")
    rank = {name: i for i, name in enumerate(ORDER)}
    upward = sorted(f"{src} -> {dst}" for src, dsts in edges.items() for dst in dsts
                    if rank[dst] >= rank[src])
    assert not upward, (f"imports that go up the package order: {upward}. Move the shared "
                        "piece below both, or let the higher package install a hook.")


def test_function_local_imports_are_the_deliberate_lazy_ones():
    _, local = _graph()
    unexpected = sorted({pair for pair in local if pair not in LAZY_IMPORTS})
    assert not unexpected, (f"function-local imports of thawnet modules: {unexpected}. Import "
                            "at the top; if a cycle forbids it, the boundary is in the wrong "
                            "place. A deliberate lazy import goes in LAZY_IMPORTS with a reason.")
    assert len(local) <= 10
