"""Migration 0049 moves the property subsidy onto the programme engine: a district's runs, lines, approvals, batches,
paid estate-months, ledger and adjustments, stored as revision 0048 had them beside another programme's engine rows,
read the same after the upgrade (the same money to the same companies for the same estate-months, each paid once),
and whatever named them by id follows them; going down again gives back the old tables as they were."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, MetaData, Table, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from foundation.db import create_engine
from foundation.settings import PROJECT_ROOT
from tests.database import fresh_database_url

OLD_TABLES = {
    "subsidy_runs", "subsidy_lines", "subsidy_held_out", "subsidy_street_confirmations", "disbursement_batches", "paid_estate_months", "ledger_entries",
    "adjustment_lines",
}
T0 = datetime(2026, 4, 2, 9, 30)  # as revision 0048 stores instants: naive UTC


def _reflected(connection: Connection) -> dict[str, Table]:
    metadata = MetaData()
    metadata.reflect(connection)
    return dict(metadata.tables)


async def _database(folder: Path, name: str) -> tuple[str, Config]:
    """A new, empty database and the Alembic configuration that migrates it."""
    url = await fresh_database_url(folder, name)
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    return url, config


async def _fill_as_revision_0048(connection: AsyncConnection) -> dict[str, Any]:
    """A small district with two property runs (one disbursed and corrected, one a draft), and a care run and batch
    already on the engine, made first so that the moved rows' new ids overlap their old ones."""
    tables = await connection.run_sync(_reflected)

    async def insert(table: str, **values: object) -> int:
        inserted = await connection.execute(tables[table].insert().values(**values))
        key = inserted.inserted_primary_key
        return int(key[0]) if key and isinstance(key[0], int) else 0

    streets = [await insert("streets", code=f"S{n}", name=f"街道{n}") for n in (1, 2)]
    communities = [await insert("communities", code=f"C{n}", name=f"社区{n}", street_id=s, households=900) for n, s in zip((1, 2), streets, strict=True)]
    estates = [
        await insert("estates", code=f"E{n}", name=f"片区{n}", address=f"和平区 {n} 号", community_id=c, floor_area_centi_m2=1_000_000 * n, households=100,
                     buildings=3, management_mode="quasi", entered_on=date(2024, 1, 1))
        for n, c in ((1, communities[0]), (2, communities[0]), (3, communities[1]))
    ]
    companies = [
        await insert("companies", name=f"物业公司{n}", credit_code=f"91120101MA05XXXX{n}A", legal_representative="王立新", phone="022-23300001", address="和平区",
                     bank_name="工商银行", bank_account=f"62220000{n}")
        for n in (1, 2)
    ]
    finance = await insert("users", username="finance1", display_name="财政一", password_hash="x", role="finance", active=True, created_at=T0)
    officer = await insert("users", username="s2-officer", display_name="街道二", password_hash="x", role="street_officer", street_id=streets[1], active=True, created_at=T0)
    votes = [
        await insert("selection_votes", community_id=c, title="选聘物业", eligible_households=900, opens_on=date(2024, 1, 1), closes_on=date(2024, 1, 10),
                     status="closed", opened_at=T0, closed_at=T0, outcome="selected", ballots_cast=600, winner_company_id=companies[0], source="ballots")
        for c in communities
    ]
    contracts = [
        await insert("service_contracts", contract_number=f"HT-{n}", community_id=c, company_id=k, vote_id=v, signed_on=date(2024, 1, 15), starts_on=date(2024, 2, 1),
                     ends_on=date(2027, 1, 31), created_at=T0)
        for n, c, k, v in ((1, communities[0], companies[0], votes[0]), (2, communities[0], companies[1], votes[0]), (3, communities[1], companies[1], votes[1]))
    ]

    # Another programme on the engine first: its run, lines, batch, paid keys, ledger and documents come before.
    care_run = await insert("programme_runs", programme="care", period="2026-01", supplementary=False, state="disbursed", rules_sha256="c" * 64, created_at=T0,
                            created_by="finance1", computed_at=T0)
    care_lines = [
        await insert("programme_lines", run_id=care_run, programme="care", line_key=f"care:{n}", payee_kind="organisation", payee_id=1, holder=f"street:{streets[0]}",
                     beneficiary=f"elder:{n}", period="2026-01", amount_fen=5000, city_fen=2500, district_fen=2500, reason="服务券", evidence=f"visits:{n}",
                     rules_sha256="c" * 64)
        for n in (1, 2)
    ]
    care_batch = await insert("programme_batches", programme="care", number="JJYL-2026-01-001", run_id=care_run, total_fen=10000, city_fen=5000, district_fen=5000,
                              lines=2, checksum="d" * 64, issued_at=T0, issued_by="finance1")
    for n, line in enumerate(care_lines, 1):
        await insert("programme_paid_lines", programme="care", line_key=f"care:{n}", batch_id=care_batch, line_id=line)
        for payer in ("city", "district"):
            await insert("programme_ledger", programme="care", batch_id=care_batch, line_id=line, payee_kind="organisation", payee_id=1, period="2026-01",
                         payer=payer, amount_fen=2500)
    await insert("programme_approvals", run_id=care_run, step="confirm", holder=f"street:{streets[0]}", approved_at=T0, approved_by="街道一", total_fen=10000)

    # The property subsidy as revision 0048 has it. Run 1: 2026-Q1, disbursed, then corrected by an adjustment batch.
    scores: dict[tuple[int, str], int] = {}

    async def score(estate: int, month: str, vetoed: bool = False) -> int:
        if (estate, month) not in scores:
            street = streets[1] if estate == estates[2] else streets[0]
            community = communities[1] if estate == estates[2] else communities[0]
            scores[estate, month] = await insert(
                "estate_scores", estate_id=estate, community_id=community, street_id=street, company_id=companies[0], month=month, version=1, rules_sha256="0" * 64,
                inputs_sha256="0" * 64, score_centi=None if vetoed else 9150, grade="不合格" if vetoed else "优秀", vetoed=vetoed, result="{}", computed_at=T0, reason="",
            )
        return scores[estate, month]

    run1 = await insert("subsidy_runs", quarter="2026-Q1", supplementary=False, state="disbursed", cards_sha256="a" * 64, created_at=T0, created_by="财政一",
                        computed_at=T0 + timedelta(minutes=1), approved_at=T0 + timedelta(days=2), approved_by="财政二")
    lines: dict[str, int] = {}
    figures = {}
    # (name, estate, street, community, company, contract, month, vetoed, grade, coefficient, days, days in month, amount, city)
    for name, e, s, c, k, ct, month, vetoed, grade, coefficient, days, dim, amount, city in (
        ("e1-jan", 0, 0, 0, 0, 0, "2026-01", False, "优秀", "1", 31, 31, 300_000, 150_000),
        ("e1-feb-k1", 0, 0, 0, 0, 0, "2026-02", False, "良好", "0.95", 14, 28, 142_500, 71_250),
        ("e1-feb-k2", 0, 0, 0, 1, 1, "2026-02", False, "良好", "0.95", 14, 28, 142_500, 71_250),
        ("e2-jan", 1, 0, 0, 0, 0, "2026-01", True, "不合格", "0", 31, 31, 0, 0),
        ("e3-jan", 2, 1, 1, 1, 2, "2026-01", False, "合格", "0.85", 31, 31, 765_001, 382_500),
        ("e3-feb", 2, 1, 1, 1, 2, "2026-02", False, "优秀", "1", 28, 28, 900_000, 450_000),
    ):
        lines[name] = await insert(
            "subsidy_lines", run_id=run1, estate_id=estates[e], community_id=communities[c], street_id=streets[s], company_id=companies[k], contract_id=contracts[ct],
            month=month, score_id=await score(estates[e], month, vetoed), score_centi=None if vetoed else 9150, grade=grade, vetoed=vetoed, coefficient=coefficient,
            area_centi_m2=1_000_000 * (e + 1), days=days, days_in_month=dim, amount_fen=amount, city_fen=city, district_fen=amount - city,
        )
        figures[name] = (estates[e], month, contracts[ct], companies[k], amount, city)
    for street, total in ((streets[0], 585_000), (streets[1], 1_665_001)):
        await insert("subsidy_street_confirmations", run_id=run1, street_id=street, confirmed_at=T0 + timedelta(days=1), confirmed_by=f"街道{street}", total_fen=total)
    batch1 = await insert("disbursement_batches", number="HPBT-2026-Q1-001", run_id=run1, total_fen=2_250_001, city_fen=1_125_000, district_fen=1_125_001, lines=6,
                          checksum="b" * 64, issued_at=T0 + timedelta(days=3), issued_by="财政一")
    for name, line in lines.items():
        estate, month, contract, company, amount, city = figures[name]
        await insert("paid_estate_months", estate_id=estate, month=month, contract_id=contract, batch_id=batch1, line_id=line)
        for payer, share in (("city", city), ("district", amount - city)):
            await insert("ledger_entries", batch_id=batch1, line_id=line, company_id=company, quarter="2026-Q1", payer=payer, amount_fen=share)
    batch2 = await insert("disbursement_batches", number="HPBT-2026-Q1-001-ADJ01", corrects_batch_id=batch1, client_id="adj-0001", reason="面积更正", total_fen=-65_001,
                          city_fen=-32_500, district_fen=-32_501, lines=2, checksum="e" * 64, issued_at=T0 + timedelta(days=9), issued_by="财政二")
    for name, corrected, delta, city in (("e1-jan", 335_000, 35_000, 17_500), ("e3-jan", 665_000, -100_001, -50_000)):
        estate, month, _, company, _, _ = figures[name]
        adjustment = await insert("adjustment_lines", batch_id=batch2, line_id=lines[name], estate_id=estate, company_id=company, month=month,
                                  corrected_amount_fen=corrected, delta_fen=delta, city_fen=city, district_fen=delta - city)
        for payer, share in (("city", city), ("district", delta - city)):
            await insert("ledger_entries", batch_id=batch2, adjustment_line_id=adjustment, company_id=company, quarter="2026-Q1", payer=payer, amount_fen=share)
    issued = [[lines["e1-jan"], 335_000], [lines["e3-jan"], 665_000]]
    await insert("adjustment_proposals", programme="property", batch_id=batch1, client_id="adj-0001", reason="面积更正", corrections=json.dumps(issued), delta_fen=-65_001,
                 state="issued", proposed_at=T0 + timedelta(days=8), proposed_by_user_id=finance, proposed_by="财政一", issued_batch_id=batch2,
                 approved_at=T0 + timedelta(days=9), approved_by="财政二")
    await insert("adjustment_proposals", programme="property", batch_id=batch1, client_id="adj-0002", reason="天数更正", corrections=json.dumps([[lines["e3-feb"], 880_000]]),
                 delta_fen=-20_000, state="proposed", proposed_at=T0 + timedelta(days=10), proposed_by="财政一")
    await insert("adjustment_proposals", programme="care", batch_id=care_batch, client_id="care-adj-0001", reason="服务券更正", corrections=json.dumps([[care_lines[0], 4000]]),
                 delta_fen=-1000, state="proposed", proposed_at=T0, proposed_by="财政一")

    # Run 2: a supplementary draft of the quarter, with held-out estate-months and one street's confirmation.
    run2 = await insert("subsidy_runs", quarter="2026-Q1", supplementary=True, state="draft", cards_sha256="f" * 64, created_at=T0 + timedelta(days=20),
                        created_by="财政二", computed_at=T0 + timedelta(days=20, hours=1))
    for name, e, s, c, k, ct, amount, city in (("r2-e2-mar", 1, 0, 0, 0, 0, 190_000, 95_000), ("r2-e3-mar", 2, 1, 1, 1, 2, 900_000, 450_000)):
        lines[name] = await insert(
            "subsidy_lines", run_id=run2, estate_id=estates[e], community_id=communities[c], street_id=streets[s], company_id=companies[k], contract_id=contracts[ct],
            month="2026-03", score_id=await score(estates[e], "2026-03"), score_centi=9150, grade="优秀", vetoed=False, coefficient="1", area_centi_m2=1_000_000 * (e + 1),
            days=31, days_in_month=31, amount_fen=amount, city_fen=city, district_fen=amount - city,
        )
    for estate, street, month, reason in ((estates[0], streets[0], "2026-03", "month_not_locked"), (estates[1], streets[0], "2026-02", "veto_pending")):
        await insert("subsidy_held_out", run_id=run2, estate_id=estate, street_id=street, month=month, reason=reason)
    await insert("subsidy_street_confirmations", run_id=run2, street_id=streets[1], confirmed_at=T0 + timedelta(days=21), confirmed_by="街道二", total_fen=900_000)

    # Documents: the property batches' (old ids, overlapping the ids they will get), the care batch's and an estate's.
    for kind, subject, number in (
        ("batch_summary", f"batch:{batch1}", "HPBT-2026-Q1-001"), ("batch_lines", f"batch:{batch1}", "HPBT-2026-Q1-001"),
        ("payment_notice", f"batch:{batch1}/company:{companies[0]}", "HPBT-2026-Q1-001"), ("payment_notice", f"batch:{batch1}/company:{companies[1]}", "HPBT-2026-Q1-001"),
        ("batch_summary", f"batch:{batch2}", "HPBT-2026-Q1-001-ADJ01"), ("batch_summary", f"programme-batch:{care_batch}", "JJYL-2026-01-001"),
        ("payment_notice", f"programme-batch:{care_batch}/organisation:1", "JJYL-2026-01-001"),
        ("estate_report", f"estate:{estates[0]}/2026-01/score:{scores[estates[0], '2026-01']}", "PG-1"),
    ):
        await insert("issued_documents", code=f"{kind}-{subject}".replace("/", "-")[:32].ljust(32, "0"), kind=kind, subject=subject, number=number, title=number,
                     total_fen=None, checksum="0" * 64, pdf_sha256="0" * 64, media_type="application/pdf", pages=1, kept=True, issued_at=T0)

    # Notices: what waits on the runs (old step keys), a link to a run, and the care run's notice.
    round_ = f"{T0 + timedelta(days=20, hours=1):%Y%m%d%H%M%S%f}"
    for key, user, link, read, body in (
        (f"run-batch|{run1}|{finance}", finance, f"/subsidies/runs/{run1}", None, f"核算 #{run1} 已审批，请生成拨付批次。"),
        (f"run-approve|{run1}|{finance}", finance, f"/subsidies/runs/{run1}", T0 + timedelta(days=2), "请处理"),
        (f"run-confirm|{run2}:{streets[0]}|{round_}|{officer}", officer, f"/subsidies/runs/{run2}", None, f"核算 #{run2} 中本街道合计 1.00 元，请核对后确认。"),
        (f"quarter-run|2026-Q1|{finance}", finance, f"/subsidies/runs/{run2}#batch", None, f"测算 #{run2} 待各街道确认后审批。"),
        (f"programme-step|{care_run}:confirm:street:{streets[0]}|{round_}|{officer}", officer, "/care/runs", None, f"核算 #{care_run}中您负责的部分合计 1.00 元"),
        (f"programme-batch|{care_run}|{finance}", finance, "/care/runs", None, "请处理"),
    ):
        await insert("notifications", key=key, user_id=user, title="待办", body=body, link=link, created_at=T0, read_at=read)
    return {"scores": scores, "run1": run1, "run2": run2, "batch1": batch1, "batch2": batch2, "care_run": care_run, "care_batch": care_batch, "streets": streets,
            "finance": finance, "officer": officer, "round": round_, "lines": lines, "figures": figures, "companies": companies}


