"""Separation of duties as a matrix (config/RULES.md, "Separation of duties"; the table is foundation/duties.py): for
every row, the person who did the first part is refused the second with a 403 problem naming the rule, in Chinese
too, and nothing is stored; the same action by another eligible person goes through.

Where the roles already keep two duties apart (only a company reports a fix, only a director casts a veto), the row
still holds for one account: the matrix gives the doer's own account the acting role and calls the use case, which
is what a user moved between jobs, or a role given one more right, would meet."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from assessment import service as assessment
from assessment.schemas import VetoReviewIn
from foundation.access import Principal, Role
from foundation.audit import AuditEntry
from foundation.clock import business_today
from foundation.duties import SEPARATIONS, Duty
from foundation.errors import SeparationOfDuties
from foundation.periods import Month, last_ended_quarter
from foundation.web.problems import status_of
from inspections import defects
from inspections.schemas import FixReviewIn
from inspections.tables import Amendment, Defect, LateRecordDecision
from subsidies.engine.tables import ProgrammeBatch
from supervision.demo import DEMO_PASSWORD
from tests.generated import generate_month
from tests.integration.evidence import approve_late, company_user_of, principal, record_body, scan_png, upload
from tests.integration.helpers import count, estate_ids_of
from tests.integration.test_calls import PANEL, POINTS, _bids, past_call
from tests.integration.test_volunteers import log, new_volunteer, team_of

THIS_MONTH = str(Month.of(business_today()))
QUARTER = last_ended_quarter(datetime.now(UTC))
MONTHS_AGO = (datetime.now(UTC) - timedelta(days=95)).isoformat()


@dataclass(frozen=True)
class Refused:
    status: int
    rule: str | None
    message_zh: str


@dataclass(frozen=True)
class Duo:
    """The action by the person who did the first part (`own`, answering how it was refused) and by another eligible
    person (`other`, which asserts it went through)."""

    own: Callable[[], Awaitable[Refused]]
    other: Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class World:
    client: httpx.AsyncClient
    as_user: Any
    db: Any
    app: Any


def by_api(answer: httpx.Response) -> Refused:
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    body = answer.json()
    return Refused(answer.status_code, body.get("rule"), body.get("detail_zh", ""))


async def by_use_case(world: World, use_case: Callable[..., Awaitable[Any]], *args: Any) -> Refused:
    async with world.db() as session:
        with pytest.raises(SeparationOfDuties) as refused:
            await use_case(session, *args)
        await session.rollback()
    return Refused(status_of(refused.value), refused.value.rule, refused.value.message_zh)


async def ok(answer: Awaitable[httpx.Response]) -> None:
    response = await answer
    assert response.status_code in (200, 201), response.text


async def user_id(world: World, username: str) -> int:
    return int((await world.client.get("/api/auth/me", headers=await world.as_user(username))).json()["user_id"])


# One scenario per row (two for the runs: the property subsidy's and a programme's on the engine).


async def fix_reported(world: World) -> Duo:
    client, as_user = world.client, world.as_user
    worker = await as_user("xbl01-worker")
    estate = (await estate_ids_of(world.db, "XBL01"))[0]
    filed = await client.post("/api/patrols", json=record_body(estate, failed={"C01": [await upload(client, worker)]}, passed=()), headers=worker)
    defect_id = filed.json()["defect_ids"][0]
    _, company_username = await company_user_of(world.db, estate)
    company = await as_user(company_username)
    await ok(client.post(f"/api/defects/{defect_id}/fix", json={"note": "已清运", "photo_ids": [await upload(client, company)]}, headers=company))
    reporter = await principal(world.db, company_username)
    specialist = await principal(world.db, "xbl-worker1")
    as_reviewer = Principal(role=Role.STREET_WORKER, user_id=reporter.user_id, username=reporter.username, street_id=specialist.street_id)

    async def other() -> None:
        await ok(client.post(f"/api/defects/{defect_id}/review", json={"accepted": True, "note": "复查合格"}, headers=await as_user("xbl-worker1")))
        assert await count(world.db, Defect, Defect.id == defect_id, Defect.state == "closed") == 1

    return Duo(lambda: by_use_case(world, defects.review_fix, as_reviewer, defect_id, FixReviewIn(accepted=True, note="复查合格")), other)


async def veto_cast(world: World) -> Duo:
    client, as_user = world.client, world.as_user
    director = await as_user("xbl01-director")
    estate = (await estate_ids_of(world.db, "XBL01"))[0]
    body = {"estate_id": estate, "month": THIS_MONTH, "reason": "gate_unattended", "explanation": "夜间门岗连续三晚无人", "evidence_photo_ids": [await upload(client, director)]}
    cast = await client.post("/api/assessment/vetoes", json=body, headers=director)
    assert cast.status_code == 201, cast.text
    veto_id = cast.json()["id"]
    caster, officer = await principal(world.db, "xbl01-director"), await principal(world.db, "xbl-officer")
    as_reviewer = Principal(role=Role.STREET_OFFICER, user_id=caster.user_id, username=caster.username, street_id=officer.street_id)
    review = {"uphold": True, "reason": "核实属实"}

    async def other() -> None:
        reviewed = await client.post(f"/api/assessment/vetoes/{veto_id}/review", json=review, headers=await as_user("xbl-officer"))
        assert reviewed.status_code == 200 and reviewed.json()["state"] == "upheld", reviewed.text

    return Duo(lambda: by_use_case(world, assessment.review_veto, as_reviewer, veto_id, VetoReviewIn(**review)), other)


async def subsidy_run_computed(world: World) -> Duo:
    """小白楼 locks the last ended quarter; `finance` prices it, the street confirms; `finance2` approves."""
    client, as_user = world.client, world.as_user
    for n, month in enumerate(QUARTER.months):
        await generate_month(world.db, month, seed=n + 1)
    officer, finance = await as_user("xbl-officer"), await as_user("finance")
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    for month in QUARTER.months:
        await ok(client.post(f"/api/assessment/months/{street}/{month}/compute", headers=officer))
        await ok(client.post(f"/api/assessment/months/{street}/{month}/lock", headers=officer))
    run = await client.post("/api/subsidies/runs", json={"quarter": str(QUARTER)}, headers=finance)
    assert run.status_code == 201, run.text
    approve = f"/api/subsidies/runs/{run.json()['id']}/approve"
    await ok(client.post(f"/api/subsidies/runs/{run.json()['id']}/confirm", headers=officer))

    async def other() -> None:
        approved = await client.post(approve, headers=await as_user("finance2"))
        assert approved.status_code == 200 and approved.json()["state"] == "approved", approved.text

    return Duo(lambda: _api(client.post(approve, headers=finance)), other)


async def programme_run_started(world: World) -> Duo:
    """The activity funds' supplementary run of this month, started by `finance`, approved by `finance2`."""
    client, finance = world.client, await world.as_user("finance")
    run = await client.post("/api/programmes/activity_funds/runs", json={"period": THIS_MONTH, "supplementary": True}, headers=finance)
    assert run.status_code == 201, run.text
    approve = f"/api/programmes/activity_funds/runs/{run.json()['id']}/approvals/approve"

    async def other() -> None:
        approved = await client.post(approve, headers=await world.as_user("finance2"))
        assert approved.status_code == 200 and approved.json()["state"] == "approved", approved.text

    return Duo(lambda: _api(client.post(approve, headers=finance)), other)


