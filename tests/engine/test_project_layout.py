"""A project folder's layout is spelled in one place (project/folder.py's ProjectLayout): no other module
joins the names of its parts onto a path, so moving one of them is a one-line change."""

import ast
from pathlib import Path

import studio
from studio.engine.project.folder import Project, ProjectLayout

PARTS = {"checkpoints", "samples", "exports", "project.json", "history.jsonl", "explore.json"}
LAYOUT_MODULE = Path(studio.__file__).parent / "engine" / "project" / "folder.py"


def _joins_a_part(node: ast.AST) -> bool:
    """`x / "samples"`, `Path(x, "project.json")` or `x.joinpath("exports")`."""
    def is_part(n):
        return isinstance(n, ast.Constant) and n.value in PARTS

    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return is_part(node.left) or is_part(node.right)
    if isinstance(node, ast.Call):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        joined = node.args if name == "joinpath" else node.args[1:]  # Path("samples") alone is no join
        return name in ("Path", "PurePath", "joinpath") and any(is_part(a) for a in joined)
    return False


def test_no_module_but_the_layout_joins_project_parts_onto_a_path():
    offenders = []
    for path in sorted(Path(studio.__file__).parent.rglob("*.py")):
        if path == LAYOUT_MODULE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if _joins_a_part(node):
                offenders.append(f"{path.relative_to(LAYOUT_MODULE.parents[3])}:{node.lineno}")
    assert offenders == [], "ask ProjectLayout / Project for these paths: " + ", ".join(offenders)


def test_the_layout_needs_no_project_file(tmp_path):
    layout = ProjectLayout(tmp_path / "p")
    assert layout.checkpoint_path(12) == tmp_path / "p" / "checkpoints" / "step-0000012.json"
    assert not Project.is_project(layout.root)
    layout.root.mkdir()
    layout.meta_path.write_text("{}")
    assert Project.is_project(layout.root)
    assert Project(layout.root, {}).explore_path == layout.explore_path == tmp_path / "p" / "explore.json"
