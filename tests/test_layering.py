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
        if name not in {"lstmcast.cli", "lstmcast.__main__", "lstmcast.entry"}:  # entry: the console script
            assert "lstmcast.cli" not in imports(path), name


def test_the_cli_imports_torch_heavy_modules_only_inside_commands() -> None:
    top = imports(PACKAGE / "cli.py", top_level_only=True)
    assert not top & {"torch", "pandas", "lstmcast.forecast", "lstmcast.train", "lstmcast.read", "lstmcast.models"}


def forecaster_private_members() -> set[str]:
    tree = ast.parse((PACKAGE / "forecast.py").read_text())
    forecaster = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Forecaster")
    names = {node.name for node in forecaster.body if isinstance(node, ast.FunctionDef)}
    names |= {node.attr for node in ast.walk(forecaster) if isinstance(node, ast.Attribute)}
    return {name for name in names if name.startswith("_") and not name.startswith("__")}


def test_no_module_outside_forecast_py_touches_a_private_member_of_the_forecaster() -> None:
    """backtest, tune and the CLI compose public functions (fit a state, forecast origins, build a
    report); Forecaster's private members are its own."""
    private = forecaster_private_members()
    assert {"_check_fitted", "_network"} <= private  # the check sees what it should
    for name, path in modules().items():
        if name == "lstmcast.forecast":
            continue
        touched = {
            node.attr for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Attribute)
        } & private
        assert not touched, f"{name} uses Forecaster's {', '.join(sorted(touched))}"


def test_the_fitted_state_and_the_runtime_import_no_torch() -> None:
    for name in (
        "lstmcast.state",
        "lstmcast.artifact",
        "lstmcast.report",
        "lstmcast.panel_report",
        "lstmcast.runtime.network",
        "lstmcast.runtime.frames",
    ):
        found = {m.split(".")[0] for m in imports(modules()[name])}
        assert not found & {"torch", "sklearn", "scipy"}, name


def test_predicts_fast_path_imports_no_pandas_at_module_level() -> None:
    """lstmcast.quick and what it imports load without pandas: a clean CSV forecast never loads it."""
    for name in ("lstmcast.quick", "lstmcast.tail", "lstmcast.state", "lstmcast.artifact", "lstmcast.baselines"):
        top = {m.split(".")[0] for m in imports(modules()[name], top_level_only=True)}
        assert not top & {"pandas", "torch", "sklearn", "scipy", "pyarrow"}, name
