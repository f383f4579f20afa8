"""Imports every package's tables so the metadata is complete (for Alembic and test set-up)."""

from sqlmodel import SQLModel

import assessment.tables  # noqa: F401
import community.calls.tables  # noqa: F401
import community.delivery.tables  # noqa: F401
import community.evaluation.tables  # noqa: F401
import community.needs.tables  # noqa: F401
import community.ocds.tables  # noqa: F401
import community.volunteers.tables  # noqa: F401
import community.wristbands.tables  # noqa: F401
import complaints.tables  # noqa: F401
import foundation.audit  # noqa: F401
import foundation.calendar.tables  # noqa: F401
import foundation.channels  # noqa: F401
import foundation.jobs  # noqa: F401
import foundation.notifications  # noqa: F401
import foundation.storage  # noqa: F401
import foundation.throttle  # noqa: F401
import inspections.tables  # noqa: F401
import people.tables  # noqa: F401
import registry.tables  # noqa: F401
import reports.tables  # noqa: F401
import subsidies.activity.tables  # noqa: F401
import subsidies.care.tables  # noqa: F401
import subsidies.engine.tables  # noqa: F401
import subsidies.property.tables  # noqa: F401
import subsidies.relief.tables  # noqa: F401

metadata = SQLModel.metadata