async def _all(connection: AsyncConnection, sql: str, **params: object) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in (await connection.execute(text(sql), params)).all()]


def _key(estate: int, month: str, contract: int) -> str:
    return f"estate:{estate}:{month}:contract:{contract}"


async def _before(connection: AsyncConnection) -> dict[str, list[tuple[Any, ...]]]:
    """The property subsidy as an auditor reads it from the old tables, naming rows by what they are (runs by their
    ids, which the engine keeps as legacy ids; lines by run and key; batches by number)."""
    line = "l.run_id || '/estate:' || l.estate_id || ':' || l.month || ':contract:' || l.contract_id"
    return {
        "runs": await _all(connection, "SELECT id, quarter, supplementary, state, cards_sha256, created_at, created_by, computed_at FROM subsidy_runs ORDER BY id"),
        "lines": await _all(connection, f"""SELECT {line}, l.company_id, l.street_id, l.amount_fen, l.city_fen, l.district_fen, l.estate_id, l.community_id, l.contract_id,
            l.month, l.score_id, l.score_centi, l.grade, l.vetoed, l.coefficient, l.area_centi_m2, l.days, l.days_in_month FROM subsidy_lines l ORDER BY l.id"""),
        "confirmations": await _all(connection, "SELECT run_id, 'street:' || street_id, confirmed_at, confirmed_by, total_fen FROM subsidy_street_confirmations ORDER BY id"),
        "held_out": await _all(connection, "SELECT run_id, estate_id, street_id, month, reason FROM subsidy_held_out ORDER BY id"),
        "batches": await _all(connection, """SELECT b.number, b.run_id, c.number, b.client_id, b.reason, b.total_fen, b.city_fen, b.district_fen, b.lines, b.checksum,
            b.issued_at, b.issued_by FROM disbursement_batches b LEFT JOIN disbursement_batches c ON c.id = b.corrects_batch_id ORDER BY b.id"""),
        "paid": await _all(connection, f"""SELECT 'estate:' || p.estate_id || ':' || p.month || ':contract:' || p.contract_id, b.number, {line}
            FROM paid_estate_months p JOIN disbursement_batches b ON b.id = p.batch_id JOIN subsidy_lines l ON l.id = p.line_id ORDER BY 1"""),
        "adjustments": await _all(connection, f"""SELECT b.number, {line}, a.corrected_amount_fen, a.delta_fen, a.city_fen, a.district_fen
            FROM adjustment_lines a JOIN disbursement_batches b ON b.id = a.batch_id JOIN subsidy_lines l ON l.id = a.line_id ORDER BY a.id"""),
        "ledger": await _all(connection, f"""SELECT b.number, {line}, e.adjustment_line_id IS NOT NULL, e.company_id, e.quarter, e.payer, e.amount_fen FROM ledger_entries e
            JOIN disbursement_batches b ON b.id = e.batch_id
            LEFT JOIN adjustment_lines a ON a.id = e.adjustment_line_id JOIN subsidy_lines l ON l.id = COALESCE(e.line_id, a.line_id) ORDER BY e.id"""),
        "sums": await _all(connection, "SELECT company_id, quarter, SUM(amount_fen) FROM ledger_entries GROUP BY company_id, quarter ORDER BY 1, 2"),
    }


