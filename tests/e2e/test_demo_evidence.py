"""`supervision demo --evidence` (what `make run` does): last month of 小白楼街道 filed through the same use cases as
people use, scored, and not filed twice."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from assessment.tables import AssessmentMonth, EstateScore
from foundation.clock import business_today
from foundation.db import create_engine, create_session_factory
from foundation.periods import Month
from inspections.tables import Defect, InspectionRecord, InspectionResult, RecordPhoto
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

    async def facts() -> dict[str, int]:
        engine = create_engine(url)
        async with create_session_factory(engine)() as session:
            def count(model, *where):  # type: ignore[no-untyped-def]
                return session.execute(select(func.count()).select_from(model).where(*where))

            patrols = (await count(InspectionRecord, InspectionRecord.source == "patrol")).scalar_one()
            days = (await session.execute(select(func.count(func.distinct(InspectionRecord.business_date))).where(InspectionRecord.source == "patrol"))).scalar_one()
            failed = (await count(InspectionResult, InspectionResult.passed.is_(False))).scalar_one()
            failed_with_photo = (await count(RecordPhoto, RecordPhoto.item_code.is_not(None))).scalar_one()  # type: ignore[union-attr]
            defects = (await count(Defect)).scalar_one()
            scores = (await count(EstateScore, EstateScore.month == str(month))).scalar_one()
            published = (await count(AssessmentMonth, AssessmentMonth.month == str(month), AssessmentMonth.state == "computed")).scalar_one()
        await engine.dispose()
        return {"patrols": patrols, "days": days, "failed": failed, "failed_with_photo": failed_with_photo, "defects": defects, "scores": scores, "published": published}

    got = asyncio.run(facts())
    assert got["days"] == month.days and got["patrols"] == 55 * month.days  # 小白楼's 55 estates, every day
    assert got["failed"] > 0 and got["failed_with_photo"] == got["failed"] and got["defects"] == got["failed"]
    assert got["scores"] == 55 and got["published"] == 1
