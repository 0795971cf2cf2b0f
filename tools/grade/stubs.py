"""A copy of rnnlab for the sandbox in which the graded reference functions do not exist.

The functions are named per assignment (`AssignmentSpec.hidden`, e.g. "layers.rnn_forward").
Each module of the copy is rewritten from its syntax tree: a hidden function keeps its name and
signature but its body becomes one `raise`, and so does every private helper (`_name`) that only
hidden functions use. Everything else (data, gradcheck, the allowed layers) stays as it is. The
copy holds no other trace of the hidden code (no comments, no docstrings of hidden functions, no
bytecode cache of the original), so aliases, getattr, importlib, exec of a string and reading the
package's source all find the stub. Because it works on names, not line numbers, it survives a
rewrite of layers.py that keeps the public names.
"""

from __future__ import annotations

import ast
import compileall
import shutil
from collections.abc import Iterable
from pathlib import Path

MESSAGE = ("rnnlab.{module}.{name} is part of the reference solution of this assignment and is "
           "not available while grading: write it yourself")


def _referenced_names(node: ast.AST) -> set[str]:
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            names.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            names.add(sub.attr)
    return names


def _reachable(roots: Iterable[str], edges: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [n for n in edges.get(name, ()) if n in edges]
    return seen


def hide_in_module(source: str, module: str, hidden: set[str]) -> tuple[str, set[str]]:
    """`source` with the functions `hidden` (and helpers only they use) replaced by stubs.

    Returns the new source and the names that were stubbed.
    """
    tree = ast.parse(source)
    defs = {n.name: n for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    edges = {name: _referenced_names(node) for name, node in defs.items()}
    roots_kept = {name for name in defs if name not in hidden and not name.startswith("_")}
    module_level = set()
    for node in tree.body:
        if node not in defs.values():
            module_level |= _referenced_names(node)
    kept = _reachable(roots_kept | (module_level & set(defs)), edges)
    used_by_hidden = _reachable(hidden & set(defs), edges)
    stubbed = (hidden & set(defs)) | {n for n in used_by_hidden - kept if n.startswith("_")}
    for name in stubbed:
        node = defs[name]
        message = MESSAGE.format(module=module, name=name)
        stub = ast.parse(f"raise NotImplementedError({message!r})").body
        if isinstance(node, ast.ClassDef):
            node.body = [ast.parse(f"def __init__(self, *args, **kwargs):\n    "
                                   f"raise NotImplementedError({message!r})").body[0]]
            node.bases, node.keywords, node.decorator_list = [], [], []
        else:
            node.body = stub
            node.decorator_list = []
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n", stubbed


def build(real_package: Path, hidden: Iterable[str], dest: Path) -> Path:
    """Write the stubbed copy of the package at `real_package` to dest/<package name>.

    hidden: "module.function" names, e.g. "layers.rnn_forward". A name whose module or function
    does not exist is an error: a grader that silently hides nothing would be worse than none.
    """
    by_module: dict[str, set[str]] = {}
    for item in hidden:
        module, _, name = item.rpartition(".")
        by_module.setdefault(module, set()).add(name)
    target = dest / real_package.name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(real_package, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for module, names in by_module.items():
        path = target / f"{module.replace('.', '/')}.py"
        if not path.is_file():
            raise ValueError(f"hidden function {module}.{sorted(names)[0]}: no module "
                             f"{real_package.name}.{module}")
        new_source, stubbed = hide_in_module(path.read_text(), module, names)
        missing = names - stubbed
        if missing:
            raise ValueError(f"hidden functions {sorted(missing)} are not defined in "
                             f"{real_package.name}.{module}")
        path.write_text(new_source)
    compileall.compile_dir(str(target), quiet=1, force=True)
    return target