async def _after(connection: AsyncConnection) -> dict[str, list[tuple[Any, ...]]]:
    """The same reading of the engine's tables and the property subsidy's own."""
    line = "lr.legacy_id || '/' || l.line_key"
    def lines(on: str) -> str:
        return f"programme_lines l ON {on} JOIN property_legacy_runs lr ON lr.run_id = l.run_id"

    return {
        "runs": await _all(connection, """SELECT lr.legacy_id, r.period, r.supplementary, r.state, r.rules_sha256, r.created_at, r.created_by, r.computed_at
            FROM programme_runs r JOIN property_legacy_runs lr ON lr.run_id = r.id WHERE r.programme = 'property' ORDER BY r.id"""),
        "lines": await _all(connection, f"""SELECT {line}, l.payee_id, f.street_id, l.amount_fen, l.city_fen, l.district_fen, f.estate_id, f.community_id, f.contract_id,
            f.month, f.score_id, f.score_centi, f.grade, f.vetoed, f.coefficient, f.area_centi_m2, f.days, f.days_in_month
            FROM programme_lines l JOIN property_legacy_runs lr ON lr.run_id = l.run_id JOIN property_lines f ON f.line_id = l.id WHERE l.programme = 'property' ORDER BY l.id"""),
        "confirmations": await _all(connection, """SELECT lr.legacy_id, a.holder, a.approved_at, a.approved_by, a.total_fen FROM programme_approvals a
            JOIN property_legacy_runs lr ON lr.run_id = a.run_id WHERE a.step = 'confirm' ORDER BY a.id"""),
        "held_out": await _all(connection, """SELECT lr.legacy_id, h.estate_id, h.street_id, h.month, h.reason FROM property_held_out h
            JOIN property_legacy_runs lr ON lr.run_id = h.run_id ORDER BY h.id"""),
        "batches": await _all(connection, """SELECT b.number, lr.legacy_id, c.number, b.client_id, b.reason, b.total_fen, b.city_fen, b.district_fen, b.lines, b.checksum,
            b.issued_at, b.issued_by FROM programme_batches b LEFT JOIN programme_batches c ON c.id = b.corrects_batch_id
            LEFT JOIN property_legacy_runs lr ON lr.run_id = b.run_id WHERE b.programme = 'property' ORDER BY b.id"""),
        "paid": await _all(connection, f"""SELECT p.line_key, b.number, {line} FROM programme_paid_lines p JOIN programme_batches b ON b.id = p.batch_id
            JOIN {lines("l.id = p.line_id")} WHERE p.programme = 'property' ORDER BY 1"""),
        "adjustments": await _all(connection, f"""SELECT b.number, {line}, a.corrected_amount_fen, a.delta_fen, a.city_fen, a.district_fen
            FROM programme_adjustments a JOIN programme_batches b ON b.id = a.batch_id JOIN {lines("l.id = a.line_id")} WHERE b.programme = 'property' ORDER BY a.id"""),
        "ledger": await _all(connection, f"""SELECT b.number, {line}, e.adjustment_id IS NOT NULL, e.payee_id, e.period, e.payer, e.amount_fen FROM programme_ledger e
            JOIN programme_batches b ON b.id = e.batch_id LEFT JOIN programme_adjustments a ON a.id = e.adjustment_id
            JOIN {lines("l.id = COALESCE(e.line_id, a.line_id)")} WHERE e.programme = 'property' AND e.payee_kind = 'company' ORDER BY e.id"""),
        "sums": await _all(connection, "SELECT payee_id, period, SUM(amount_fen) FROM programme_ledger WHERE programme = 'property' GROUP BY payee_id, period ORDER BY 1, 2"),
    }


