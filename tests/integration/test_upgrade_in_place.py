"""Upgrades in place (issue 22, item 4): a database made by the project's first migration, holding a district's
registry, people, a vote, a contract and audit entries written as revision 0001 stored them, is upgraded by
`supervision migrate` and loses nothing; `supervision migrate --check` says how far behind a database is."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy import Connection, MetaData, Table, text

from foundation.db import create_engine
from foundation.settings import PROJECT_ROOT, get_settings, load_settings
from people.credentials import hash_password
from supervision import cli
from supervision.app import create_app
from tests.database import fresh_database_url

PASSWORD = "first-release-2026"
# What revision 0001 knew of each table, compared row by row before and after the upgrade.
KEPT = {
    "streets": "id, code, name",
    "communities": "id, code, name, street_id, households",
    "estates": "id, code, name, address, community_id, floor_area_centi_m2, households, buildings, management_mode, entered_on, left_on",
    "companies": "id, name, credit_code, legal_representative, phone, address",
    "organisations": "id, name, kind, credit_code, phone",
    "users": "id, username, display_name, password_hash, role, street_id, community_id, company_id, organisation_id, active",
    "selection_votes": "id, community_id, title, eligible_households, opens_on, closes_on, status, outcome, ballots_cast, winner_company_id",
    "vote_estates": "vote_id, estate_id",
    "vote_candidates": "vote_id, company_id, ballots_received",
    "ballots": "id, vote_id, household, company_id",
    "service_contracts": "id, contract_number, community_id, company_id, vote_id, signed_on, starts_on, ends_on, terminated_on, termination_reason",
    "contract_estates": "contract_id, estate_id",
    "audit_log": "id, actor, action, entity, entity_id, reason",
}


@pytest.fixture(autouse=True)
def _settings_read_afresh():  # type: ignore[no-untyped-def]
    """The command reads its settings from the environment once per process: each test points it at its own database."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _reflected(connection: Connection) -> dict[str, Table]:
    metadata = MetaData()
    metadata.reflect(connection)
    return dict(metadata.tables)


async def _rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return {
                table: [tuple(r) for r in (await connection.execute(text(f"SELECT {columns} FROM {table} ORDER BY {columns.split(',')[0]}, {columns.split(',')[1]}")))]
                for table, columns in KEPT.items()
            }
    finally:
        await engine.dispose()


