"""Corrections of the programmes' issued batches, on the demo district's batches: a correction never pays a line past
what it was decided at (a voucher's face value, a contract's tranche, a claim or a case as approved), what it
recovers goes back to the fund the line was paid from, and its summary names the officer who proposed it and the one
who approved it."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import sqlalchemy as sa

from community.ocds.config import publication_rules
from community.ocds.rules import ocid_of
from foundation.money import yuan
from people.tables import User
from subsidies.activity.tables import ActivityClaim, ActivityFund
from subsidies.engine.tables import AdjustmentProposal, ProgrammeBatch
from subsidies.property.tables import PropertyLine
from subsidies.relief.service import relief_rules
from subsidies.relief.tables import ReliefApplication, ReliefFund
from tests.integration.helpers import adjust, assert_problem, pdf_text
from tests.integration.test_issued_documents import paid_batch
from tests.integration.test_pages import page_login
from tests.integration.test_programme_engine import login

PROGRAMMES = ("care", "community_tranches", "activity_funds", "relief")


async def first_line(client, db, code: str, finance: dict[str, str]) -> tuple[ProgrammeBatch, dict]:  # type: ignore[no-untyped-def,type-arg]
    async with db() as session:
        batch = (await session.execute(sa.select(ProgrammeBatch).where(ProgrammeBatch.programme == code, ProgrammeBatch.run_id.is_not(None)).order_by(ProgrammeBatch.id))).scalars().first()  # type: ignore[union-attr]
    assert batch is not None, f"the demo has an issued batch of {code}"
    lines = (await client.get(f"/api/programmes/{code}/runs/{batch.run_id}/lines?page_size=1", headers=finance)).json()["items"]
    return batch, lines[0]


async def proposals(db, code: str) -> int:  # type: ignore[no-untyped-def]
    async with db() as session:
        return (await session.execute(sa.select(sa.func.count()).select_from(AdjustmentProposal).where(AdjustmentProposal.programme == code))).scalar_one()  # type: ignore[no-any-return]


async def test_a_correction_never_pays_a_line_past_what_it_was_decided_at(client, db) -> None:  # type: ignore[no-untyped-def]
    """One officer proposing, another approving, cannot pay a care voucher or a contract's tranche ten thousand
    times over: the proposal is refused as it is made (nothing is stored); recovering part of the line and later
    restoring it is allowed, and restoring more than was recovered is refused."""
    finance, finance2 = await login(client, "finance"), await login(client, "finance2")
    for code in PROGRAMMES:
        batch, line = await first_line(client, db, code, finance)
        before = await proposals(db, code)
        for too_much in (line["amount_fen"] + 1, 1_000_000_000_000):
            body = {"client_id": f"too-much-{code}-{too_much}", "reason": "核对后补付", "corrections": [{"line_id": line["id"], "amount_fen": too_much}]}
            refused = await client.post(f"/api/programmes/{code}/batches/{batch.id}/adjustments", json=body, headers=finance)
            assert_problem(refused, 422, "at most")
            assert "最多支付" in refused.json()["detail_zh"], refused.json()
        assert await proposals(db, code) == before, code
        recovered = line["amount_fen"] - 1_000
        body = {"client_id": f"recover-{code}", "reason": "复核追回", "corrections": [{"line_id": line["id"], "amount_fen": recovered}]}
        assert (await adjust(client, f"/api/programmes/{code}", batch.id or 0, body, finance, finance2)).json()["total_fen"] == -1_000
        body = {"client_id": f"restore-{code}", "reason": "复核后恢复", "corrections": [{"line_id": line["id"], "amount_fen": line["amount_fen"]}]}
        assert (await adjust(client, f"/api/programmes/{code}", batch.id or 0, body, finance, finance2)).json()["total_fen"] == 1_000
        body = {"client_id": f"past-{code}", "reason": "再补付", "corrections": [{"line_id": line["id"], "amount_fen": line["amount_fen"] + 1}]}
        assert_problem(await client.post(f"/api/programmes/{code}/batches/{batch.id}/adjustments", json=body, headers=finance), 422, "at most")


async def test_what_a_correction_recovers_goes_back_to_the_fund_it_was_paid_from(client, db) -> None:  # type: ignore[no-untyped-def]
    """An activity claim or a relief case recovered in full: the fund's balance on its own page (what is left to
    spend or approve) grows by what was recovered, as the engine's budget does; restoring it takes it again."""
    finance, finance2 = await login(client, "finance"), await login(client, "finance2")

    async def activity_left(holder: str, year: int) -> int:
        funds = (await client.get(f"/api/activity/funds?year={year}", headers=finance)).json()
        return next(f["left_fen"] for f in funds if f["holder"] == holder)  # type: ignore[no-any-return]

    async def relief_left(fund_id: int, year: int) -> int:
        fund = relief_rules().fund_by_id(fund_id)
        assert fund is not None
        funds = (await client.get(f"/api/relief/funds?year={year}", headers=finance)).json()
        return next(f["left_fen"] for f in funds if f["fund"] == fund.key)  # type: ignore[no-any-return]

    async def engine_left(code: str, holder: str, year: int) -> int:
        budgets = (await client.get(f"/api/programmes/{code}/budgets?year={year}", headers=finance)).json()
        budget = next(b for b in budgets if b["holder"] == holder)
        return budget["amount_fen"] - budget["spent_fen"]  # type: ignore[no-any-return]

    for code, left_of in (("activity_funds", activity_left), ("relief", None)):
        batch, line = await first_line(client, db, code, finance)
        holder, year = line["holder"], int(line["period"][:4])
        kind, _, ident = holder.partition(":")

        async def left() -> int:
            if left_of is not None:
                return await left_of(holder, year)
            return await relief_left(int(ident), year)

        fund_before, engine_before = await left(), await engine_left(code, holder, year)
        body = {"client_id": f"recover-all-{code}", "reason": "发票作废，全额追回", "corrections": [{"line_id": line["id"], "amount_fen": 0}]}
        await adjust(client, f"/api/programmes/{code}", batch.id or 0, body, finance, finance2)
        assert await engine_left(code, holder, year) == engine_before + line["amount_fen"], code
        assert await left() == fund_before + line["amount_fen"], (code, kind)
        if code == "activity_funds":  # the fund's columns still add up to its allocation, the claim no longer approved
            funds = (await client.get(f"/api/activity/funds?year={year}", headers=finance)).json()
            row = next(f for f in funds if f["holder"] == holder)
            assert row["pending_fen"] + row["approved_fen"] + row["lapsed_fen"] + row["left_fen"] == row["allocated_fen"], row
        body = {"client_id": f"restore-all-{code}", "reason": "发票补正，恢复拨付", "corrections": [{"line_id": line["id"], "amount_fen": line["amount_fen"]}]}
        await adjust(client, f"/api/programmes/{code}", batch.id or 0, body, finance, finance2)
        assert (await left(), await engine_left(code, holder, year)) == (fund_before, engine_before), code