async def adjustment_proposed(world: World) -> Duo:
    """`finance` proposes a correction (a recovery) of the demo's relief batch; `finance2` approves it."""
    client, finance = world.client, await world.as_user("finance")
    async with world.db() as session:
        batch = (await session.execute(select(ProgrammeBatch).where(ProgrammeBatch.programme == "relief", ProgrammeBatch.run_id.is_not(None)))).scalars().first()  # type: ignore[union-attr]
    assert batch is not None
    line = (await client.get(f"/api/programmes/relief/runs/{batch.run_id}/lines?page_size=1", headers=finance)).json()["items"][0]
    body = {"client_id": uuid.uuid4().hex, "reason": "复核追回", "corrections": [{"line_id": line["id"], "amount_fen": line["amount_fen"] - 100}]}
    proposed = await client.post(f"/api/programmes/relief/batches/{batch.id}/adjustments", json=body, headers=finance)
    assert proposed.status_code == 202, proposed.text
    approve = f"/api/programmes/relief/adjustments/{proposed.json()['id']}/approve"

    async def other() -> None:
        approved = await client.post(approve, headers=await world.as_user("finance2"))
        assert approved.status_code == 201 and approved.json()["total_fen"] == -100, approved.text

    return Duo(lambda: _api(client.post(approve, headers=finance)), other)


