"""Project evaluation, told as its users live it: the committee enters beneficiaries' surveys, a third-party
evaluation firm files the mid-term (and later the final) evaluation with evidence, a passed mid-term lets finance
pay the second tranche through the money engine, once; a tranche before its gate is refused; a firm tied to the
organisation is refused; a failed final withholds the last tranche and bars the organisation from next year's
calls. Moments in the future (the final evaluation a year on) are made through the use cases with their own `now`."""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from community.calls import queries as calls_queries
from community.calls import schemas as call_schemas
from community.calls import service as call_service
from community.evaluation import schemas, service
from community.evaluation.demo import PASSWORD as DEMO_PASSWORD
from community.evaluation.demo import _credit_code
from community.evaluation.jobs import remind
from community.evaluation.tables import EvaluationFile, ProjectEvaluation, SatisfactionSurvey
from community.ocds.config import publication_rules
from community.ocds.rules import ocid_of
from foundation.access import SYSTEM, Role
from foundation.errors import RuleViolation
from foundation.notifications import Notification
from people import service as people
from people.credentials import hash_password
from people.schemas import UserCreate
from people.tables import User
from registry import queries as registry_queries
from registry import service as registry
from registry.queries import OrganisationKind
from registry.schemas import OrganisationCreate
from subsidies.engine.tables import PaidLine, ProgrammeRun
from tests.integration.evidence import scan_pdf
from tests.integration.helpers import assert_problem, assert_refused_page, count, link_named
from tests.integration.test_calls import act, principal, store
from tests.integration.test_pages import page_login
from tests.integration.test_role_pages import csrf

SCORES = {"needs_fit": 80, "design": 70, "delivery": 90, "outcomes": 60, "finance": 100}


def evaluation_body(stage: str = "midterm", scores: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "stage": stage,
        "scores": [{"criterion": code, "points": points, "evidence": f"{code}：走访与台账核查"} for code, points in (scores or SCORES).items()],
        "summary": "项目按计划推进。",
    }


def survey_body(client_id: str, answers: tuple[int, int, int] = (5, 5, 5), on: date | None = None) -> dict[str, Any]:
    overall, attitude, effect = answers
    return {"client_id": client_id, "channel": "paper", "collected_on": (on or date.today()).isoformat(), "overall": overall, "attitude": attitude, "effect": effect}


async def unevaluated_contract(client: Any, as_user: Any, skip: int = 0) -> dict[str, Any]:
    """A district-wide contract of the demo's venture round that nobody has evaluated."""
    contracts = (await client.get("/api/evaluation/contracts", headers=await as_user("finance"))).json()
    return [c for c in contracts if not c["evaluations"]][skip]


async def surveys(client: Any, as_user: Any, contract_id: int, n: int = 5, answers: tuple[int, int, int] = (5, 5, 5)) -> None:
    director = await as_user("xbl01-director")
    for i in range(n):
        response = await client.post(f"/api/evaluation/contracts/{contract_id}/surveys", json=survey_body(f"survey-{contract_id}-{i}", answers), headers=director)
        assert response.status_code == 201, response.text