async def _fill_as_revision_0001(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            tables = await connection.run_sync(_reflected)
            now = datetime.now(UTC).replace(tzinfo=None)  # as revision 0001 stores instants: naive UTC

            async def insert(table: str, **values: object) -> int:
                inserted = await connection.execute(tables[table].insert().values(**values))
                return int(inserted.inserted_primary_key[0]) if inserted.inserted_primary_key else 0

            street = await insert("streets", code="XBL", name="小白楼")
            shude = await insert("communities", code="XBL01", name="树德里", street_id=street, households=1980)
            await insert("communities", code="XBL02", name="长春道", street_id=street, households=2100)
            company = await insert("companies", name="天津市安居物业服务有限公司", credit_code="91120101MA05K8XQ0B", legal_representative="王建国", phone="022-23300001", address="和平区南京路 1 号")
            rival = await insert("companies", name="天津市和泰物业服务有限公司", credit_code="91120101MA06C7PL3A", legal_representative="", phone="", address="")
            firm = await insert("organisations", name="天津公信第三方评估有限公司", kind="inspection_firm", credit_code="91120101MA07D2QW5N", phone="022-27000000")
            estates = [
                await insert("estates", code="HP-XBL01-1", name="树德里一片旧楼区", address="天津市和平区树德里 1 号至 120 号", community_id=shude, floor_area_centi_m2=1_234_567,
                             households=181, buildings=3, management_mode="company", entered_on=date(2018, 3, 1)),
                await insert("estates", code="HP-XBL01-2", name="树德里二片旧楼区", address="天津市和平区树德里 121 号至 180 号", community_id=shude, floor_area_centi_m2=987_654,
                             households=145, buildings=2, management_mode="company", entered_on=date(2019, 5, 1), left_on=date(2025, 12, 31)),
            ]
            users = {}
            for username, role, scope in (
                ("admin", "admin", {}), ("xbl-officer", "street_officer", {"street_id": street}), ("xbl01-director", "committee_director", {"community_id": shude}),
                ("company01", "company", {"company_id": company}), ("inspector1", "inspector", {"organisation_id": firm}),
            ):
                users[username] = await insert("users", username=username, display_name=f"{username} 的名字", password_hash=hash_password(PASSWORD), role=role, active=True, created_at=now, **scope)
            vote = await insert("selection_votes", community_id=shude, title="树德里社区物业服务企业选聘", eligible_households=326, opens_on=date(2025, 10, 1), closes_on=date(2025, 10, 15),
                                status="closed", opened_by_user_id=users["xbl01-director"], opened_at=now, closed_by_user_id=users["xbl01-director"], closed_at=now,
                                outcome="elected", ballots_cast=3, winner_company_id=company)
            for candidate, received in ((company, 2), (rival, 1)):
                await insert("vote_candidates", vote_id=vote, company_id=candidate, ballots_received=received)
            for estate in estates:
                await insert("vote_estates", vote_id=vote, estate_id=estate)
            for household, choice in (("1-1-101", company), ("1-1-102", company), ("1-1-103", rival)):
                await insert("ballots", vote_id=vote, household=household, company_id=choice, recorded_at=now, recorded_by_user_id=users["xbl01-director"])
            contract = await insert("service_contracts", contract_number="HPWY-2025-XBL01", community_id=shude, company_id=company, vote_id=vote, signed_on=date(2025, 10, 22),
                                    starts_on=date(2026, 1, 1), ends_on=date(2028, 12, 31), signed_by_user_id=users["xbl01-director"], created_at=now)
            for estate in estates:
                await insert("contract_estates", contract_id=contract, estate_id=estate)
            for action, entity, key in (("street.created", "street", street), ("estate.created", "estate", estates[0]), ("contract.signed", "contract", contract)):
                await insert("audit_log", at=now, actor_user_id=users["admin"], actor="admin", action=action, entity=entity, entity_id=str(key), after={"id": key})
    finally:
        await engine.dispose()


async def test_a_database_of_the_first_release_is_upgraded_in_place_and_loses_nothing(tmp_root, monkeypatch, capsys) -> None:
    from alembic import command
    from alembic.config import Config

    url = await fresh_database_url(tmp_root, "first_release")
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    await asyncio.to_thread(command.upgrade, config, "0001")
    await _fill_as_revision_0001(url)
    before = await _rows(url)
    monkeypatch.setenv("SUPERVISION_DATABASE_URL", url)

    # The operator asks first: the database is behind, by how much, and nothing is changed by asking.
    assert await asyncio.to_thread(cli.main, ["migrate", "--check"]) == 1
    said = capsys.readouterr().err
    head = (await asyncio.to_thread(cli.pending_migrations, load_settings(database_url=url)))[1]
    assert "at revision 0001" in said and f"behind this release's {head}" in said and "supervision migrate" in said
    assert await _rows(url) == before

    assert await asyncio.to_thread(cli.main, ["migrate"]) == 0
    assert await asyncio.to_thread(cli.main, ["migrate", "--check"]) == 0
    assert f"current: revision {head}" in capsys.readouterr().out
    after = await _rows(url)
    for table, rows in before.items():
        assert after[table] == rows, table
    # The entries written before the log became a hash chain were sealed by the upgrade: the chain holds.
    assert await asyncio.to_thread(cli.main, ["audit", "verify"]) == 0

    # The people of the first release log in with their passwords and see their district as they left it.
    engine = create_engine(url)
    try:
        app = create_app(load_settings(database_url=url), engine=engine)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as client:
            login = await client.post("/api/auth/login", json={"username": "xbl-officer", "password": PASSWORD})
            assert login.status_code == 200, login.text
            officer = {"Authorization": f"Bearer {login.json()['token']}"}
            estates = (await client.get("/api/registry/estates", headers=officer)).json()["items"]
            assert [(e["code"], e["floor_area_m2"], e["left_on"]) for e in estates] == [("HP-XBL01-1", "12345.67", None), ("HP-XBL01-2", "9876.54", "2025-12-31")]
            [contract] = (await client.get("/api/registry/contracts", headers=officer)).json()["items"]
            assert (contract["contract_number"], contract["estate_ids"], contract["starts_on"]) == ("HPWY-2025-XBL01", [e["id"] for e in estates], "2026-01-01")
    finally:
        await engine.dispose()


async def test_migrate_check_says_an_empty_database_was_never_migrated(tmp_root, monkeypatch, capsys) -> None:
    url = await fresh_database_url(tmp_root, "never_migrated")
    monkeypatch.setenv("SUPERVISION_DATABASE_URL", url)
    code = await asyncio.to_thread(cli.main, ["migrate", "--check"])
    said = capsys.readouterr()
    assert code == 1, said
    assert "empty (never migrated)" in said.err
