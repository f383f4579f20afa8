"""One rule for "who sees this row", as an SQL condition over the row's own scope columns: the district sees all,
a street its street, a community its community, a company its company, an inspection firm its organisation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, true

from foundation.access import Principal, Role, ScopeKind


def in_scope(p: Principal, *, street: Any, community: Any, company: Any = None, organisation: Any = None) -> ColumnElement[bool]:
    """Rows whose columns (or scalar subqueries) `street`, `community`, `company`, `organisation` fall in the
    principal's scope; a scope with no column given sees nothing."""
    condition: ColumnElement[bool]  # the columns come as SQLModel attributes or subqueries, typed loosely
    match p.scope:
        case ScopeKind.DISTRICT:
            return true()
        case ScopeKind.STREET:
            condition = street == p.street_id
            return condition
        case ScopeKind.COMMUNITY:
            condition = community == p.community_id
            return condition
        case ScopeKind.COMPANY if company is not None:
            condition = company == p.company_id
            return condition
        case ScopeKind.ORGANISATION if organisation is not None and p.role is Role.INSPECTOR:
            condition = organisation == p.organisation_id
            return condition
        case _:
            return false()
