"""The house reads bottom-up: each package imports only the packages below it (its own modules aside), so the
ground knows no domain and the composition root is the only package that knows them all. Every import counts,
those inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Bottom to top. A package may import any package listed before it, never one listed after it.
LAYERS = ["foundation", "registry", "people", "inspections", "complaints", "assessment", "subsidies", "reports", "community", "supervision"]


# Inside a package, units read bottom-up too: the money engine is the floor of subsidies/, and each programme
# (a sub-package beside it) builds on the engine, never on the engine's other tenants.
ENGINE = "subsidies.engine"


def imported_modules(path: Path) -> set[str]:
    """The modules of ours that a module imports, as written (absolute imports; ours use no relative ones)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names = [node.module or ""]
            # `from subsidies import engine` imports the module subsidies.engine
            names += [f"{node.module}.{alias.name}" for alias in node.names if node.module in LAYERS]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {name for name in names if name.split(".")[0] in LAYERS}
    return found


def imported_packages(path: Path) -> set[str]:
    """The top-level packages of ours that a module imports."""
    return {name.split(".")[0] for name in imported_modules(path)}


def package_imports() -> dict[str, dict[str, list[str]]]:
    """For each package, the packages it imports and the files that do."""
    graph: dict[str, dict[str, list[str]]] = {package: {} for package in LAYERS}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            for target in imported_packages(path) - {package}:
                graph[package].setdefault(target, []).append(str(path.relative_to(ROOT)))
    return graph


def test_every_product_package_has_its_place_in_the_layers() -> None:
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests", "bench", "migrations"}
    assert packages == set(LAYERS), "a new top-level package must be given its layer here"


@pytest.mark.parametrize("package", LAYERS)
def test_a_package_imports_only_packages_below_it(package: str) -> None:
    below = set(LAYERS[: LAYERS.index(package)])
    upward = {target: files for target, files in package_imports()[package].items() if target not in below}
    assert not upward, f"{package} imports packages above it: {upward}"


def test_no_cycle_between_packages() -> None:
    """Holds whenever every import points downward; checked on its own so a cycle is named as one."""
    graph = {package: set(targets) for package, targets in package_imports().items()}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(package: str) -> None:
        if package in visiting:
            cycle = visiting[visiting.index(package) :] + [package]
            raise AssertionError("packages import each other in a circle: " + " → ".join(cycle))
        if package in done:
            return
        visiting.append(package)
        for target in sorted(graph[package]):
            visit(target)
        visiting.pop()
        done.add(package)

    for package in LAYERS:
        visit(package)


def programme_packages() -> list[Path]:
    return sorted(p.parent for p in (ROOT / "subsidies").glob("*/__init__.py") if p.parent.name != "engine")


def test_the_money_engine_imports_no_programme() -> None:
    """A programme is added by registering it: the engine never names one."""
    found = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if m.startswith("subsidies.") and not m.startswith(ENGINE))
        for path in sorted((ROOT / "subsidies" / "engine").rglob("*.py"))
    }
    assert not {f: m for f, m in found.items() if m}, "the engine imports a programme"


def test_a_programme_builds_on_the_engine_and_on_no_other_programme() -> None:
    for package in programme_packages():
        own = f"subsidies.{package.name}"
        for path in sorted(package.rglob("*.py")):
            others = sorted(m for m in imported_modules(path) if m.startswith("subsidies.") and not m.startswith((ENGINE, own)))
            assert not others, f"{path.relative_to(ROOT)} imports another programme: {others}"


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The walk is not blind: an import inside a function is found."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from subsidies.rules import x\n    import reports.pdf\n", encoding="utf-8")
    assert imported_packages(module) == {"subsidies", "reports"}


def test_the_checker_sees_the_engine_importing_a_programme(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from subsidies import property\nfrom subsidies.engine.rules import Step\n", encoding="utf-8")
    assert imported_modules(module) == {"subsidies", "subsidies.property", "subsidies.engine.rules"}
