"""Imports every package's tables so the metadata is complete (for Alembic and test set-up)."""

from sqlmodel import SQLModel

import supervision.core.audit
import supervision.people.tables
import supervision.registry.tables
import inspections.tables  # noqa: F401

metadata = SQLModel.metadata
