"""The audit log is a hash chain: every commit seals the entries it wrote, concurrent writers chain one after
another, and `supervision audit verify` names the first entry changed, deleted or inserted behind the application
(as a database owner could, past the triggers that refuse UPDATE and DELETE)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from foundation.audit import ENTRIES, ChainReport, actors_of, anchor_day, entry_digest, record_change, verify_chain
from foundation.clock import BUSINESS_TZ, business_today
from foundation.db import create_engine, create_session_factory, unit_of_work, writing
from foundation.errors import RuleViolation
from foundation.settings import load_settings
from reports.audit_statement import issue_statement
from supervision.cli import migrate, verify_audit
from tests.database import fresh_database_url, on_postgres
from tests.integration.helpers import assert_problem, pdf_text


class System:
    """The system itself as an actor, for entries written outside a request."""

    user_id = None
    label = "system (test)"


class Maker:
    """Someone whose account is id 7, as the log records who did what."""

    user_id = 7
    label = "maker (test)"


async def chain(connection: AsyncConnection) -> ChainReport:
    return await connection.run_sync(verify_chain)


async def scalar(connection: AsyncConnection, sql: str, **params: object) -> int:
    return int((await connection.execute(text(sql), params)).scalar_one())


async def bypass_guards(connection: AsyncConnection) -> None:
    """What a database owner can do: take the append-only triggers away (inside the test's transaction)."""
    if on_postgres():
        for table in ("audit_log", "audit_seals"):
            await connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    else:
        for trigger in ("audit_log_no_update", "audit_log_no_delete", "audit_seals_no_update", "audit_seals_no_delete"):
            await connection.execute(text(f"DROP TRIGGER {trigger}"))


async def test_the_whole_log_is_one_chain_and_each_commit_extends_it(client, as_user, connection) -> None:
    before = await chain(connection)
    entries = await scalar(connection, "SELECT count(*) FROM audit_log")
    assert before.holds, before.problem
    assert entries > 0 and before.checked == entries == before.head_seq

    admin = await as_user("admin")
    created = await client.post("/api/registry/streets", json={"code": "HC1", "name": "链条街"}, headers=admin)
    assert created.status_code == 201, created.text
    after = await chain(connection)
    written = await scalar(connection, "SELECT count(*) FROM audit_log") - entries
    assert after.holds, after.problem
    assert written >= 1 and after.checked == before.checked + written and after.head_seq == before.head_seq + written
    newest = await scalar(connection, "SELECT max(id) FROM audit_log WHERE action = 'street.created'")
    assert await scalar(connection, "SELECT seq FROM audit_seals WHERE entry_id = :id", id=newest) == after.head_seq


async def test_a_refused_request_leaves_neither_an_entry_nor_a_seal(client, as_user, connection) -> None:
    admin = await as_user("admin")  # a login is audited itself
    seals = await scalar(connection, "SELECT count(*) FROM audit_seals")
    taken = await client.post("/api/registry/streets", json={"code": "XBL", "name": "重名街"}, headers=admin)
    assert taken.status_code in (409, 422)
    assert await scalar(connection, "SELECT count(*) FROM audit_seals") == seals
    assert (await chain(connection)).holds


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        ("UPDATE audit_log SET reason = '事后改写' WHERE id = :id", "changed"),
        ("DELETE FROM audit_log WHERE id = :id", "deleted"),
        ("DELETE FROM audit_seals WHERE entry_id = :id", "missing"),
    ],
)
async def test_verify_names_the_entry_changed_or_deleted_behind_the_application(connection, tamper: str, named: str) -> None:
    target = await scalar(connection, "SELECT entry_id FROM audit_seals WHERE seq = 3")
    await bypass_guards(connection)
    await connection.execute(text(tamper), {"id": target})
    report = await chain(connection)
    assert not report.holds and named in report.problem
    assert report.broken_entry_id == target or report.broken_seq == 3
    assert report.checked == 2  # the two seals before it still hold


async def test_verify_names_an_entry_inserted_behind_the_application(connection) -> None:
    await connection.execute(
        text(
            "INSERT INTO audit_log (at, actor, action, entity, entity_id) "
            "VALUES (CURRENT_TIMESTAMP, 'admin (admin)', 'street.created', 'street', '99')"
        )
    )
    inserted = await scalar(connection, "SELECT max(id) FROM audit_log")
    report = await chain(connection)
    assert not report.holds and report.broken_entry_id == inserted and "not in the chain" in report.problem


