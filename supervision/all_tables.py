"""Imports every package's tables so the metadata is complete (for Alembic and test set-up)."""

from sqlmodel import SQLModel

import inspections.tables  # noqa: F401
import reports.tables  # noqa: F401
import subsidies.tables  # noqa: F401
import supervision.assessment.tables  # noqa: F401
import supervision.core.audit  # noqa: F401
import supervision.core.jobs  # noqa: F401
import supervision.core.notifications  # noqa: F401
import supervision.people.tables  # noqa: F401
import supervision.registry.tables  # noqa: F401

metadata = SQLModel.metadata