async def _untouched(connection: AsyncConnection) -> dict[str, list[tuple[Any, ...]]]:
    """What the migration must leave as it is: the care programme's rows and documents, the estate's report."""
    return {
        table: await _all(connection, f"SELECT * FROM {table} WHERE {where} ORDER BY 1")
        for table, where in (
            ("programme_runs", "programme = 'care'"), ("programme_lines", "programme = 'care'"), ("programme_batches", "programme = 'care'"),
            ("programme_paid_lines", "programme = 'care'"), ("programme_ledger", "programme = 'care'"), ("adjustment_proposals", "programme = 'care'"),
            ("programme_approvals", "run_id IN (SELECT id FROM programme_runs WHERE programme = 'care')"),
            ("issued_documents", "subject NOT LIKE 'batch:%'"), ("notifications", "link = '/care/runs'"), ("audit_log", "1 = 1"),
        )
    }


async def _old_rows(connection: AsyncConnection) -> dict[str, list[tuple[Any, ...]]]:
    """The old tables and what names their rows by id, row by row (for the way down)."""
    columns = {
        "subsidy_runs": "id, quarter, supplementary, state, cards_sha256, created_at, created_by, computed_at, approved_at, approved_by",
        "subsidy_lines": "id, run_id, estate_id, community_id, street_id, company_id, contract_id, month, score_id, score_centi, grade, vetoed, coefficient, "
                         "area_centi_m2, days, days_in_month, amount_fen, city_fen, district_fen",
        "subsidy_held_out": "id, run_id, estate_id, street_id, month, reason",
        "subsidy_street_confirmations": "id, run_id, street_id, confirmed_at, confirmed_by, total_fen",
        "disbursement_batches": "id, number, run_id, corrects_batch_id, client_id, reason, total_fen, city_fen, district_fen, lines, checksum, issued_at, issued_by",
        "paid_estate_months": "estate_id, month, contract_id, batch_id, line_id",
        "adjustment_lines": "id, batch_id, line_id, estate_id, company_id, month, corrected_amount_fen, delta_fen, city_fen, district_fen",
        "ledger_entries": "id, batch_id, line_id, adjustment_line_id, company_id, quarter, payer, amount_fen",
        "adjustment_proposals": "*", "issued_documents": "*", "notifications": "*",
    }
    return {table: await _all(connection, f"SELECT {cols} FROM {table} ORDER BY 1, 2, 3") for table, cols in columns.items()}


