"""Rates, shares and coefficients read as decimal text, and the API accepts back what it answers (issue 13, item 1);
migration 0009 keeps every paid line, pays it per contract and rewrites stored fractions as decimal text."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Connection, MetaData, Table, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from foundation.db import create_engine
from foundation.periods import Month
from subsidies.property.tables import RateCardRow
from tests.database import fresh_database_url
from tests.integration.helpers import assert_problem

SHIPPED = {"rate_fen_per_m2_month": 30, "city_share": "0.5", "coefficients": {"优秀": "1", "良好": "0.95", "合格": "0.85", "不合格": "0.5"}}


async def test_rate_cards_read_as_decimal_text_and_what_the_api_answers_it_accepts(client, as_user, db) -> None:
    admin = await as_user("admin")
    [card] = (await client.get("/api/subsidies/rate-cards", headers=admin)).json()
    assert {k: card[k] for k in SHIPPED} == SHIPPED and card["source"] == "config"
    sent = {k: card[k] for k in SHIPPED} | {"valid_from": "2030-01-01"}
    added = await client.post("/api/subsidies/rate-cards", json=sent, headers=admin)
    assert added.status_code == 201, added.text
    assert added.json()[-1] == sent | {"source": "api"}
    async with db() as session:
        row = (await session.execute(select(RateCardRow))).scalar_one()
    assert row.city_share == "0.5" and json.loads(row.coefficients)["良好"] == "0.95"
    # A fraction, a percent or a share above one is refused with how to write it; nothing is stored.
    for bad, says in (
        ({"city_share": "1/2"}, "not 19/20"), ({"coefficients": SHIPPED["coefficients"] | {"良好": "19/20"}}, "not 19/20"), ({"city_share": "95%"}, "write 0.95"),
        ({"city_share": "1.5"}, "between 0 and 1"),
    ):
        refused = await client.post("/api/subsidies/rate-cards", json=sent | {"valid_from": "2031-01-01"} | bad, headers=admin)
        assert_problem(refused, 400, says)
    async with db() as session:
        assert (await session.execute(select(func.count()).select_from(RateCardRow))).scalar_one() == 1


async def test_the_spot_check_draw_states_its_share_as_decimal_text(client, as_user) -> None:
    answer = await client.post("/api/spot-checks/draws", json={"month": str(Month.of_instant(datetime.now(UTC))), "seed": "share-text"}, headers=await as_user("admin"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["share"] == "0.3"


async def test_migration_0009_keeps_every_paid_line_pays_it_per_contract_and_writes_ratios_as_decimals(tmp_root) -> None:
    from alembic import command
    from alembic.config import Config

    from foundation.settings import PROJECT_ROOT

    url = await fresh_database_url(tmp_root, "money0008")
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    await asyncio.to_thread(command.upgrade, config, "0008")
    engine = create_engine(url)
    try:
        # The rows are written through the tables as revision 0008 has them (today's models have columns 0008 lacks):
        # a batch paid before 0009, its lines' coefficients stored as fractions, and a rate card added through the API.
        async with engine.begin() as connection:
            tables = await connection.run_sync(lambda sync: _reflected(sync))
            now = datetime.now(UTC).replace(tzinfo=None)  # as revision 0008 stores instants: naive UTC (TIMESTAMP WITHOUT TIME ZONE)

            async def insert(table: str, **values: object) -> int:
                inserted = await connection.execute(tables[table].insert().values(**values))
                return int(inserted.inserted_primary_key[0]) if inserted.inserted_primary_key else 0

            street = await insert("streets", code="XBL", name="小白楼街道")
            shude = await insert("communities", code="XBL01", name="树德里社区", street_id=street, households=1200)
            company = await insert("companies", name="天津和平安居物业服务有限公司", credit_code="91120101MA05XXXX1A", legal_representative="王立新", phone="022-23300001", address="和平区南京路 1 号")
            estates = [await insert("estates", code=f"XBL01-0{n}", name=f"树德里 {n} 区", address=f"和平区树德里 {n} 号", community_id=shude, floor_area_centi_m2=1_000_000,
                                    households=120, buildings=4, management_mode="quasi", entered_on=date(2024, 1, 1)) for n in (1, 2)]
            vote = await insert("selection_votes", community_id=shude, title="树德里社区选聘物业", eligible_households=1200, opens_on=date(2024, 1, 1), closes_on=date(2024, 1, 10),
                                status="closed", opened_at=now, closed_at=now, outcome="selected", ballots_cast=800, winner_company_id=company)
            contract = await insert("service_contracts", contract_number="XBL01-2024-001", community_id=shude, company_id=company, vote_id=vote, signed_on=date(2024, 1, 15),
                                    starts_on=date(2024, 2, 1), ends_on=date(2027, 1, 31), created_at=now)
            run = await insert("subsidy_runs", quarter="2026-Q2", supplementary=False, state="disbursed", cards_sha256="0" * 64, created_at=now, created_by="finance", computed_at=now)
            line_ids = []
            for estate, coefficient, grade in zip(estates, ("19/20", "1"), ("良好", "优秀"), strict=True):
                score = await insert("estate_scores", estate_id=estate, community_id=shude, street_id=street, company_id=company, month="2026-05", version=1, rules_sha256="0" * 64,
                                     inputs_sha256="0" * 64, score_centi=8500, grade=grade, vetoed=False, result="{}", computed_at=now, reason="")
                line_ids.append(await insert("subsidy_lines", run_id=run, estate_id=estate, community_id=shude, street_id=street, company_id=company, contract_id=contract,
                                             month="2026-05", score_id=score, score_centi=8500, grade=grade, vetoed=False, coefficient=coefficient, area_centi_m2=100_000, days=31,
                                             days_in_month=31, amount_fen=2850, city_fen=1425, district_fen=1425))
            batch = await insert("disbursement_batches", number="HPBT-2026-Q2-001", run_id=run, total_fen=5700, city_fen=2850, district_fen=2850, lines=2, checksum="0" * 64,
                                 issued_at=now, issued_by="finance")
            await insert("rate_cards", valid_from=date(2027, 1, 1), rate_fen=30, city_share="1/2",
                         coefficients=json.dumps({"优秀": "1", "良好": "19/20", "合格": "17/20", "不合格": "1/2"}, ensure_ascii=False), created_at=now, created_by="admin")
            for estate, line in zip(estates, line_ids, strict=True):
                await insert("paid_estate_months", estate_id=estate, month="2026-05", batch_id=batch, line_id=line)
    finally:
        await engine.dispose()

    # Up to the last revision with the subsidy's own tables (0049 moves them onto the engine's, and its own test
    # follows the rows there: tests/integration/test_property_on_engine_migration.py).
    await asyncio.to_thread(command.upgrade, config, "0048")

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            paid = (await connection.execute(text("SELECT estate_id, month, contract_id, line_id FROM paid_estate_months ORDER BY line_id"))).all()
            assert [tuple(p) for p in paid] == [(e, "2026-05", contract, i) for e, i in zip(estates, line_ids, strict=True)]
            coefficients = (await connection.execute(text("SELECT coefficient FROM subsidy_lines ORDER BY id"))).scalars().all()
            assert coefficients == ["0.95", "1"]
            card = (await connection.execute(text("SELECT city_share, coefficients FROM rate_cards"))).one()
            assert card[0] == "0.5" and json.loads(card[1]) == {"优秀": "1", "良好": "0.95", "合格": "0.85", "不合格": "0.5"}
            if connection.dialect.name == "sqlite":
                assert (await connection.execute(text("PRAGMA foreign_key_check"))).all() == []
            for statement in ("UPDATE paid_estate_months SET batch_id = batch_id", "UPDATE rate_cards SET rate_fen = 31"):
                savepoint = await connection.begin_nested() if connection.in_transaction() else await connection.begin()
                with pytest.raises(DBAPIError, match="append-only"):
                    await connection.execute(text(statement))
                await savepoint.rollback()
            # The same estate-month under the same contract cannot be paid again.
            transaction = await connection.begin() if not connection.in_transaction() else await connection.begin_nested()
            with pytest.raises(IntegrityError):
                await connection.execute(text("INSERT INTO paid_estate_months (estate_id, month, contract_id, batch_id, line_id) VALUES (:e, '2026-05', :c, :b, :l)"),
                                         {"e": estates[0], "c": contract, "b": batch, "l": line_ids[1]})
            await transaction.rollback()
    finally:
        await engine.dispose()


def _reflected(connection: Connection) -> dict[str, Table]:
    metadata = MetaData()
    metadata.reflect(connection)
    return dict(metadata.tables)
