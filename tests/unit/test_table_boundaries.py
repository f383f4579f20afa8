"""Each domain's tables are its own: another package asks the domain's public queries (`registry.queries`,
`people.queries`, `inspections.queries`, `assessment.queries`) instead of importing its `tables` module. Every import
counts, those inside functions too; what still reads another domain's tables is listed below, each with its reason,
and the list may only shrink."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.unit.test_layers import LAYERS, ROOT

# module (path from the repository root) → the other packages' `tables` modules it may still import, and why.
ALLOWED: dict[str, set[str]] = {
    # The composition root: the metadata of every table, for migrations and the test databases.
    "supervision/all_tables.py": {
        "assessment.tables", "community.needs.tables", "foundation.calendar.tables", "inspections.tables", "people.tables", "registry.tables", "reports.tables",
        "subsidies.engine.tables", "subsidies.property.tables",
        "community.ocds.tables",
        "subsidies.activity.tables",
        "community.calls.tables",
        "community.volunteers.tables",
        "community.delivery.tables",
        "complaints.tables",
        "community.evaluation.tables",
        "community.wristbands.tables",
        "assessment.tables", "foundation.calendar.tables", "inspections.tables", "people.tables", "registry.tables", "reports.tables",
        "subsidies.care.tables", "subsidies.engine.tables", "subsidies.property.tables",
        "subsidies.relief.tables",
    },
    # The demo loader of the composition root checks whether a month was filed already and logs the demo users in.
    "supervision/demo_evidence.py": {"inspections.tables", "people.tables"},
    # The engine names payees from the registry's tables (its public REGISTRY_NAMES maps each kind to its columns).
    "subsidies/engine/queries.py": {"registry.tables"},
    # Documents read the batches they render: the engine's batches, runs, lines and adjustments (their types name the
    # rows the documents are made from), and a property line's facts beside the engine's line.
    "reports/routes.py": {"subsidies.engine.tables", "subsidies.property.tables"},
    "reports/service.py": {"subsidies.engine.tables", "subsidies.property.tables"},
    "reports/programme_documents.py": {"subsidies.engine.tables"},
    # Paying a tranche answers the engine's batch it was paid in (its type), whose documents are then made.
    "community/evaluation/service.py": {"subsidies.engine.tables"},
}


def foreign_tables(path: Path, own: str) -> set[str]:
    """The `<package>.tables` modules of other packages of ours that a module imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            # `from registry import tables` names the module too
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            # `registry.tables`, or a sub-package's, e.g. `subsidies.property.tables`
            if parts[0] in LAYERS and parts[0] != own and "tables" in parts[1:]:
                found.add(".".join(parts[: parts.index("tables") + 1]))
    return found


def table_imports() -> dict[str, set[str]]:
    """Every product module that imports another package's tables, with those tables modules."""
    found: dict[str, set[str]] = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            tables = foreign_tables(path, package)
            if tables:
                found[str(path.relative_to(ROOT))] = tables
    return found


def test_no_package_reads_another_domains_tables() -> None:
    unexpected = {module: tables - ALLOWED.get(module, set()) for module, tables in table_imports().items()}
    unexpected = {module: tables for module, tables in unexpected.items() if tables}
    assert not unexpected, f"ask the owning domain's queries module instead of importing its tables: {unexpected}"


def test_the_allow_list_holds_only_what_still_happens() -> None:
    """An entry whose import is gone leaves the list, so that it cannot come back unnoticed."""
    found = table_imports()
    stale = {module: tables - found.get(module, set()) for module, tables in ALLOWED.items()}
    stale = {module: tables for module, tables in stale.items() if tables}
    assert not stale, f"these no longer import those tables; take them off ALLOWED: {stale}"


def test_the_checker_sees_a_tables_import(tmp_path: Path) -> None:
    """The walk is not blind: every form of import is found, its own package's tables are not counted."""
    module = tmp_path / "m.py"
    module.write_text(
        "from registry.tables import Estate\nimport assessment.tables\ndef f():\n    from inspections import tables\n"
        "from people.tables import User\nfrom registry.queries import estates\n",
        encoding="utf-8",
    )
    assert foreign_tables(module, "people") == {"registry.tables", "assessment.tables", "inspections.tables"}