async def test_the_property_subsidy_moves_onto_the_engine_and_back(tmp_path: Path) -> None:
    url, config = await _database(tmp_path, "property0049")
    await asyncio.to_thread(command.upgrade, config, "0048")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            made = await _fill_as_revision_0048(connection)
        async with engine.connect() as connection:
            before, untouched, old_rows = await _before(connection), await _untouched(connection), await _old_rows(connection)
    finally:
        await engine.dispose()
    assert [len(before[k]) for k in ("runs", "lines", "batches", "paid", "adjustments", "ledger")] == [2, 8, 2, 6, 2, 16]

    await asyncio.to_thread(command.upgrade, config, "head")

    run1, run2, finance, officer = made["run1"], made["run2"], made["finance"], made["officer"]
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
            assert not names & OLD_TABLES and {"property_lines", "property_held_out", "property_legacy_runs"} <= names
            # Same runs, lines, approvals, held-out estate-months, batches, paid keys, adjustments and ledger, read alike.
            after = await _after(connection)
            assert after == before
            assert await _untouched(connection) == untouched

            ids = dict(await _all(connection, "SELECT legacy_id, run_id FROM property_legacy_runs"))
            assert set(ids) == {run1, run2} and made["care_run"] not in ids.values()
            new1, new2 = ids[run1], ids[run2]
            approvals = await _all(connection, "SELECT run_id, step, holder, approved_by, total_fen FROM programme_approvals WHERE run_id IN (:a, :b) ORDER BY id", a=new1, b=new2)
            s1, s2 = made["streets"]
            assert approvals == [
                (new1, "confirm", f"street:{s1}", f"街道{s1}", 585_000), (new1, "confirm", f"street:{s2}", f"街道{s2}", 1_665_001),
                (new2, "confirm", f"street:{s2}", "街道二", 900_000), (new1, "approve", "", "财政二", 2_250_001),
            ]
            # A line reads as the engine shows it: its key, payee, street, estate, month, why and on what evidence.
            e1, month, k1, c1, _, _ = made["figures"]["e1-jan"]
            e2, _, _, _, _, _ = made["figures"]["e2-jan"]
            shown = await _all(connection, """SELECT line_key, payee_kind, payee_id, holder, beneficiary, period, reason, evidence, rules_sha256 FROM programme_lines
                WHERE programme = 'property' AND run_id = :r AND period = '2026-01' ORDER BY id""", r=new1)
            assert shown[:2] == [
                (_key(e1, month, k1), "company", c1, f"street:{s1}", f"estate:{e1}", "2026-01", "2026-01：优秀，系数 1，计补 31/31 天", f"score:{made['scores'][e1, month]}", "a" * 64),
                (_key(e2, month, k1), "company", c1, f"street:{s1}", f"estate:{e2}", "2026-01", "2026-01：一票否决，系数 0，计补 31/31 天", f"score:{made['scores'][e2, month]}", "a" * 64),
            ]
            # Every estate-month paid is paid once, in its batch, by the line of run 1 that paid it.
            paid = await _all(connection, """SELECT p.line_key, p.batch_id, l.run_id, l.line_key FROM programme_paid_lines p JOIN programme_lines l ON l.id = p.line_id
                WHERE p.programme = 'property'""")
            batch_ids = dict(await _all(connection, "SELECT number, id FROM programme_batches"))
            assert len(paid) == 6 and all(key == line_key and batch == batch_ids["HPBT-2026-Q1-001"] and run == new1 for key, batch, run, line_key in paid)
            assert batch_ids["JJYL-2026-01-001"] == made["care_batch"] and batch_ids["HPBT-2026-Q1-001"] != made["batch1"]
            assert dict(await _all(connection, "SELECT payee_id, SUM(amount_fen) FROM programme_ledger WHERE programme = 'property' GROUP BY payee_id")) == {
                made["companies"][0]: 477_500, made["companies"][1]: 1_707_500,
            }

            # The proposals name the new batches and lines; the care programme's is as it was.
            line_ids = {key: line_id for line_id, key in await _all(connection, "SELECT id, line_key FROM programme_lines WHERE programme = 'property' AND run_id = :r", r=new1)}
            proposals = await _all(connection, "SELECT client_id, batch_id, issued_batch_id, corrections FROM adjustment_proposals WHERE programme = 'property' ORDER BY id")
            e3, _, k3, _, _, _ = made["figures"]["e3-jan"]
            assert [(c, b, i, json.loads(x)) for c, b, i, x in proposals] == [
                ("adj-0001", batch_ids["HPBT-2026-Q1-001"], batch_ids["HPBT-2026-Q1-001-ADJ01"],
                 [[line_ids[_key(e1, "2026-01", k1)], 335_000], [line_ids[_key(e3, "2026-01", k3)], 665_000]]),
                ("adj-0002", batch_ids["HPBT-2026-Q1-001"], None, [[line_ids[_key(e3, "2026-02", k3)], 880_000]]),
            ]

            # The batches' documents are found under the batches' new ids; the others' stay where they were.
            documents = await _all(connection, "SELECT kind, subject, number FROM issued_documents WHERE subject LIKE 'batch:%' ORDER BY id")
            b1, b2 = batch_ids["HPBT-2026-Q1-001"], batch_ids["HPBT-2026-Q1-001-ADJ01"]
            c1, c2 = made["companies"]
            assert documents == [
                ("batch_summary", f"batch:{b1}", "HPBT-2026-Q1-001"), ("batch_lines", f"batch:{b1}", "HPBT-2026-Q1-001"),
                ("payment_notice", f"batch:{b1}/company:{c1}", "HPBT-2026-Q1-001"), ("payment_notice", f"batch:{b1}/company:{c2}", "HPBT-2026-Q1-001"),
                ("batch_summary", f"batch:{b2}", "HPBT-2026-Q1-001-ADJ01"),
            ]
            # What waits on a run waits at the engine's step of its new id; links lead to its new page.
            care_run = made["care_run"]
            # A notice's body names the run it links to by its new number too; the care run's notice is untouched.
            assert [(k, link, bool(unread), body) for k, link, unread, body in await _all(connection, "SELECT key, link, read_at IS NULL, body FROM notifications ORDER BY id")] == [
                (f"programme-batch|{new1}|{finance}", f"/subsidies/runs/{new1}", True, f"核算 #{new1} 已审批，请生成拨付批次。"),
                (f"programme-step|{new1}:approve:|{finance}", f"/subsidies/runs/{new1}", False, "请处理"),
                (f"programme-step|{new2}:confirm:street:{s1}|{made['round']}|{officer}", f"/subsidies/runs/{new2}", True, f"核算 #{new2} 中本街道合计 1.00 元，请核对后确认。"),
                (f"quarter-run|2026-Q1|{finance}", f"/subsidies/runs/{new2}#batch", True, f"测算 #{new2} 待各街道确认后审批。"),
                (f"programme-step|{care_run}:confirm:street:{s1}|{made['round']}|{officer}", "/care/runs", True, f"核算 #{care_run}中您负责的部分合计 1.00 元"),
                (f"programme-batch|{care_run}|{finance}", "/care/runs", True, "请处理"),
            ]
            # Issued documents are append-only again.
            transaction = await connection.begin() if not connection.in_transaction() else await connection.begin_nested()
            with pytest.raises(DBAPIError, match="append-only"):
                await connection.execute(text("UPDATE issued_documents SET subject = subject"))
            await transaction.rollback()
            if connection.dialect.name == "sqlite":
                assert (await connection.execute(text("PRAGMA foreign_key_check"))).all() == []
    finally:
        await engine.dispose()

    # Down again: the old tables as they were, row by row, and the engine holds the care programme's rows only.
    await asyncio.to_thread(command.downgrade, config, "0048")
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            assert await _old_rows(connection) == old_rows
            assert await _untouched(connection) == untouched
            assert await _all(connection, "SELECT DISTINCT programme FROM programme_runs") == [("care",)]
            names = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
            assert OLD_TABLES <= names and not names & {"property_lines", "property_held_out", "property_legacy_runs"}
            for table in ("paid_estate_months", "ledger_entries", "programme_ledger"):  # append-only again, the old tables and the engine's
                transaction = await connection.begin() if not connection.in_transaction() else await connection.begin_nested()
                with pytest.raises(DBAPIError, match="append-only"):
                    await connection.execute(text(f"DELETE FROM {table}"))
                await transaction.rollback()
    finally:
        await engine.dispose()