async def test_a_correction_summary_names_who_proposed_it_and_who_approved_it(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    """Two people moved the money: the summary says so (经办: the proposer; 审批: the approver), for a programme's
    adjustment and for the property subsidy's."""
    finance, finance2 = await login(client, "finance"), await login(client, "finance2")
    async with db() as session:
        names = dict((await session.execute(sa.select(User.username, User.display_name).where(User.username.in_(("finance", "finance2"))))).all())  # type: ignore[attr-defined]
    batch, line = await first_line(client, db, "care", finance)
    body = {"client_id": "named-care", "reason": "服务未完成，追回", "corrections": [{"line_id": line["id"], "amount_fen": 0}]}
    adjusted = (await adjust(client, "/api/programmes/care", batch.id or 0, body, finance, finance2)).json()
    summaries = [await client.get(f"/api/programmes/batches/{adjusted['id']}/summary.pdf", headers=finance)]
    property_batch, property_lines = await paid_batch(client, as_user, db)
    property_line = next(line for line in property_lines if line["amount_fen"] > 100 and not line["vetoed"])
    body = {"client_id": "named-property", "reason": "面积更正", "corrections": [{"line_id": property_line["id"], "amount_fen": property_line["amount_fen"] - 100}]}
    property_adjusted = (await adjust(client, "/api/subsidies", property_batch["id"], body, finance, finance2)).json()
    summaries.append(await client.get(f"/api/subsidies/batches/{property_adjusted['id']}/summary.pdf", headers=finance))
    for summary in summaries:
        assert summary.status_code == 200, summary.text
        text = " ".join(pdf_text(summary.content).split())
        assert f"经办：{names['finance']}" in text and f"审批：{names['finance2']}" in text, text
        assert re.search(f"提出[：: ]*{names['finance']}", text) and re.search(f"审批签发[：: ]*{names['finance2']}", text), text


async def test_a_property_correction_never_pays_past_what_the_rate_cards_could_pay_for_the_estate_s_area(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    """Two finance officers cannot pay a property line ten thousand times over: the most a line could pay is its
    estate's floor area at the month's best rate and coefficient for its days. An area registered too small is
    corrected in the registry first (with its reason), and then bounds the line."""
    batch, lines = await paid_batch(client, as_user, db)
    finance, finance2, admin = await as_user("finance"), await as_user("finance2"), await as_user("admin")
    line = next(line for line in lines if line["amount_fen"] > 0 and not line["vetoed"])
    before = await proposals(db, "property")
    for too_much in (line["amount_fen"] * 2, 1_000_000_000_000):
        body = {"client_id": f"too-much-property-{too_much}", "reason": "核对后补付", "corrections": [{"line_id": line["id"], "amount_fen": too_much}]}
        refused = await client.post(f"/api/subsidies/batches/{batch['id']}/adjustments", json=body, headers=finance)
        assert_problem(refused, 422, "could pay at most")
        assert "请先在区片登记中更正" in refused.json()["detail_zh"]
    assert await proposals(db, "property") == before
    estate = (await client.get(f"/api/registry/estates/{line['estate_id']}", headers=admin)).json()
    grown = {"floor_area_centi_m2": estate["floor_area_centi_m2"] * 3, "reason": "测绘复核：原登记面积漏计两栋楼"}
    assert (await client.patch(f"/api/registry/estates/{line['estate_id']}", json=grown, headers=admin)).status_code == 200
    body = {"client_id": "area-corrected", "reason": "面积更正后补付", "corrections": [{"line_id": line["id"], "amount_fen": line["amount_fen"] * 2}]}
    assert (await adjust(client, "/api/subsidies", batch["id"], body, finance, finance2)).json()["total_fen"] == line["amount_fen"]

    # A line priced for too few days (the estate's entry into management was recorded late, and corrected in the
    # registry since): the registry's days bound it, not the line's.
    short = next(other for other in lines if other["id"] != line["id"] and other["amount_fen"] > 0 and not other["vetoed"] and Fraction(other["coefficient"]) < 1)
    async with db() as session:
        await session.execute(sa.update(PropertyLine).where(PropertyLine.line_id == short["id"]).values(days=3))
        await session.commit()
    body = {"client_id": "days-corrected", "reason": "纳管日期更正后补付", "corrections": [{"line_id": short["id"], "amount_fen": short["amount_fen"] + 100}]}
    assert (await adjust(client, "/api/subsidies", batch["id"], body, finance, finance2)).json()["total_fen"] == 100


async def test_a_correction_restoring_what_was_recovered_is_refused_when_the_fund_has_spent_it_since(client, db) -> None:  # type: ignore[no-untyped-def]
    """A claim and a case recovered in full; the fund then approves other spending up to its last fen. Restoring the
    recovered line would take money the fund no longer has: the proposal is refused saying so (not a proposal that
    no approval can ever issue, nor "retry")."""
    finance, finance2 = await login(client, "finance"), await login(client, "finance2")
    for code in ("activity_funds", "relief"):
        batch, line = await first_line(client, db, code, finance)
        body = {"client_id": f"recover-then-{code}", "reason": "发票作废，全额追回", "corrections": [{"line_id": line["id"], "amount_fen": 0}]}
        await adjust(client, f"/api/programmes/{code}", batch.id or 0, body, finance, finance2)
        async with db() as session:  # other claims and cases take everything left in the fund meanwhile
            if code == "activity_funds":
                claim = (await session.execute(sa.select(ActivityClaim).where(ActivityClaim.id == int(line["key"].removeprefix("claim:"))))).scalar_one()
                await session.execute(sa.update(ActivityFund).where(ActivityFund.id == claim.fund_id).values(held_fen=ActivityFund.allocated_fen - ActivityFund.lapsed_fen))
            else:
                case = (await session.execute(sa.select(ReliefApplication).where(ReliefApplication.id == int(line["key"].removeprefix("relief:"))))).scalar_one()
                await session.execute(sa.update(ReliefFund).where(ReliefFund.year == case.year, ReliefFund.fund == case.fund).values(committed_fen=ReliefFund.budget_fen))
            await session.commit()
        before = await proposals(db, code)
        body = {"client_id": f"restore-spent-{code}", "reason": "发票补正，恢复拨付", "corrections": [{"line_id": line["id"], "amount_fen": line["amount_fen"]}]}
        refused = await client.post(f"/api/programmes/{code}/batches/{batch.id}/adjustments", json=body, headers=finance)
        assert_problem(refused, 422, "cannot be restored")
        assert "余额仅剩 0.00 元" in refused.json()["detail_zh"], refused.json()
        assert await proposals(db, code) == before


async def test_a_tranche_s_public_record_shows_what_it_paid_after_a_correction(client, db) -> None:  # type: ignore[no-untyped-def]
    """The open-contracting record publishes each tranche's payment: a correction recovering part of it is what was
    paid in the end, and the record says so (and is newer than the correction)."""
    finance, finance2 = await login(client, "finance"), await login(client, "finance2")
    batch, line = await first_line(client, db, "community_tranches", finance)
    _, contract_id, tranche = line["key"].split(":")
    progress = (await client.get(f"/api/evaluation/contracts/{contract_id}", headers=finance)).json()
    number = next(c["number"] for c in (await client.get("/api/calls", headers=await login(client, "admin"))).json() if c["id"] == progress["call_id"])

    async def transaction() -> tuple[dict, str]:  # type: ignore[type-arg]
        record = (await client.get(f"/api/ocds/records/{ocid_of(publication_rules(), number)}")).json()["records"][0]["compiledRelease"]
        published = next(c for c in record["contracts"] if c["id"] == progress["number"])
        return next(t for t in published["implementation"]["transactions"] if t["id"].endswith(f"-tranche-{tranche}")), record["date"]

    before, _ = await transaction()
    assert Decimal(str(before["value"]["amount"])) * 100 == line["amount_fen"], before
    body = {"client_id": "tranche-recovered", "reason": "中期评估后扣减", "corrections": [{"line_id": line["id"], "amount_fen": line["amount_fen"] - 12_345}]}
    adjusted = (await adjust(client, "/api/programmes/community_tranches", batch.id or 0, body, finance, finance2)).json()
    after, dated = await transaction()
    assert Decimal(str(after["value"]["amount"])) * 100 == line["amount_fen"] - 12_345, after
    issued = datetime.fromisoformat(adjusted["issued_at"].replace("Z", "+00:00")).replace(microsecond=0)  # OCDS dates are to the second
    assert datetime.fromisoformat(dated) >= issued, (dated, adjusted["issued_at"])


async def test_a_street_officer_reads_a_paid_run_as_their_street_s_part_not_the_district_s_batch(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    """The run page filters a street's officer to their street; its batch card did too little: it showed the whole
    district's batch total and every adjustment beside 本街道 0.00. Now an officer reads their street's amount; the
    batch's figures and corrections are finance's."""
    batch, lines = await paid_batch(client, as_user, db)
    finance, finance2 = await as_user("finance"), await as_user("finance2")
    line = next(line for line in lines if line["amount_fen"] > 100 and not line["vetoed"])
    body = {"client_id": "street-view", "reason": "面积更正", "corrections": [{"line_id": line["id"], "amount_fen": line["amount_fen"] - 100}]}
    adjusted = (await adjust(client, "/api/subsidies", batch["id"], body, finance, finance2)).json()
    for officer, corrected in (("xbl-officer", "其后经更正追回 1.00 元"), ("ns-officer", None)):
        await page_login(client, officer)
        shown = (await client.get(f"/subsidies/runs/{batch['run_id']}")).text
        assert batch["number"] in shown and "本街道金额" in shown, officer
        assert f"<p>金额 {yuan(batch['total_fen'])} 元" not in shown and adjusted["number"] not in shown, officer
        # The street's own corrections are its part of the batch too: what its lines paid in the end.
        assert (corrected in shown) if corrected else ("其后经更正" not in shown), (officer, shown[shown.find("本街道金额") :][:200])
        client.cookies.clear()
    await page_login(client, "finance")
    shown = (await client.get(f"/subsidies/runs/{batch['run_id']}")).text
    assert f"<p>金额 {yuan(batch['total_fen'])} 元" in shown and adjusted["number"] in shown
