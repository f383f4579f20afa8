"""Adjustments of the property subsidy: nobody corrects an issued batch alone (one finance officer proposes, another
approves, and only the approval pays), what a line pays in all stays split between city and district by the rule
however many corrections it has, a month whose veto was upheld is never paid through a correction, and a client
id names one proposal."""

from __future__ import annotations

from fractions import Fraction

from sqlalchemy import select, update

from subsidies.engine.rules import PayerSplit, split_between_payers
from subsidies.engine.tables import ProgrammeAdjustment as AdjustmentLine
from subsidies.engine.tables import ProgrammeLedgerEntry as LedgerEntry
from subsidies.property.tables import PropertyLine, SubsidyLine
from tests.integration.helpers import roomiest, waiting_on
from tests.integration.test_issued_documents import paid_batch
from tests.integration.test_pages import page_login
from tests.integration.test_role_pages import csrf

HALF = Fraction(1, 2)  # the demo district's cards: the city pays half, rounded half up (config/subsidies.toml)
RULE = PayerSplit("city", "half_up")


async def test_a_correction_is_proposed_by_one_officer_and_paid_only_when_another_approves(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    batch, lines = await paid_batch(client, as_user, db)
    finance, finance2 = await as_user("finance"), await as_user("finance2")
    # An odd amount (its halves differ by a fen), priced below the best coefficient: the rules leave it room to be
    # corrected upwards (a correction never pays past what the best grade would).
    line = next(line for line in lines if line["amount_fen"] % 2 == 1 and not line["vetoed"] and Fraction(line["coefficient"]) < 1)
    body = {"client_id": "split-fen-1", "reason": "面积复核：多计 1 分", "corrections": [{"line_id": line["id"], "amount_fen": line["amount_fen"] + 1}]}
    proposed = await client.post(f"/api/subsidies/batches/{batch['id']}/adjustments", json=body, headers=finance)
    assert proposed.status_code == 202 and proposed.json()["state"] == "proposed", proposed.text
    async with db() as session:  # nothing is paid yet
        assert (await session.execute(select(AdjustmentLine))).first() is None
    # The other finance officer is told; the proposer may not approve it.
    assert len(await waiting_on(client, finance2, "物业补贴更正待审批")) == 1
    assert await waiting_on(client, finance, "物业补贴更正待审批") == []
    own = await client.post(f"/api/subsidies/adjustments/{proposed.json()['id']}/approve", headers=finance)
    assert own.status_code == 403 and own.json()["rule"] == "approve_own_adjustment" and "更正审批" in own.json()["detail_zh"], own.text
    # On the run's page, where the notice links: the proposer reads why it is not theirs; the other officer approves.
    run_page = f"/subsidies/runs/{batch['run_id']}"
    await page_login(client, "finance")
    shown = (await client.get(run_page)).text
    assert f'id="proposal-{proposed.json()["id"]}"' in shown and "面积复核：多计 1 分" in shown and "须由其他财政人员审批" in shown
    assert f"/adjustments/{proposed.json()['id']}/approve" not in shown
    await page_login(client, "finance2")
    shown = (await client.get(run_page)).text
    assert f"/adjustments/{proposed.json()['id']}/approve" in shown and "审批并签发调整批次" in shown
    approved = await client.post(f"{run_page}/adjustments/{proposed.json()['id']}/approve", data={"_csrf_token": await csrf(client)}, follow_redirects=False)
    assert approved.status_code in (302, 303), approved.text
    shown = (await client.get(run_page)).text
    assert f"调整批次 {batch['number']}-ADJ01" in shown and f'id="proposal-{proposed.json()["id"]}"' not in shown
    assert await waiting_on(client, finance2, "物业补贴更正待审批") == []

    # Two more one-fen corrections, each proposed by finance2 and approved by finance: whatever their order, the line
    # pays in all exactly the rule's split of what it should pay (a correction split on its own would give the city
    # the odd fen every time).
    for n, corrected in enumerate((line["amount_fen"] + 2, line["amount_fen"] + 3), start=2):
        body = {"client_id": f"split-fen-{n}", "reason": "面积复核", "corrections": [{"line_id": line["id"], "amount_fen": corrected}]}
        proposal = (await client.post(f"/api/subsidies/batches/{batch['id']}/adjustments", json=body, headers=finance2)).json()
        issued = await client.post(f"/api/subsidies/adjustments/{proposal['id']}/approve", headers=finance)
        assert issued.status_code == 201 and issued.json()["number"] == f"{batch['number']}-ADJ0{n}", issued.text
        async with db() as session:
            stored = (await session.execute(select(SubsidyLine).where(SubsidyLine.id == line["id"]))).scalar_one()
            adjustments = (await session.execute(select(AdjustmentLine).where(AdjustmentLine.line_id == line["id"]))).scalars().all()
            city = stored.city_fen + sum(a.city_fen for a in adjustments)
            district = stored.district_fen + sum(a.district_fen for a in adjustments)
            ledger = (await session.execute(select(LedgerEntry).where(LedgerEntry.adjustment_id.in_([a.id for a in adjustments])))).scalars().all()  # type: ignore[union-attr]
        assert (city, district) == split_between_payers(corrected, HALF, RULE), (n, city, district)
        assert sum(e.amount_fen for e in ledger if e.payer == "city") == city - stored.city_fen
        assert sum(e.amount_fen for e in ledger if e.payer == "district") == district - stored.district_fen


async def test_a_client_id_names_one_proposal_and_an_upheld_veto_is_never_paid_by_a_correction(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    batch, lines = await paid_batch(client, as_user, db)
    finance = await as_user("finance")
    first = roomiest(lines)
    second = next(line for line in lines if not line["vetoed"] and line["id"] != first["id"])
    body = {"client_id": "one-proposal", "reason": "面积复核", "corrections": [{"line_id": first["id"], "amount_fen": first["amount_fen"] + 100}]}
    proposed = await client.post(f"/api/subsidies/batches/{batch['id']}/adjustments", json=body, headers=finance)
    assert proposed.status_code == 202, proposed.text
    other = body | {"corrections": [{"line_id": first["id"], "amount_fen": 1}]}
    refused = await client.post(f"/api/subsidies/batches/{batch['id']}/adjustments", json=other, headers=finance)
    assert refused.status_code == 409 and "one-proposal" in refused.json()["detail"], refused.text
    listed = (await client.get("/api/subsidies/adjustments", headers=finance)).json()
    assert [(p["id"], p["corrections"]) for p in listed] == [(proposed.json()["id"], [{"line_id": first["id"], "amount_fen": first["amount_fen"] + 100}])]

    # A month whose veto was upheld is priced at nothing; a correction does not pay it (the veto is reviewed instead).
    async with db() as session:
        await session.execute(update(PropertyLine).where(PropertyLine.line_id == second["id"]).values(vetoed=True))
        await session.commit()
    vetoed = {"client_id": "pay-the-veto", "reason": "补发", "corrections": [{"line_id": second["id"], "amount_fen": second["amount_fen"] + 5_000}]}
    answer = await client.post(f"/api/subsidies/batches/{batch['id']}/adjustments", json=vetoed, headers=finance)
    assert answer.status_code == 422 and "一票否决" in answer.json()["detail_zh"], answer.text
    assert [p["id"] for p in (await client.get("/api/subsidies/adjustments", headers=finance)).json()] == [proposed.json()["id"]]


async def test_a_correction_withdrawn_by_its_proposer_leaves_the_approver_s_list_and_is_never_paid(client, as_user, db) -> None:  # type: ignore[no-untyped-def]
    batch, lines = await paid_batch(client, as_user, db)
    finance, finance2 = await as_user("finance"), await as_user("finance2")
    line = next(line for line in lines if not line["vetoed"])
    body = {"client_id": "withdrawn-property-1", "reason": "误提更正", "corrections": [{"line_id": line["id"], "amount_fen": line["amount_fen"] - 100}]}
    proposal = (await client.post(f"/api/subsidies/batches/{batch['id']}/adjustments", json=body, headers=finance)).json()
    assert len(await waiting_on(client, finance2, "物业补贴更正待审批")) == 1
    assert (await client.post(f"/api/subsidies/adjustments/{proposal['id']}/withdraw", headers=finance2)).status_code == 403
    # On the run's page the proposer withdraws it with its button.
    run_page = f"/subsidies/runs/{batch['run_id']}"
    await page_login(client, "finance")
    assert f"{run_page}/adjustments/{proposal['id']}/withdraw" in (await client.get(run_page)).text
    withdrawn = await client.post(f"{run_page}/adjustments/{proposal['id']}/withdraw", data={"_csrf_token": await csrf(client)})
    assert withdrawn.status_code == 200 and "更正已撤回" in withdrawn.text and f'id="proposal-{proposal["id"]}"' not in withdrawn.text
    assert await waiting_on(client, finance2, "物业补贴更正待审批") == []
    refused = await client.post(f"/api/subsidies/adjustments/{proposal['id']}/approve", headers=finance2)
    assert refused.status_code == 409 and "withdrawn" in refused.json()["detail"], refused.text
    async with db() as session:
        assert (await session.execute(select(AdjustmentLine))).first() is None  # nothing was paid