async def test_a_passed_mid_term_lets_finance_pay_the_second_tranche_exactly_once(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    contract = await unevaluated_contract(client, as_user)
    cid = contract["contract_id"]
    finance, evaluator = await as_user("finance"), await as_user("evaluator1")
    runs = await count(db, ProgrammeRun, ProgrammeRun.programme == "community_tranches")

    # Before the mid-term has passed, the second tranche is refused and nothing is run.
    assert_problem(await client.post(f"/api/evaluation/contracts/{cid}/tranches/2/payment", headers=finance), 422, "tranche 2", "midterm evaluation has passed")
    assert await count(db, ProgrammeRun, ProgrammeRun.programme == "community_tranches") == runs

    # The evaluation needs the beneficiaries' surveys first.
    assert_problem(await client.post(f"/api/evaluation/contracts/{cid}/evaluations", json=evaluation_body(), headers=evaluator), 422, "0 beneficiary survey(s)", "5 or more")
    await surveys(client, as_user, cid)
    replay = await client.post(f"/api/evaluation/contracts/{cid}/surveys", json=survey_body(f"survey-{cid}-0"), headers=await as_user("xbl01-director"))
    assert replay.status_code == 200
    assert await count(db, SatisfactionSurvey, SatisfactionSurvey.contract_id == cid) == 5

    filed = await client.post(f"/api/evaluation/contracts/{cid}/evaluations", json=evaluation_body(), headers=evaluator)
    assert filed.status_code == 201, filed.text
    result = filed.json()
    # 15×80 + 20×70 + 25×90 + 20×60 + 10×100 (every survey "very satisfied") + 10×100, over 100.
    assert result["score"] == "80.50" and result["passed"] is True and result["released_tranches"] == [2]
    assert next(s for s in result["scores"] if s["criterion"] == "satisfaction")["points"] == "100.00"
    assert_problem(await client.post(f"/api/evaluation/contracts/{cid}/evaluations", json=evaluation_body(), headers=evaluator), 409, "midterm")

    # The last tranche still waits for the final evaluation, which opens near the contract's end.
    assert_problem(await client.post(f"/api/evaluation/contracts/{cid}/tranches/3/payment", headers=finance), 422, "tranche 3")
    assert_problem(await client.post(f"/api/evaluation/contracts/{cid}/evaluations", json=evaluation_body("final"), headers=evaluator), 422, "final evaluation")

    paid = await client.post(f"/api/evaluation/contracts/{cid}/tranches/2/payment", headers=finance)
    assert paid.status_code == 200, paid.text
    second = next(t for t in contract["tranches"] if t["number"] == 2)
    assert paid.json()["amount_fen"] == second["amount_fen"] and paid.json()["batch_number"].startswith("GMFW-")
    assert_problem(await client.post(f"/api/evaluation/contracts/{cid}/tranches/2/payment", headers=finance), 409, "paid in batch", paid.json()["batch_number"])
    assert await count(db, PaidLine, PaidLine.line_key == f"tranche:{cid}:2") == 1
    progress = (await client.get(f"/api/evaluation/contracts/{cid}", headers=finance)).json()
    # The first tranche (due at signing) was paid with the demo, as finance pays it; the second now.
    assert [t["paid_batch_number"] is not None for t in progress["tranches"]] == [True, True, False]

    # The project's public record now carries the evaluation (a milestone) and the payment (a transaction); it
    # validates against the schema as it is served.
    calls = (await client.get("/api/calls", headers=await as_user("admin"))).json()
    number = next(c["number"] for c in calls if c["id"] == contract["call_id"])
    ocid = ocid_of(publication_rules(), number)
    record = await client.get(f"/api/ocds/records/{ocid}")
    assert record.status_code == 200, record.text
    compiled = record.json()["records"][0]["compiledRelease"]
    published = next(c for c in compiled["contracts"] if c["id"] == contract["number"])
    assert published["implementation"]["milestones"][0]["status"] == "met" and "80.50" in published["implementation"]["milestones"][0]["description"]
    assert [t["id"] for t in published["implementation"]["transactions"]] == [f"{contract['number']}-tranche-1", f"{contract['number']}-tranche-2"]
    assert "evaluator1" not in record.text  # who evaluated stays inside


async def test_an_evaluation_firm_tied_to_the_organisation_is_refused_and_nothing_is_stored(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    contract = await unevaluated_contract(client, as_user)
    cid = contract["contract_id"]
    await surveys(client, as_user, cid)
    admin, evaluator = await as_user("admin"), await as_user("evaluator1")
    firm_id = (await client.get("/api/auth/me", headers=evaluator)).json()["organisation_id"]
    async with db() as session:
        organisation_id = (await calls_queries.contract(session, cid)).organisation_id
    representative = (await client.get(f"/api/registry/organisations/{organisation_id}", headers=admin)).json()["legal_representative"]
    assert (await client.patch(f"/api/registry/organisations/{firm_id}", json={"legal_representative": representative}, headers=admin)).status_code == 200
    assert_problem(await client.post(f"/api/evaluation/contracts/{cid}/evaluations", json=evaluation_body(), headers=evaluator), 422, "tied", "legal_representative")
    assert await count(db, ProjectEvaluation, ProjectEvaluation.contract_id == cid) == 0

    # The evaluator's own account on the organisation's staff list is a tie too.
    assert (await client.patch(f"/api/registry/organisations/{firm_id}", json={"legal_representative": "评估中心负责人"}, headers=admin)).status_code == 200
    me = (await client.get("/api/auth/me", headers=evaluator)).json()["user_id"]
    staff = [{"name": "兼职评估员", "position": "顾问", "user_id": me}]
    assert (await client.patch(f"/api/registry/organisations/{organisation_id}", json={"staff": staff}, headers=admin)).status_code == 200
    assert_problem(await client.post(f"/api/evaluation/contracts/{cid}/evaluations", json=evaluation_body(), headers=evaluator), 422, "evaluator_on_staff")
    assert await count(db, ProjectEvaluation, ProjectEvaluation.contract_id == cid) == 0


async def test_a_failed_final_evaluation_withholds_the_last_tranche_and_bars_next_years_bids(client, as_user, db, app) -> None:  # type: ignore[no-untyped-def]
    contract = await unevaluated_contract(client, as_user, skip=1)
    cid = contract["contract_id"]
    await surveys(client, as_user, cid, answers=(2, 1, 2))
    evaluator = await principal(db, "evaluator1")
    ends = date.fromisoformat(contract["ends_on"])
    now = datetime.now(UTC)
    await act(db, service.file_evaluation, evaluator, store(app), cid, schemas.EvaluationIn(**_body("midterm")), now)
    at_end = datetime(ends.year, ends.month, ends.day, 4, 0, tzinfo=UTC)
    low = {code: 40 for code in SCORES}
    final = await act(db, service.file_evaluation, evaluator, store(app), cid, schemas.EvaluationIn(**_body("final", low)), at_end)
    # 40 points on the five criteria the evaluator scores (weights 90 in all) and the surveys' 2, 1, 2 (25, 0, 25:
    # 50/3 points) on satisfaction (weight 10): 36 + 5/3.
    assert final.passed is False and final.score == "37.67"
    out = await client.get(f"/api/evaluation/evaluations/{final.id}", headers=await as_user("finance"))
    assert out.json()["barred_year"] == ends.year + 1 and out.json()["released_tranches"] == []
    assert_problem(await client.post(f"/api/evaluation/contracts/{cid}/tranches/3/payment", headers=await as_user("finance")), 422, "below the pass mark", "withheld")

    # Next year's call takes no bid from the organisation; this year's still would.
    admin = await principal(db, "admin")
    opened = datetime(ends.year + 1, 3, 2, 1, 0, tzinfo=UTC)
    data = call_schemas.CallCreate(
        title="次年社区公益创投", category=call_schemas.Category.OTHER, method=call_schemas.Method.VENTURE, bid_deadline=opened + timedelta(days=25),
        lots=[call_schemas.LotIn(title="互助服务", budget_fen=3_000_000)], criteria=[call_schemas.CriterionIn(name="项目设计", weight=100)],
    )
    call = await act(db, call_service.open_call, admin, data, opened)
    organisation = None
    for n in range(1, 25):
        candidate = await principal(db, f"org{n:02d}")
        if candidate.organisation_id == final.organisation_id:
            organisation = candidate
    assert organisation is not None
    bid = call_schemas.BidIn(client_id=f"barred-{call.id}", lot_number=1, plan="服务方案", team="社工3名", amount_fen=2_900_000)
    with pytest.raises(RuleViolation) as refused:
        await act(db, call_service.submit_bid, organisation, store(app), call.id, bid, opened + timedelta(days=1))
    assert str(ends.year + 1) in refused.value.message_zh


def _body(stage: str, scores: dict[str, int] | None = None) -> dict[str, Any]:
    body = evaluation_body(stage, scores)
    return {"stage": schemas.Stage(stage), "scores": [schemas.CriterionScoreIn(**s) for s in body["scores"]], "summary": body["summary"]}


async def test_surveys_keep_to_the_committee_the_project_and_the_calendar(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    contract = await unevaluated_contract(client, as_user)
    cid = contract["contract_id"]
    director = await as_user("xbl01-director")
    tomorrow = date.today() + timedelta(days=2)
    assert_problem(await client.post(f"/api/evaluation/contracts/{cid}/surveys", json=survey_body("survey-future", on=tomorrow), headers=director), 422, "today")
    bad = survey_body("survey-range") | {"overall": 6}
    assert (await client.post(f"/api/evaluation/contracts/{cid}/surveys", json=bad, headers=director)).status_code == 400
    assert (await client.post(f"/api/evaluation/contracts/{cid}/surveys", json=survey_body("survey-finance"), headers=await as_user("finance"))).status_code == 403
    # The street's own contract (小白楼's meal service) is not another street's committee's to survey.
    street = next(c for c in (await client.get("/api/evaluation/contracts", headers=await as_user("finance"))).json() if c["evaluations"])
    other = await client.post(f"/api/evaluation/contracts/{street['contract_id']}/surveys", json=survey_body("survey-other"), headers=await as_user("ns01-director"))
    assert other.status_code == 404
    # Only the committees the project was delegated to (accepted) collect its surveys: 长春道 declined the street's
    # meal service and was never delegated the district's project; 树德里 carries both out.
    for contract_id in (cid, street["contract_id"]):
        assert_problem(
            await client.post(f"/api/evaluation/contracts/{contract_id}/surveys", json=survey_body(f"survey-xbl02-{contract_id}"), headers=await as_user("xbl02-director")),
            403, "delegated",
        )
    assert await count(db, SatisfactionSurvey, SatisfactionSurvey.client_id.like("survey-%")) == 0  # type: ignore[attr-defined]


async def test_the_evaluator_is_reminded_of_projects_falling_due_once(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    contract = await unevaluated_contract(client, as_user)
    due = date.fromisoformat(contract["midterm_due_on"])
    moment = datetime(due.year, due.month, due.day, 2, 0, tzinfo=UTC)
    for _ in range(2):
        async with db() as session:
            await remind(session, due.isoformat(), moment)
    me = (await client.get("/api/auth/me", headers=await as_user("evaluator1"))).json()["user_id"]
    async with db() as session:
        keys = set((await session.execute(select(Notification.key).where(Notification.user_id == me))).scalars())
    assert f"evaluation-due:{contract['contract_id']}:midterm|{me}" in keys
    assert not any(k.startswith(f"evaluation-due:{contract['contract_id']}:final") for k in keys)


async def _second_firm(db: Any, related_to: int | None = None) -> int:
    """Another evaluation firm with one evaluator (evaluator2); `related_to`: an organisation whose legal
    representative it shares."""
    async with db() as session:
        representative = "赵评估"
        if related_to is not None:
            representative = (await registry_queries.organisation_particulars(session, [related_to]))[related_to].legal_representative
        firm = await registry.create_organisation(
            session, SYSTEM,
            OrganisationCreate(
                name="天津市社会服务第三方评估所", kind=OrganisationKind.EVALUATION_FIRM, credit_code=_credit_code(random.Random(7)), phone="022-23456789",
                legal_representative=representative, address="天津市河西区友谊路1号",
            ),
        )
        await people.create_user(
            session, SYSTEM, UserCreate(username="evaluator2", display_name="第三方评估所评估员", password=DEMO_PASSWORD, role=Role.PANEL_MEMBER, organisation_id=firm.id),
            password_hash=hash_password(DEMO_PASSWORD),
        )
        await session.commit()
        return int(firm.id)


async def test_only_the_firm_assigned_to_a_contract_evaluates_it_and_is_reminded(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    contract = await unevaluated_contract(client, as_user)
    cid = contract["contract_id"]
    await surveys(client, as_user, cid)
    firm2 = await _second_firm(db)
    admin, evaluator1, evaluator2 = await as_user("admin"), await as_user("evaluator1"), await as_user("evaluator2")
    firm1 = (await client.get("/api/auth/me", headers=evaluator1)).json()["organisation_id"]
    assert (await client.get(f"/api/evaluation/contracts/{cid}", headers=admin)).json()["evaluation_firm_id"] == firm1

    # A firm not assigned neither sees the contract on its desk nor may evaluate it; nothing is stored.
    assert (await client.get("/api/evaluation/contracts", headers=evaluator2)).json() == []
    assert (await client.get(f"/api/evaluation/contracts/{cid}", headers=evaluator2)).status_code == 404
    assert_problem(await client.post(f"/api/evaluation/contracts/{cid}/evaluations", json=evaluation_body(), headers=evaluator2), 403, "assigned")
    assert await count(db, ProjectEvaluation, ProjectEvaluation.contract_id == cid) == 0

    # A street officer does not assign the district's contracts; an organisation that is no evaluation firm is refused.
    assert_problem(await client.post(f"/api/evaluation/contracts/{cid}/evaluation-firm", json={"firm_id": firm2}, headers=await as_user("xbl-officer")), 403, "street")
    async with db() as session:
        organisation_id = (await calls_queries.contract(session, cid)).organisation_id
    assert_problem(await client.post(f"/api/evaluation/contracts/{cid}/evaluation-firm", json={"firm_id": organisation_id}, headers=admin), 422, "not a registered evaluation firm")

    # The district reassigns the contract: now only the second firm evaluates it, and only its users are reminded.
    moved = await client.post(f"/api/evaluation/contracts/{cid}/evaluation-firm", json={"firm_id": firm2}, headers=admin)
    assert moved.status_code == 200, moved.text
    assert moved.json()["evaluation_firm_id"] == firm2
    assert [c["contract_id"] for c in (await client.get("/api/evaluation/contracts", headers=evaluator2)).json()] == [cid]
    assert cid not in [c["contract_id"] for c in (await client.get("/api/evaluation/contracts", headers=evaluator1)).json()]
    assert_problem(await client.post(f"/api/evaluation/contracts/{cid}/evaluations", json=evaluation_body(), headers=evaluator1), 403, "assigned")
    due = date.fromisoformat(contract["midterm_due_on"])
    async with db() as session:
        await remind(session, due.isoformat(), datetime(due.year, due.month, due.day, 2, 0, tzinfo=UTC))
    me1 = (await client.get("/api/auth/me", headers=evaluator1)).json()["user_id"]
    me2 = (await client.get("/api/auth/me", headers=evaluator2)).json()["user_id"]
    async with db() as session:
        told = set((await session.execute(select(Notification.user_id).where(Notification.key.like(f"evaluation-due:{cid}:midterm%")))).scalars())  # type: ignore[attr-defined]
    assert me2 in told and me1 not in told
    filed = await client.post(f"/api/evaluation/contracts/{cid}/evaluations", json=evaluation_body(), headers=evaluator2)
    assert filed.status_code == 201, filed.text


async def test_a_firm_related_to_the_organisation_is_refused_at_assignment(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    contract = await unevaluated_contract(client, as_user)
    cid = contract["contract_id"]
    async with db() as session:
        organisation_id = (await calls_queries.contract(session, cid)).organisation_id
    related = await _second_firm(db, related_to=organisation_id)
    admin = await as_user("admin")
    assert_problem(await client.post(f"/api/evaluation/contracts/{cid}/evaluation-firm", json={"firm_id": related}, headers=admin), 422, "tied", "legal_representative")
    assert (await client.get(f"/api/evaluation/contracts/{cid}", headers=admin)).json()["evaluation_firm_id"] != related
    # The page says it in Chinese and keeps the assignment as it was.
    await page_login(client, "admin")
    page = await client.post(f"/community/evaluation/contracts/{cid}/firm", data={"firm_id": str(related), "_csrf_token": await csrf(client)})
    assert page.status_code == 422 and "存在关联" in page.text
    assert (await client.get(f"/api/evaluation/contracts/{cid}", headers=admin)).json()["evaluation_firm_id"] != related


async def test_the_evidence_files_of_an_evaluation_open_from_the_projects_page_for_its_readers_only(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    """An evidence file's link on the project's page opens the file in the browser (it once led to the API, which
    answered a logged-in page an English 401); the same checks as the API refuse it, in Chinese, to an organisation
    that does not run the project and to a role that follows no project."""
    contract = await unevaluated_contract(client, as_user)
    cid = contract["contract_id"]
    await surveys(client, as_user, cid)
    body = evaluation_body()
    evidence = scan_pdf("site-visit")
    body["scores"][0]["files"] = [{"name": "走访记录.pdf", "content": base64.b64encode(evidence).decode()}]
    filed = await client.post(f"/api/evaluation/contracts/{cid}/evaluations", json=body, headers=await as_user("evaluator1"))
    assert filed.status_code == 201, filed.text

    for reader in ("evaluator1", "finance"):
        await page_login(client, reader)
        project = await client.get(f"/community/evaluation/contracts/{cid}")
        assert project.status_code == 200
        address = link_named(project.text, "走访记录.pdf")
        opened = await client.get(address)
        assert opened.status_code == 200 and opened.content == evidence and opened.headers["content-type"] == "application/pdf", reader
        assert opened.headers["content-disposition"].startswith("attachment;")
    async with db() as session:
        stored = await session.get(EvaluationFile, int(address.rsplit("/", 1)[1]))
    assert stored is not None and stored.sha256 == hashlib.sha256(evidence).hexdigest()

    async with db() as session:
        runs = (await calls_queries.contract(session, cid)).organisation_id
        other_org = (
            await session.execute(select(User.username).where(User.username.like("org%"), User.organisation_id != runs).order_by(User.username))  # type: ignore[attr-defined]
        ).scalars().first()
    assert other_org is not None
    await page_login(client, other_org)
    assert_refused_page(await client.get(address), 404)
    await page_login(client, "company01")
    assert_refused_page(await client.get(address), 403)
