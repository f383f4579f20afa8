"""Scheduled jobs with a controlled clock: each job's effect for a period, once however often it runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from assessment.jobs import opinion_deadline
from assessment.tables import EstateScore
from foundation.clock import BUSINESS_TZ
from foundation.jobs import JobRun, NotDue, run_job
from foundation.periods import Month
from inspections.tables import Defect, SpotCheckDraw
from supervision.schedule import job_named
from tests.integration.evidence import record_body, upload
from tests.integration.helpers import count, estate_ids_of
from tests.integration.test_assessment import MONTH, month_with_evidence, street_of


async def test_overdue_marking_runs_once_per_hour_whatever_happens(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(db, "XBL01"))[0]
    defect_id = (await client.post("/api/patrols", json=record_body(estate, failed={"C02": [await upload(client, worker)]}), headers=worker)).json()["defect_ids"][0]
    async with db() as session:
        later = (await session.get(Defect, defect_id)).deadline_at + timedelta(minutes=30)
    job = job_named("inspections.mark_overdue")
    period = job.period_for(later)
    first = await run_job(db, job, period, later)
    second = await run_job(db, job, period, later + timedelta(minutes=1))
    assert first.state == second.state == "done" and first.result == {"marked": 1, "yellow_cards": 0, "third_overdue": []}
    assert second.attempts == 1 and await count(db, JobRun) == 1
    async with db() as session:
        assert (await session.get(Defect, defect_id)).overdue_ordinal == 1


async def test_the_monthly_draw_is_made_once_even_if_an_administrator_drew_first(client, as_user, db) -> None:
    job = job_named("inspections.draw_spot_checks")
    now = datetime.now(UTC)
    run = await run_job(db, job, job.period_for(now), now)
    again = await run_job(db, job, job.period_for(now), now)
    assert run.state == "done" and "seed" in run.result and again.id == run.id
    assert await count(db, SpotCheckDraw) == 1
    next_month = str(Month.of_instant(now).next())
    await client.post("/api/spot-checks/draws", json={"month": next_month}, headers=await as_user("admin"))
    by_hand = await run_job(db, job, next_month, now)
    assert by_hand.result == {"already_drawn": True} and await count(db, SpotCheckDraw) == 2


async def test_scores_wait_for_the_opinion_deadline_and_a_run_cut_off_midway_leaves_one_set(client, as_user, db) -> None:
    await month_with_evidence(client, as_user, db)
    job = job_named("assessment.compute_last_month")
    deadline = opinion_deadline(Month.parse(MONTH))
    on_deadline = datetime.combine(deadline, datetime.min.time(), tzinfo=BUSINESS_TZ) + timedelta(hours=23)
    with pytest.raises(NotDue):
        await run_job(db, job, MONTH, on_deadline)
    after = on_deadline + timedelta(hours=3)
    assert job.period_for(after) == MONTH

    # A scheduler died in the middle of the run: its record says running, hours ago.
    async with db() as session:
        session.add(JobRun(job=job.name, period=MONTH, state="running", started_at=after - timedelta(hours=5)))
        await session.commit()
    run = await run_job(db, job, MONTH, after)
    assert run.state == "done" and run.attempts == 2
    # Only 小白楼 filed anything for the month: the five streets with no evidence are not scored (their estates are
    # not published unscored, all ranked alike).
    [computed] = run.result["computed"]
    assert computed["street_id"] == await street_of(client, await as_user("xbl-officer")) and len(run.result["no_evidence"]) == 5
    scores = await count(db, EstateScore, EstateScore.month == MONTH)
    again = await run_job(db, job, MONTH, after + timedelta(days=1))
    assert again.attempts == 2 and await count(db, EstateScore, EstateScore.month == MONTH) == scores
    async with db() as session:
        estates = (await session.execute(select(func.count(func.distinct(EstateScore.estate_id))).where(EstateScore.month == MONTH))).scalar_one()
    assert scores == estates == computed["estates"]  # exactly one version per estate of the street


async def test_each_evening_the_street_learns_which_estates_had_no_patrol_and_who_missed_three_days(client, as_user, db) -> None:
    worker = await as_user("xbl01-worker")
    estates = await estate_ids_of(db, "XBL01")
    day = (await client.post("/api/patrols", json=record_body(estates[0]), headers=worker)).json()["business_date"]
    job = job_named("inspections.evening_coverage")
    afternoon = datetime.fromisoformat(f"{day}T16:00:00+08:00")
    with pytest.raises(NotDue):  # the evening's notice waits for the evening
        await run_job(db, job, day, afternoon)
    evening = datetime.fromisoformat(f"{day}T21:00:00+08:00")
    assert job.period_for(evening) == day
    officer = await as_user("xbl-officer")
    told_before = (await client.get("/api/notifications", headers=officer)).json()["total"]  # the demo's own notices
    run = await run_job(db, job, job.period_for(evening), evening)
    assert run.state == "done" and run.result["streets_with_gaps"] == 6
    [notice] = [n for n in (await client.get("/api/notifications", headers=officer, params={"page_size": 200})).json()["items"] if "今日未巡查" in n["body"]]
    assert "今日未巡查" in notice["body"] and "树德里" in notice["body"] and "连续三天漏巡的社区" in notice["body"]
    assert f"树德里 {len(estates) - 1} 个区片" in notice["body"]
    again = await run_job(db, job, job.period_for(evening), evening)
    assert again.id == run.id and (await client.get("/api/notifications", headers=officer)).json()["total"] == told_before + 1
    read = await client.post(f"/api/notifications/{notice['id']}/read", headers=officer)
    assert read.json()["read_at"] is not None
    assert (await client.post(f"/api/notifications/{notice['id']}/read", headers=await as_user("xx-officer"))).status_code == 404


async def test_the_quarter_run_waits_for_every_lock_and_tells_finance_what_holds_it(client, as_user, db) -> None:
    job = job_named("subsidies.prepare_quarter_run")
    now = datetime.now(UTC)
    run = await run_job(db, job, job.period_for(now), now)
    assert run.state == "waiting" and run.error.startswith("waiting: not locked yet")  # waiting on people, not failed
    finance = await as_user("finance")
    # (finance was told of the demo's programme runs, each step in its turn: those are not this notice)
    [notice] = [n for n in (await client.get("/api/notifications", headers=finance, params={"page_size": 200})).json()["items"] if "尚未锁定" in n["body"]]
    assert "补贴测算待街道锁定" in notice["title"] and "小白楼" in notice["body"]


async def test_administrators_list_and_run_jobs_others_are_refused(client, as_user, db) -> None:
    admin = await as_user("admin")
    jobs = (await client.get("/api/jobs", headers=admin)).json()
    assert {j["name"] for j in jobs} >= {"inspections.mark_overdue", "assessment.compute_last_month", "subsidies.prepare_quarter_run"}
    assert all(j["next_run"] for j in jobs)
    ran = await client.post("/api/jobs/inspections.mark_overdue/run", headers=admin)
    assert ran.status_code == 200 and ran.json()["state"] == "done"
    assert (await client.get("/api/jobs", headers=admin)).json()[0]["last_run"]["state"] == "done"
    this_month = str(Month.of_instant(datetime.now(UTC)))
    assert (await client.post(f"/api/jobs/assessment.compute_last_month/run?period={this_month}", headers=admin)).status_code == 422
    assert (await client.post("/api/jobs/no.such.job/run", headers=admin)).status_code == 404
    assert (await client.get("/api/jobs", headers=await as_user("xbl-officer"))).status_code == 403


async def test_a_new_leader_frees_runs_its_dead_predecessor_left_running_and_catches_up(client, as_user, db) -> None:
    import asyncio

    from supervision.scheduler import lead

    await month_with_evidence(client, as_user, db)
    job = job_named("assessment.compute_last_month")
    async with db() as session:  # the last leader died a minute into the month's scoring
        session.add(JobRun(job=job.name, period=MONTH, state="running", started_at=datetime.now(UTC) - timedelta(minutes=1)))
        await session.commit()

    class Held:
        async def still_held(self) -> bool:
            return True

    stop = asyncio.Event()
    stop.set()  # lead once: free, catch up, start, and stop at the first check
    deadline = opinion_deadline(Month.parse(MONTH))
    after_deadline = datetime.combine(deadline, datetime.min.time(), tzinfo=BUSINESS_TZ) + timedelta(days=1, hours=3)
    await lead(db, Held(), stop, 0.01, clock=lambda: after_deadline)  # type: ignore[arg-type]
    async with db() as session:
        run = (await session.execute(select(JobRun).where(JobRun.job == job.name, JobRun.period == MONTH))).scalar_one()
        estates = (await session.execute(select(func.count(func.distinct(EstateScore.estate_id))).where(EstateScore.month == MONTH))).scalar_one()
    assert run.state == "done" and run.attempts == 2
    assert await count(db, EstateScore, EstateScore.month == MONTH) == estates == run.result["computed"][0]["estates"]


async def test_the_scheduler_reports_its_leadership_as_information_not_as_a_warning(engine, monkeypatch, caplog) -> None:
    """Leading is the normal state of the one scheduler: logged at INFO (a WARNING is for what needs a look)."""
    import asyncio
    import logging

    from foundation.settings import get_settings
    from supervision import scheduler

    stop = asyncio.Event()

    async def lead_once(*args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        stop.set()  # stands in for the jobs' work: this test is about what the process says

    monkeypatch.setattr(scheduler, "lead", lead_once)
    with caplog.at_level(logging.INFO, logger="supervision.scheduler"):
        await scheduler.run_scheduler(get_settings(), stop, engine=engine, poll_seconds=0.05)
    [leads] = [r for r in caplog.records if r.name == "supervision.scheduler" and "leads" in r.getMessage()]
    assert leads.levelno == logging.INFO
    assert not [r for r in caplog.records if r.name == "supervision.scheduler" and r.levelno >= logging.WARNING]
