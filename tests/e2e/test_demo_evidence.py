"""`supervision demo --evidence` (what `make run` does): last month of 小白楼街道 filed through the same use cases as
people use, scored, and not filed twice."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from assessment.service import compute_month
from assessment.tables import AssessmentMonth, EstateScore, Veto
from foundation.access import SYSTEM
from foundation.clock import business_today
from foundation.db import create_engine, create_session_factory, unit_of_work
from foundation.periods import Month
from inspections.defects import mark_overdue
from inspections.tables import Defect, DefectEvent, InspectionRecord, InspectionResult, RecordPhoto, YellowCard
from people.service import principal_of
from people.tables import User
from supervision.demo_evidence import FIX_NOTES, ITEM_NOTES
from tests.database import fresh_database_url


def test_the_demo_month_is_filed_as_people_file_it_scored_and_never_twice(tmp_root: Path) -> None:
    url = asyncio.run(fresh_database_url(tmp_root, "demo-evidence"))
    env = {**os.environ, "SUPERVISION_DATABASE_URL": url, "SUPERVISION_VAR_DIR": str(tmp_root / "demo-evidence-var"), "SUPERVISION_LOG_LEVEL": "WARNING"}
    cli = [sys.executable, "-m", "supervision.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
    first = subprocess.run([*cli, "demo", "--evidence"], env=env, check=True, capture_output=True, text=True)
    month = Month.of(business_today()).previous()
    assert f"Filed {month} for 小白楼街道" in first.stdout
    again = subprocess.run([*cli, "demo", "--evidence"], env=env, check=True, capture_output=True, text=True)
    assert "Filed" not in again.stdout and "nothing was added" in again.stdout

    async def facts() -> dict[str, Any]:
        engine = create_engine(url)
        factory = create_session_factory(engine)
        # What the scheduler does next on `make run`: the hourly overdue marking, then the street's month again.
        async with unit_of_work(factory) as session:
            await mark_overdue(session, SYSTEM)
        async with unit_of_work(factory) as session:
            officer = principal_of((await session.execute(select(User).where(User.username == "xbl-officer"))).scalar_one())
            await compute_month(session, officer, officer.street_id or 0, month, reason="as the scheduler would")
        async with factory() as session:
            def count(model, *where):  # type: ignore[no-untyped-def]
                return session.execute(select(func.count()).select_from(model).where(*where))

            patrols = (await count(InspectionRecord, InspectionRecord.source == "patrol")).scalar_one()
            days = (await session.execute(select(func.count(func.distinct(InspectionRecord.business_date))).where(InspectionRecord.source == "patrol"))).scalar_one()
            failed = (await count(InspectionResult, InspectionResult.passed.is_(False))).scalar_one()
            failed_with_photo = (await count(RecordPhoto, RecordPhoto.item_code.is_not(None))).scalar_one()  # type: ignore[union-attr]
            defects = (await count(Defect)).scalar_one()
            scores = (await count(EstateScore, EstateScore.month == str(month))).scalar_one()
            published = (await count(AssessmentMonth, AssessmentMonth.month == str(month), AssessmentMonth.state == "computed")).scalar_one()
            notes = (await session.execute(select(InspectionResult.item_code, InspectionResult.note).where(InspectionResult.passed.is_(False)))).all()
            fix_notes = (await session.execute(select(Defect.item_code, DefectEvent.note).join(DefectEvent, DefectEvent.defect_id == Defect.id).where(DefectEvent.kind == "fix_reported"))).all()
            states = dict((await session.execute(select(Defect.state, func.count()).group_by(Defect.state))).all())
            overdue = (await count(Defect, Defect.overdue_marked_at.is_not(None))).scalar_one()  # type: ignore[union-attr]
            vetoes = (await count(Veto, Veto.month == str(month))).scalar_one()
            cards = (await count(YellowCard)).scalar_one()
        await engine.dispose()
        return {
            "patrols": patrols, "days": days, "failed": failed, "failed_with_photo": failed_with_photo, "defects": defects, "scores": scores,
            "published": published, "notes": notes, "fix_notes": fix_notes, "states": states, "overdue": overdue, "vetoes": vetoes, "cards": cards,
        }

    got = asyncio.run(facts())
    assert got["days"] == month.days and got["patrols"] == 55 * month.days  # 小白楼's 55 estates, every day
    assert got["failed"] > 0 and got["failed_with_photo"] == got["failed"] and got["defects"] == got["failed"]
    assert got["scores"] == 55 and got["published"] == 1
    # Every note was written for its own item: no gate-duty finding reads "垃圾未及时清运", no fix of a fire lane
    # "楼梯已清扫拖洗".
    assert got["notes"] and all(note in ITEM_NOTES[item] for item, note in got["notes"]), [(i, n) for i, n in got["notes"] if n not in ITEM_NOTES[i]]
    assert got["fix_notes"] and all(note == FIX_NOTES[item] for item, note in got["fix_notes"])
    # A district month: the companies fix nearly every order in time and the street verifies it; a few lapse (a
    # yellow card or two), and the street has a handful of automatic vetoes to review, not two dozen.
    assert got["states"].get("closed", 0) >= 0.85 * got["defects"] and 1 <= got["overdue"] <= 6 and got["cards"] <= 2
    assert got["vetoes"] <= 6, got["vetoes"]