async def test_resealing_a_changed_entry_breaks_the_next_seal(connection) -> None:
    """Whoever rewrites an entry and recomputes its seal must rewrite every later seal (and the signed head)."""
    target = await scalar(connection, "SELECT entry_id FROM audit_seals WHERE seq = 2")
    await bypass_guards(connection)
    await connection.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE id = :id"), {"id": target})
    previous = (await connection.execute(text("SELECT prev_sha256 FROM audit_seals WHERE seq = 2"))).scalar_one()
    stored = (await connection.execute(ENTRIES.select().where(ENTRIES.c.id == target))).one()
    await connection.execute(text("UPDATE audit_seals SET sha256 = :digest WHERE seq = 2"), {"digest": entry_digest(previous, stored)})
    report = await chain(connection)
    assert not report.holds and report.broken_seq == 3 and "does not follow" in report.problem


async def test_concurrent_writers_chain_one_after_another_and_the_command_says_so(tmp_root, capsys) -> None:
    url = await fresh_database_url(tmp_root, "audit_chain")
    await asyncio.to_thread(migrate, load_settings(database_url=url))
    engine = create_engine(url)
    factory = create_session_factory(writing(engine))

    async def write(n: int) -> None:
        async with unit_of_work(factory) as session:
            record_change(session, System(), "test.concurrent", "test", n, after={"n": n})
            record_change(session, System(), "test.concurrent", "test", n, after={"n": n, "second": True})
            await asyncio.sleep(0)  # let the others in before this one commits

    try:
        await asyncio.gather(*(write(n) for n in range(30)))
        async with engine.connect() as connection:
            report = await chain(connection)
            assert report.holds, report.problem
            assert report.checked == report.head_seq == await scalar(connection, "SELECT count(*) FROM audit_log") == 60
            # the two entries of one transaction are consecutive in the chain
            pairs = (await connection.execute(text(
                "SELECT l.entity_id, max(s.seq) - min(s.seq) FROM audit_log l JOIN audit_seals s ON s.entry_id = l.id GROUP BY l.entity_id"
            ))).all()  # fmt: skip
            assert len(pairs) == 30 and all(spread == 1 for _, spread in pairs)

        settings = load_settings(database_url=url)
        assert await asyncio.to_thread(verify_audit, settings) == 0
        assert "holds: 60 entries" in capsys.readouterr().out

        async with engine.begin() as connection:
            await bypass_guards(connection)
            target = await scalar(connection, "SELECT entry_id FROM audit_seals WHERE seq = 17")
            await connection.execute(text("UPDATE audit_log SET after = NULL WHERE id = :id"), {"id": target})
        assert await asyncio.to_thread(verify_audit, settings) == 1
        assert f"broken at entry {target} (seal 17)" in capsys.readouterr().err
    finally:
        await engine.dispose()


async def test_a_savepoint_rolled_back_takes_its_entries_and_a_read_of_the_log_sees_the_transactions_own(tmp_root) -> None:
    # Entries are written at the commit: what was recorded inside a savepoint that rolled back must not be, what was
    # recorded before it and after it must; and a read of the log inside the transaction (who made a run) sees the
    # transaction's own entries, as separation of duties needs.
    url = await fresh_database_url(tmp_root, "audit_savepoints")
    await asyncio.to_thread(migrate, load_settings(database_url=url))
    engine = create_engine(url)
    factory = create_session_factory(writing(engine))
    try:
        async with unit_of_work(factory) as session:
            record_change(session, Maker(), "test.made", "thing", 1)
            assert await actors_of(session, "thing", 1, ["test.made"]) == {7}
            with pytest.raises(RuntimeError):
                async with session.begin_nested():
                    record_change(session, Maker(), "test.undone", "thing", 1)
                    async with session.begin_nested():
                        record_change(session, Maker(), "test.undone", "thing", 2)
                    raise RuntimeError("the savepoint rolls back")
            async with session.begin_nested():
                record_change(session, Maker(), "test.kept", "thing", 3)
            record_change(session, Maker(), "test.before_a_read", "thing", 6)
            with pytest.raises(RuntimeError):
                async with session.begin_nested():
                    # a read of the log in a savepoint writes the entries recorded before it; its rollback takes
                    # their rows, not the entries
                    assert await actors_of(session, "thing", 6, ["test.before_a_read"]) == {7}
                    raise RuntimeError("the savepoint rolls back")
            record_change(session, Maker(), "test.after", "thing", 1)
        async with engine.connect() as connection:
            actions = list((await connection.execute(text("SELECT action FROM audit_log WHERE entity = 'thing' ORDER BY id"))).scalars())
            assert actions == ["test.made", "test.kept", "test.before_a_read", "test.after"]
            report = await chain(connection)
            assert report.holds, report.problem
            assert report.checked == report.head_seq == await scalar(connection, "SELECT count(*) FROM audit_log")
        with pytest.raises(RuntimeError):
            async with unit_of_work(factory) as session:
                record_change(session, Maker(), "test.lost", "thing", 4)
                raise RuntimeError("the whole transaction rolls back")
        async with factory() as session:  # a transaction left by closing the session, which is then used again
            await session.execute(text("SELECT 1"))
            record_change(session, Maker(), "test.abandoned", "thing", 7)
            await session.close()
            await session.execute(text("SELECT 1"))
            record_change(session, Maker(), "test.next", "thing", 5)
            await session.commit()
        async with engine.connect() as connection:
            actions = list((await connection.execute(text("SELECT action FROM audit_log WHERE entity = 'thing' ORDER BY id"))).scalars())
            assert actions == ["test.made", "test.kept", "test.before_a_read", "test.after", "test.next"]
            assert (await chain(connection)).holds
    finally:
        await engine.dispose()