async def late_record_filed(world: World) -> Duo:
    """xbl-officer files a street inspection three months late; a second officer of 小白楼 decides it."""
    client, as_user = world.client, world.as_user
    officer = await as_user("xbl-officer")
    estate = (await estate_ids_of(world.db, "XBL01"))[0]
    filed = await client.post("/api/street-inspections", json=record_body(estate, inspected_at=MONTHS_AGO), headers=officer)
    assert filed.status_code == 201 and filed.json()["late"] is True, filed.text
    record_id = filed.json()["id"]
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    colleague = {"username": f"xbl-officer-{uuid.uuid4().hex[:6]}", "display_name": "小白楼街道办（二）", "password": DEMO_PASSWORD, "role": "street_officer", "street_id": street}
    await ok(client.post("/api/users", json=colleague, headers=await as_user("admin")))
    decide, decision = f"/api/inspections/{record_id}/late-decision", {"approve": True, "reason": "补录：当日系统故障，已核实"}

    async def other() -> None:
        await ok(client.post(decide, json=decision, headers=await as_user(colleague["username"])))
        assert await count(world.db, LateRecordDecision, LateRecordDecision.record_id == record_id) == 1

    return Duo(lambda: _api(client.post(decide, json=decision, headers=officer)), other)


async def activity_claim_filed(world: World) -> Duo:
    """南市's officer claims from the street's fund; finance decides it."""
    client, officer = world.client, await world.as_user("ns-officer")
    receipt = await client.post("/api/activity/receipts", files={"file": ("receipt.png", scan_png(), "image/png")}, headers=officer)
    assert receipt.status_code == 201, receipt.text
    body = {
        "client_id": uuid.uuid4().hex, "spent_on": str(business_today()), "purpose": "会议培训", "description": "楼门长培训场地及资料",
        "amount_fen": 250_000, "invoice_number": f"T{uuid.uuid4().int % 10**15:015d}", "receipt_id": receipt.json()["id"],
    }
    claim = await client.post("/api/activity/claims", json=body, headers=officer)
    assert claim.status_code == 201, claim.text
    decide = f"/api/activity/claims/{claim.json()['id']}/decision"

    async def other() -> None:
        decided = await client.post(decide, json={"approve": True}, headers=await world.as_user("finance"))
        assert decided.status_code == 200 and decided.json()["state"] == "approved", decided.text

    return Duo(lambda: _api(client.post(decide, json={"approve": True}, headers=officer)), other)


