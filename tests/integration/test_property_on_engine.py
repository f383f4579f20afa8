"""The property subsidy is a programme on the engine (issue 14, item 4): its runs, lines, batches and ledger are the
engine's, so the engine's own API reads them with the same figures, its documents are the subsidy's own whichever
route serves them, it is shown once on the finance desk, and who made a run before it moved onto the engine (named
by its old id in the sealed audit log) still does not approve it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import InvalidRequestError

from foundation.access import Principal, Role
from foundation.audit import record_change
from people.tables import User
from subsidies.engine.tables import PaidLine, ProgrammeLedgerEntry, ProgrammeLine
from subsidies.property.tables import LegacyRun, PropertyLine, SubsidyLine
from tests.generated import generate_month
from tests.integration.helpers import adjust, roomiest
from tests.integration.test_adjustment_limits import first_line, proposals
from tests.integration.test_issued_documents import QUARTER, download, paid_batch, street_of
from tests.integration.test_pages import page_login


async def test_the_engine_reads_the_property_subsidy_s_runs_and_serves_its_own_documents(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    batch, lines = await paid_batch(client, as_user, db)
    finance = await as_user("finance")
    run = (await client.get(f"/api/subsidies/runs/{batch['run_id']}", headers=finance)).json()

    # The engine's API reads the same run: the same totals, and one line per estate, month and contract, keyed so.
    same = await client.get(f"/api/programmes/property/runs/{run['id']}", headers=finance)
    assert same.status_code == 200, same.text
    engine_run = same.json()
    assert (engine_run["period"], engine_run["state"], engine_run["total_fen"], engine_run["city_fen"], engine_run["district_fen"], engine_run["batch_number"]) == (
        run["quarter"], "disbursed", run["total_fen"], run["city_fen"], run["district_fen"], batch["number"]
    )
    assert {a["step"] for a in engine_run["approvals"]} == {"confirm", "approve"}
    engine_lines = (await client.get(f"/api/programmes/property/runs/{run['id']}/lines", params={"page_size": 200}, headers=finance)).json()["items"]
    by_key = {line["key"]: line for line in engine_lines}
    assert len(by_key) == len(lines)
    for line in lines:
        twin = by_key[f"estate:{line['estate_id']}:{line['month']}:contract:{line['contract_id']}"]
        assert (twin["id"], twin["amount_fen"], twin["city_fen"], twin["district_fen"], twin["payee"]) == (
            line["id"], line["amount_fen"], line["city_fen"], line["district_fen"], f"company:{line['company_id']}"
        )

    # A street officer reads their street's part through the engine's door as through the subsidy's: 小白楼 the whole
    # of this batch (its lines are all 小白楼's), 南市 nothing of it, and neither reads the batch itself.
    for officer, share in (("xbl-officer", run["total_fen"]), ("ns-officer", 0)):
        headers = await as_user(officer)
        own = (await client.get(f"/api/programmes/property/runs/{run['id']}", headers=headers)).json()
        assert own["total_fen"] == share == (await client.get(f"/api/subsidies/runs/{run['id']}", headers=headers)).json()["total_fen"], own
        assert {(a["step"], a["holder"] != "") for a in own["approvals"]} == ({("confirm", True), ("approve", False)} if share else {("approve", False)}), own
        assert (await client.get(f"/api/programmes/property/batches/{batch['id']}", headers=headers)).status_code == 403
        assert (await client.get(f"/api/subsidies/batches/{batch['id']}", headers=headers)).status_code == 403

    # Every line is paid once, as the engine's paid key, and the ledger holds its two shares.
    async with db() as session:
        paid = (await session.execute(select(func.count()).select_from(PaidLine).where(PaidLine.batch_id == batch["id"], PaidLine.programme == "property"))).scalar_one()
        ledger = (await session.execute(select(func.sum(ProgrammeLedgerEntry.amount_fen)).where(ProgrammeLedgerEntry.batch_id == batch["id"]))).scalar_one()
        facts = (await session.execute(select(func.count()).select_from(PropertyLine).join(ProgrammeLine, ProgrammeLine.id == PropertyLine.line_id).where(ProgrammeLine.run_id == run["id"]))).scalar_one()
    assert paid == facts == len(lines) and int(ledger) == batch["total_fen"]
    # A paid line is read whole through SubsidyLine, and nothing is written through it.
    async with db() as session:
        line = (await session.execute(select(SubsidyLine).where(SubsidyLine.id == lines[0]["id"]))).scalar_one()
        assert (line.amount_fen, line.estate_id, line.contract_id) == (lines[0]["amount_fen"], lines[0]["estate_id"], lines[0]["contract_id"])
        line.amount_fen += 100
        with pytest.raises(InvalidRequestError):
            await session.flush()

    # The engine's document routes serve the subsidy's own documents, byte for byte the ones issued with the batch.
    for own, generic, media in (
        (f"/api/subsidies/batches/{batch['id']}/summary.pdf", f"/api/programmes/batches/{batch['id']}/summary.pdf", "application/pdf"),
        (f"/api/subsidies/batches/{batch['id']}/lines.xlsx", f"/api/programmes/batches/{batch['id']}/lines.xlsx", "application/vnd.openxmlformats"),
        (
            f"/api/subsidies/batches/{batch['id']}/notices/{lines[0]['company_id']}",
            f"/api/programmes/batches/{batch['id']}/notices/company/{lines[0]['company_id']}",
            "application/pdf",
        ),
    ):
        assert await download(client, own, finance, media) == await download(client, generic, finance, media), generic
    made = await client.post(f"/api/programmes/batches/{batch['id']}/documents", headers=finance)
    assert made.status_code == 200 and {d["subject"] for d in made.json()} >= {f"batch:{batch['id']}", f"batch:{batch['id']}/company:{lines[0]['company_id']}"}, made.text
    assert (await client.get(f"/api/programmes/batches/{batch['id']}/notices/organisation/1", headers=finance)).status_code == 404

    # The finance desk shows the subsidy once, with what its batch paid.
    await page_login(client, "finance")
    desk = (await client.get("/programmes")).text
    assert desk.count("老旧小区准物业管理补贴") == 1


async def test_who_made_a_run_before_it_moved_onto_the_engine_does_not_approve_it(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    for n, month in enumerate(QUARTER.months):
        await generate_month(db, month, seed=n + 1)
    officer, finance, finance2 = await as_user("xbl-officer"), await as_user("finance"), await as_user("finance2")
    street = await street_of(client, officer)
    for month in QUARTER.months:
        assert (await client.post(f"/api/assessment/months/{street}/{month}/compute", headers=officer)).status_code == 200
        assert (await client.post(f"/api/assessment/months/{street}/{month}/lock", headers=officer)).status_code == 200
    run = (await client.post("/api/subsidies/runs", json={"quarter": str(QUARTER)}, headers=finance)).json()
    # As migration 0049 leaves a run made before it: the old id kept, and the audit log naming the run by it (here
    # finance2 started it then, and the street confirmed its part before finance recomputed it).
    async with db() as session:
        ids = dict((await session.execute(select(User.username, User.id).where(User.username.in_(["finance2", "xbl-officer"])))).all())  # type: ignore[attr-defined]
        session.add(LegacyRun(run_id=run["id"], legacy_id=9_001))
        record_change(session, Principal(Role.FINANCE, user_id=ids["finance2"], username="finance2"), "subsidy_run.started", "subsidy_run", 9_001, after={"quarter": str(QUARTER)})
        street_officer = Principal(Role.STREET_OFFICER, user_id=ids["xbl-officer"], username="xbl-officer", street_id=street)
        record_change(session, street_officer, "subsidy_run.street_confirmed", "subsidy_run", 9_001, after={"street_id": street})
        await session.commit()
    # Confirming once more after a recomputation is the street's own step, not someone else's work: allowed.
    confirmed = await client.post(f"/api/subsidies/runs/{run['id']}/confirm", headers=officer)
    assert confirmed.status_code == 200, confirmed.text
    refused = await client.post(f"/api/subsidies/runs/{run['id']}/approve", headers=finance2)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json"), refused.text
    # The one who started it on the engine does not approve it either.
    assert (await client.post(f"/api/subsidies/runs/{run['id']}/approve", headers=finance)).status_code == 403
    # The run's page says by which number the audit log names what was done to it before (the administrator follows it).
    await page_login(client, "admin")
    shown = (await client.get(f"/subsidies/runs/{run['id']}")).text
    assert "系统升级前编号为 #9001" in shown and "/audit?entity=subsidy_run&amp;entity_id=9001" in shown
    trail = (await client.get("/audit?entity=subsidy_run&entity_id=9001")).text
    assert "发起补贴核算" in trail and "街道确认补贴" in trail and trail.count("补贴核算 #9001") == 2


async def test_a_proposal_s_client_id_taken_by_another_programme_s_adjustment_batch_is_refused_at_once(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    """An adjustment batch carries its proposal's client id, unique among every programme's batches: a proposal under
    an id another programme's batch has could never be issued, so it is refused as it is made, and nothing is stored."""
    batch, lines = await paid_batch(client, as_user, db)
    finance, finance2 = await as_user("finance"), await as_user("finance2")
    line = roomiest(lines)
    body = {"client_id": "shared-0001", "reason": "面积复核", "corrections": [{"line_id": line["id"], "amount_fen": line["amount_fen"] + 100}]}
    await adjust(client, "/api/subsidies", batch["id"], body, finance, finance2)
    care_batch, care_line = await first_line(client, db, "care", finance)
    before = await proposals(db, "care")
    refused = await client.post(
        f"/api/programmes/care/batches/{care_batch.id}/adjustments",
        json={"client_id": "shared-0001", "reason": "服务券更正", "corrections": [{"line_id": care_line["id"], "amount_fen": care_line["amount_fen"] - 100}]},
        headers=finance,
    )
    assert refused.status_code == 409 and "shared-0001" in refused.json()["detail"] and "请求编号" in refused.json()["detail_zh"], refused.text
    assert await proposals(db, "care") == before