async def test_a_request_refused_for_bad_input_changes_nothing_in_the_chain(client, as_user, connection) -> None:
    admin = await as_user("admin")
    before = await chain(connection)
    assert_problem(await client.post("/api/registry/streets", json={"code": "", "name": ""}, headers=admin), 400)
    after = await chain(connection)
    assert after.holds and after.head_seq == before.head_seq


async def reseal_from(connection: AsyncConnection, seq: int) -> None:
    """What a forger who understands the chain does after changing an entry: recompute every seal from there on and
    the head, so the chain is consistent with itself again."""
    seals = (await connection.execute(text("SELECT seq, entry_id, prev_sha256 FROM audit_seals WHERE seq >= :seq ORDER BY seq"), {"seq": seq})).all()
    previous = seals[0].prev_sha256
    for seal in seals:
        stored = (await connection.execute(ENTRIES.select().where(ENTRIES.c.id == seal.entry_id))).one()
        digest = entry_digest(previous, stored)
        await connection.execute(text("UPDATE audit_seals SET prev_sha256 = :prev, sha256 = :digest WHERE seq = :seq"), {"prev": previous, "digest": digest, "seq": seal.seq})
        previous = digest
    await connection.execute(text("UPDATE audit_chain_head SET sha256 = :digest"), {"digest": previous})


async def test_a_days_statement_prints_its_anchor_and_catches_a_forger_who_reseals_the_chain(app, db, connection, client) -> None:
    today = business_today()
    just_after_midnight = datetime.combine(today + timedelta(days=1), time(0, 20), BUSINESS_TZ)
    async with db() as session:
        with pytest.raises(RuleViolation, match="not over"):
            await anchor_day(session, today)
        pdf, document = await issue_statement(session, app.state.blob_store, today, just_after_midnight)
        again, same = await issue_statement(session, app.state.blob_store, today, just_after_midnight)
        assert again == pdf and same.code == document.code  # made once
        await session.commit()  # the use case's unit of work ends here (the job's ends in foundation.jobs)
    anchor = (await connection.execute(text("SELECT seq, sha256, entries FROM audit_anchors WHERE day = :day"), {"day": today})).one()
    start = datetime.combine(today, time.min, BUSINESS_TZ).astimezone(UTC).replace(tzinfo=None)
    assert anchor.seq > 5
    assert anchor.sha256 == (await connection.execute(text("SELECT sha256 FROM audit_seals WHERE seq = :seq"), {"seq": anchor.seq})).scalar_one()
    assert anchor.entries == await scalar(connection, "SELECT count(*) FROM audit_log WHERE at >= :start", start=start)
    text_of_pdf = pdf_text(pdf).replace("\n", "")
    assert "审计日志日终声明" in text_of_pdf and anchor.sha256[:32] in text_of_pdf and anchor.sha256[32:] in text_of_pdf
    genuine = (await client.get(f"/api/documents/{document.code}")).json()
    assert genuine["genuine"] is True and genuine["number"] == f"SJ-{today:%Y%m%d}"

    await bypass_guards(connection)
    target = await scalar(connection, "SELECT entry_id FROM audit_seals WHERE seq = 5")
    await connection.execute(text("UPDATE audit_log SET reason = '伪造' WHERE id = :id"), {"id": target})
    await reseal_from(connection, 5)
    report = await chain(connection)
    # caught at the first statement that covers the rewritten entry (today's, or an earlier one this database has)
    assert not report.holds and "statement of" in report.problem and report.broken_seq is not None and 5 <= report.broken_seq <= anchor.seq