async def bid_of_own_organisation(world: World) -> Duo:
    """expert1 is on org02's staff list; expert2 is not and scores org02's bid."""
    client, as_user, admin = world.client, world.as_user, await world.as_user("admin")
    call_id = await past_call(world.db, world.app, ["org01", "org02", "org03"])
    ids = {u: await user_id(world, u) for u in PANEL}
    org02 = (await client.get("/api/auth/me", headers=await as_user("org02"))).json()["organisation_id"]
    await ok(client.patch(f"/api/registry/organisations/{org02}", json={"staff": [{"name": "评审专家1", "position": "理事", "user_id": ids["expert1"]}]}, headers=admin))
    await ok(client.put(f"/api/calls/{call_id}/panel", json={"user_ids": list(ids.values())}, headers=admin))
    await ok(client.post(f"/api/calls/{call_id}/close-bidding", headers=admin))
    for member in ("expert1", "expert2"):
        await ok(client.post(f"/api/calls/{call_id}/declaration", json={}, headers=await as_user(member)))
    bid_id = next(b.id for b in await _bids(world.db, call_id) if b.organisation_id == org02)
    score = f"/api/bids/{bid_id}/scores"

    async def other() -> None:
        scored = await client.post(score, json={"points": POINTS}, headers=await as_user("expert2"))
        assert scored.status_code in (200, 201) and scored.json()["total"] == 80, scored.text

    expert1 = await as_user("expert1")
    return Duo(lambda: _api(client.post(score, json={"points": POINTS}, headers=expert1)), other)


async def buyer_on_own_panel(world: World) -> Duo:
    """The administrator opened the call and names its panel: not with themself on it; a street worker who neither
    opened it nor names it may sit on it."""
    client, admin = world.client, await world.as_user("admin")
    call_id = await past_call(world.db, world.app, ["org01", "org02", "org03"])
    ids = {u: await user_id(world, u) for u in PANEL}
    with_admin = [ids["expert1"], ids["expert2"], ids["expert3"], ids["xbl-worker1"], await user_id(world, "admin")]
    panel = f"/api/calls/{call_id}/panel"

    async def other() -> None:
        named = await client.put(panel, json={"user_ids": list(ids.values())}, headers=admin)
        assert named.status_code == 200, named.text

    return Duo(lambda: _api(client.put(panel, json={"user_ids": with_admin}, headers=admin)), other)


async def evidence_scored(world: World) -> Duo:
    """The worker's patrol is amended by the worker (its filer), not by the street officer who scores it."""
    client, worker = world.client, await world.as_user("xbl01-worker")
    estate = (await estate_ids_of(world.db, "XBL01"))[0]
    record = (await client.post("/api/patrols", json=record_body(estate, failed={"P01": [await upload(client, worker)]}), headers=worker)).json()
    correction = {"reason": "误判：垃圾已在巡查前清运", "results": [{"item": "P01", "passed": True}]}
    amend = f"/api/inspections/{record['id']}/amendments"

    async def other() -> None:
        await ok(client.post(amend, json=correction, headers=worker))
        assert await count(world.db, Amendment, Amendment.record_id == record["id"]) == 1

    officer = await world.as_user("xbl-officer")
    return Duo(lambda: _api(client.post(amend, json=correction, headers=officer)), other)


async def volunteer_hours_logged(world: World) -> Duo:
    """A volunteer who leads a team logs hours with it; the community's social worker decides them."""
    client = world.client
    worker = await world.as_user("xbl01-worker")
    leader_record, leader = await new_volunteer(client, worker)
    team = await team_of(client, worker, leader_volunteer_id=leader_record["id"])
    logged, _ = await log(client, leader, team_id=team["id"])
    assert logged.status_code == 201, logged.text
    decide = f"/api/volunteers/hours/{logged.json()['id']}/decision"

    async def other() -> None:
        decided = await client.post(decide, json={"verdict": "approve"}, headers=worker)
        assert decided.status_code == 200 and decided.json()["state"] == "approved", decided.text

    return Duo(lambda: _api(client.post(decide, json={"verdict": "approve"}, headers=leader)), other)