async def test_a_property_batch_whose_client_id_another_programme_s_proposal_waits_under_does_not_move(tmp_path: Path) -> None:
    """An adjustment batch carries its proposal's client id, unique among every programme's batches: a property
    batch issued under the client id a care proposal waits to be issued under would leave that proposal unissuable
    after the move. The upgrade says so and changes nothing."""
    url, config = await _database(tmp_path, "property0049clash")
    await asyncio.to_thread(command.upgrade, config, "0048")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            made = await _fill_as_revision_0048(connection)
            await connection.execute(
                text(
                    "INSERT INTO adjustment_proposals (programme, batch_id, client_id, reason, corrections, delta_fen, state, proposed_at, proposed_by) "
                    "VALUES ('care', :batch, 'adj-0001', '服务券更正', '[]', -1000, 'proposed', :at, '财政一')"
                ),
                {"batch": made["care_batch"], "at": T0},
            )
        with pytest.raises(RuntimeError, match="client_id adj-0001"):
            await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one() == "0048"
            assert (await connection.execute(text("SELECT COUNT(*) FROM disbursement_batches"))).scalar_one() == 2
            assert (await connection.execute(text("SELECT COUNT(*) FROM programme_batches WHERE programme = 'property'"))).scalar_one() == 0
    finally:
        await engine.dispose()


