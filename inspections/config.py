"""The evidence rules in force, read once from config/ (a wrong file stops the system at start)."""

from __future__ import annotations

from functools import lru_cache

from foundation.settings import config_dir
from inspections.rules import (
    Checklist,
    InspectionRules,
    ReconciliationRules,
    parse_checklist,
    parse_inspection_rules,
    parse_reconciliation_rules,
)


@lru_cache(maxsize=1)
def current_checklist() -> Checklist:
    path = config_dir() / "checklist.toml"
    try:
        return parse_checklist(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


@lru_cache(maxsize=1)
def inspection_rules() -> InspectionRules:
    return parse_inspection_rules((config_dir() / "inspections.toml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def reconciliation_rules() -> ReconciliationRules:
    return parse_reconciliation_rules((config_dir() / "inspections.toml").read_text(encoding="utf-8"))


def load_all() -> None:
    """Read every evidence rule file now, so a mistake in one shows at start and not at the first patrol."""
    current_checklist()
    inspection_rules()
    reconciliation_rules()
    from foundation.calendar.service import CALENDAR, config_years

    CALENDAR.config = config_years()
