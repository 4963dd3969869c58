"""The layering rules in STYLE.md, read from the imports: only cli/console import click or rich;
nothing imports cli; the CLI imports torch only inside the commands that need it."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "lstmcast"


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def modules() -> dict[str, Path]:
    return {str(p.relative_to(PACKAGE.parent).with_suffix("")).replace("/", "."): p for p in PACKAGE.rglob("*.py")}


def test_only_cli_and_console_import_click_or_rich() -> None:
    for name, path in modules().items():
        ui = {m.split(".")[0] for m in imports(path)} & {"click", "rich"}
        if ui:
            assert name in {"lstmcast.cli", "lstmcast.console"}, f"{name} imports {ui}"


def test_nothing_imports_the_cli() -> None:
    for name, path in modules().items():
        if name not in {"lstmcast.cli", "lstmcast.__main__"}:
            assert "lstmcast.cli" not in imports(path), name


def test_the_cli_imports_torch_heavy_modules_only_inside_commands() -> None:
    top = imports(PACKAGE / "cli.py", top_level_only=True)
    assert not top & {"torch", "pandas", "lstmcast.forecast", "lstmcast.train", "lstmcast.read", "lstmcast.models"}