async def test_a_run_made_on_the_engine_does_not_move_back_before_it_is_disbursed(tmp_path: Path) -> None:
    """The old tables cannot say who made a run the engine made (the audit log names it by its engine id): while one
    waits for its approvals, the downgrade refuses, changing nothing; once it is disbursed it moves back."""
    url, config = await _database(tmp_path, "property0049down")
    await asyncio.to_thread(command.upgrade, config, "head")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            run = (
                await connection.execute(
                    text(
                        "INSERT INTO programme_runs (programme, period, supplementary, state, rules_sha256, created_at, created_by, computed_at) "
                        "VALUES ('property', '2026-Q1', :no, 'confirmed', :sha, :at, 'finance', :at) RETURNING id"
                    ),
                    {"no": False, "sha": "0" * 64, "at": T0},
                )
            ).scalar_one()
        with pytest.raises(RuntimeError, match=f"runs {run} were made on the engine and are not disbursed"):
            await asyncio.to_thread(command.downgrade, config, "0048")
        async with engine.begin() as connection:
            assert (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one() == "0049"
            await connection.execute(text("UPDATE programme_runs SET state = 'disbursed' WHERE id = :run"), {"run": run})
        await asyncio.to_thread(command.downgrade, config, "0048")
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT quarter, state FROM subsidy_runs"))).all() == [("2026-Q1", "disbursed")]
    finally:
        await engine.dispose()
