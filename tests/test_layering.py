"""The package's layering contract, read from the source (every import counts: top-level, deferred inside a
function, and type-only under `if TYPE_CHECKING:`).

Data flows up: base → scan → layouts → index, fshealth, webui → logs → ledger → collectors → web → config →
check, app → runtime → cli. A module imports only from its own package or from a lower layer, no two modules
import each other (directly or round about), and at most six modules stay loose at the top. Each class keeps
its state (no module reads another object's private attributes) and no function is longer than 60 lines.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from helpers import REPO_ROOT

PACKAGE = "modelcache_exporter"
LAYERS = (
    ("base", "memory"),
    ("scan",),
    ("layouts",),
    ("index", "fshealth", "webui"),
    ("logs",),
    ("ledger", "integrity"),
    ("access",),
    ("collectors",),
    ("web",),
    ("config",),
    ("check", "app"),
    ("runtime",),
    ("cli", "__main__"),
)
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def modules() -> dict[str, Path]:
    """Dotted module name -> file."""
    out = {}
    for path in sorted((REPO_ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The package modules `name` imports (`from pkg import mod` names the module)."""
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                target = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found = sub if sub in known else target
                if found in known and found != name:
                    yield found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: set(imports(name, path, known)) for name, path in known.items()}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_every_package_has_a_layer() -> None:
    assert {layer(m) for m in modules() if m != PACKAGE} <= set(RANK)


def test_nothing_imports_upward() -> None:
    upward = defaultdict(list)
    for module, targets in graph().items():
        if module == PACKAGE:
            continue
        for target in targets:
            if target != PACKAGE and RANK[layer(target)] > RANK[layer(module)]:
                upward[module].append(target)
    assert dict(upward) == {}


def test_at_most_six_loose_modules_at_the_top() -> None:
    loose = [m for m, p in modules().items() if m.count(".") == 1 and p.name != "__init__.py"]
    assert len(loose) <= 6, loose


def private_reads(tree: ast.AST) -> list[int]:
    """Lines reading `x._name` where x is not self/cls (dunder names excluded)."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]


def test_classes_keep_their_state() -> None:
    reads = {m: private_reads(ast.parse(p.read_text())) for m, p in modules().items()}
    assert {m: lines for m, lines in reads.items() if lines} == {}


def test_no_function_over_60_lines() -> None:
    long = []
    for module, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            is_function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            if is_function and node.end_lineno and node.end_lineno - node.lineno + 1 > 60:
                long.append(f"{module}.{node.name}")
    assert long == []


def test_the_contract_sees_a_cycle_and_an_upward_import() -> None:
    """The checks can fail: a made-up cycle and a made-up upward import are found."""
    g = {"a.scan.x": {"a.scan.y"}, "a.scan.y": {"a.scan.x"}, "a.ledger.z": set()}
    assert cycles(g) == [["a.scan.x", "a.scan.y"]]
    assert RANK[layer("a.app")] > RANK[layer("a.scan.x")]
    assert private_reads(ast.parse("def f(o):\n    return o._state, self._mine, o.__class__")) == [2]