async def appeal_on_own_finding(world: World) -> Duo:
    """xbl-officer files a street inspection of last month with a failed item (late: a second officer of 小白楼
    approves it), computes the month, and the company appeals that finding: not answered by xbl-officer; the district
    administrator answers it."""
    client, as_user = world.client, world.as_user
    officer = await as_user("xbl-officer")
    estate = (await estate_ids_of(world.db, "XBL01"))[0]
    month = str(Month.of(business_today()).previous())
    body = record_body(estate, failed={"C01": [await upload(client, officer)]}, passed=("G01",), inspected_at=f"{month}-15T10:00:00+08:00")
    filed = await client.post("/api/street-inspections", json=body, headers=officer)
    assert filed.status_code == 201, filed.text
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    colleague = {"username": f"xbl-officer-{uuid.uuid4().hex[:6]}", "display_name": "小白楼街道办（二）", "password": DEMO_PASSWORD, "role": "street_officer", "street_id": street}
    await ok(client.post("/api/users", json=colleague, headers=await as_user("admin")))
    await approve_late(client, await as_user(colleague["username"]), filed.json()["id"])
    await ok(client.post(f"/api/assessment/months/{street}/{month}/compute", headers=officer))
    _, company_username = await company_user_of(world.db, estate)
    appeal = await client.post(
        "/api/assessment/appeals",
        json={"estate_id": estate, "month": month, "reason": "检查当日垃圾已清运", "defect_id": filed.json()["defect_ids"][0]},
        headers=await as_user(company_username),
    )
    assert appeal.status_code == 201, appeal.text
    answer, verdict = f"/api/assessment/appeals/{appeal.json()['id']}/answer", {"uphold": False, "reason": "经复核，问题属实"}

    async def other() -> None:
        answered = await client.post(answer, json=verdict, headers=await as_user("admin"))
        assert answered.status_code == 200 and answered.json()["state"] == "rejected", answered.text

    return Duo(lambda: _api(client.post(answer, json=verdict, headers=officer)), other)


async def _api(answer: Awaitable[httpx.Response]) -> Refused:
    return by_api(await answer)


SCENARIOS: dict[Duty, tuple[Callable[[World], Awaitable[Duo]], ...]] = {
    Duty.VERIFY_OWN_FIX: (fix_reported,),
    Duty.REVIEW_OWN_VETO: (veto_cast,),
    Duty.APPROVE_OWN_RUN: (subsidy_run_computed, programme_run_started),
    Duty.APPROVE_OWN_ADJUSTMENT: (adjustment_proposed,),
    Duty.APPROVE_OWN_LATE_RECORD: (late_record_filed,),
    Duty.DECIDE_OWN_ACTIVITY_CLAIM: (activity_claim_filed,),
    Duty.SCORE_OWN_ORGANISATION_BID: (bid_of_own_organisation,),
    Duty.AMEND_EVIDENCE_ONE_SCORES: (evidence_scored,),
    Duty.APPROVE_OWN_VOLUNTEER_HOURS: (volunteer_hours_logged,),
    Duty.SIT_ON_OWN_CALLS_PANEL: (buyer_on_own_panel,),
    Duty.ANSWER_APPEAL_ON_OWN_FINDING: (appeal_on_own_finding,),
}


def test_the_matrix_has_a_scenario_for_every_row_of_the_table() -> None:
    assert set(SCENARIOS) == set(SEPARATIONS) and all(SCENARIOS.values())


async def audit_entries(db: Any) -> list[int]:
    async with db() as session:
        return list((await session.execute(select(AuditEntry.id).order_by(AuditEntry.id))).scalars())


@pytest.mark.parametrize(
    ("duty", "scenario"), [(duty, scenario) for duty, scenarios in SCENARIOS.items() for scenario in scenarios], ids=lambda v: getattr(v, "__name__", str(v))
)
async def test_nobody_does_the_second_part_of_what_they_did_and_another_person_may(duty, scenario, client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    world = World(client, as_user, db, app)
    duo = await scenario(world)
    before = await audit_entries(db)
    refused = await duo.own()
    row = SEPARATIONS[duty]
    assert refused == replace(refused, status=403, rule=duty.value), refused
    assert row.name_zh in refused.message_zh and row.zh in refused.message_zh
    assert await audit_entries(db) == before  # nothing stored: every change writes the log in the same transaction
    await duo.other()
    assert len(await audit_entries(db)) > len(before)
