"""The architecture's figures, measured on the source (AST): `python -m tests.architecture` prints them.

- whole-config indexing: `x["train"]`, `x.get("model")`... where the key is a config group name and x is
  a config-like name (config, cfg, run, ...); the typed slices replaced these outside tide/config;
- functions reading three or more config groups that way;
- imports of tide.bench from the library below it, and import cycles between tide's modules (every
  import, module-level or inside a function, counts);
- functions over 60 lines and classes over 200 lines.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GROUPS = {"data", "model", "train", "deepspeed", "generate", "eval", "cluster", "logger", "prompt", "run",
          "pipeline", "report", "paths", "runtime", "seed"}
CONFIG_NAMES = {"config", "cfg", "conf", "full_config", "composed", "run", "trial_config", "base"}
BELOW_BENCH = ("core", "config", "data", "models", "train", "generate", "evaluate", "sweep", "stages", "track",
               "report")
MAX_FUNCTION_LINES, MAX_CLASS_LINES = 60, 200


def modules(root: Path = ROOT) -> dict[str, ast.Module]:
    found = {}
    for path in sorted((root / "tide").rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        found[name] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return found


def _group_key(node) -> str | None:
    """The group name a node indexes a config-like object by, or None."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        receiver, key = node.value, node.slice.value
    elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
          and node.args and isinstance(node.args[0], ast.Constant)):
        receiver, key = node.func.value, node.args[0].value
    else:
        return None
    name = receiver.id if isinstance(receiver, ast.Name) else receiver.attr if isinstance(receiver, ast.Attribute) else None
    return key if key in GROUPS and name in CONFIG_NAMES else None


def config_indexing(trees) -> list[tuple[str, int]]:
    return [(module, node.lineno) for module, tree in trees.items() for node in ast.walk(tree) if _group_key(node)]


def functions_reading_three_groups(trees) -> list[str]:
    found = []
    for module, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                groups = {_group_key(sub) for sub in ast.walk(node)} - {None}
                if len(groups) >= 3:
                    found.append(f"{module}.{node.name}")
    return found


def imports(trees) -> dict[str, set[str]]:
    """module -> the tide modules it imports (anywhere in it)."""
    graph = defaultdict(set)
    for module, tree in trees.items():
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for name in names:
                while name and name not in trees:
                    name = name.rpartition(".")[0]
                if name and name != module and name.startswith("tide"):
                    graph[module].add(name)
    return graph


def bench_imports_from_below(graph) -> list[str]:
    return sorted(f"{module} -> {target}" for module, targets in graph.items() for target in targets
                  if target.startswith("tide.bench") and module.split(".")[1] in BELOW_BENCH)


def cycles(graph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan); package __init__ re-exports excluded."""
    graph = {module: {t for t in targets if not _is_parent_package(t, module)} for module, targets in graph.items()}
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for module in list(graph):
        if module not in index:
            visit(module)
    return found


def _is_parent_package(target: str, module: str) -> bool:
    return module.startswith(target + ".")


def long_definitions(trees) -> tuple[list[str], list[str]]:
    functions, classes = [], []
    for module, tree in trees.items():
        for node in ast.walk(tree):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1 if hasattr(node, "lineno") else 0
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and lines > MAX_FUNCTION_LINES:
                functions.append(f"{module}.{node.name} ({lines})")
            elif isinstance(node, ast.ClassDef) and lines > MAX_CLASS_LINES:
                classes.append(f"{module}.{node.name} ({lines})")
    return functions, classes


def figures(root: Path = ROOT) -> dict:
    trees = modules(root)
    graph = imports(trees)
    functions, classes = long_definitions(trees)
    indexing = config_indexing(trees)
    return {"config_indexing": len(indexing), "config_indexing_outside_tide_config":
            [f"{m}:{line}" for m, line in indexing if not m.startswith("tide.config")],
            "functions_reading_3_groups": functions_reading_three_groups(trees),
            "bench_imports_from_below": bench_imports_from_below(graph), "import_cycles": cycles(graph),
            "functions_over_60_lines": functions, "classes_over_200_lines": classes}


if __name__ == "__main__":  # python -m tests.architecture [ROOT of another checkout]
    for key, value in figures(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT).items():
        count = value if isinstance(value, int) else len(value)
        print(f"{key}: {count}")
        for item in [] if isinstance(value, int) else value:
            print(f"    {item}")


LAYERS = (  # bottom to top: each may import those below it
    ("bottom", ("core", "config")),
    ("domain", ("data", "models")),
    ("work", ("train", "generate", "evaluate", "track")),
    ("stages", ("stages",)),
    ("across runs", ("sweep", "report", "study")),
    ("top", ("bench",)),
)


def package_edges(root: Path = ROOT) -> set[tuple[str, str]]:
    """(importer, imported) between tide's packages, from every import in the source."""
    edges = set()
    for module, targets in imports(modules(root)).items():
        for target in targets:
            a, b = module.split(".")[1], target.split(".")[1]
            if a != b:
                edges.add((a, b))
    return edges


def mermaid(root: Path = ROOT) -> str:
    """The package graph as a Mermaid flowchart, layer by layer (docs/architecture.md holds this text)."""
    lines = ["```mermaid", "flowchart BT"]
    for layer, packages in LAYERS:
        lines.append(f'  subgraph {layer.replace(" ", "_")}_layer["{layer}"]')
        lines += [f"    {package}[tide.{package}]" for package in packages]
        lines.append("  end")
    lines += [f"  {a} --> {b}" for a, b in sorted(package_edges(root))]
    lines.append("```")
    return "\n".join(lines)


def upward_edges(root: Path = ROOT) -> list[tuple[str, str]]:
    """Imports that point up the layers (or sideways into a package of the same layer that is not allowed)."""
    level = {package: index for index, (_, packages) in enumerate(LAYERS) for package in packages}
    return sorted((a, b) for a, b in package_edges(root) if a in level and b in level and level[b] > level[a])
