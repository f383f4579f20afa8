"""The property subsidy moves onto the programme engine (programme "property"): its runs, street confirmations and
finance approvals, lines, batches, paid estate-month-contracts, ledger and adjustments become the engine's rows, and
its own tables keep what the engine has no place for: each line's facts (property_lines), the estate-months a run
held out (property_held_out) and the id each run had before (property_legacy_runs: the audit log names runs by it).

Every row is moved in id order and gets a new id from its INSERT (the engine's tables already hold other programmes'
rows, so the ids cannot be kept); what refers to a moved row by id follows it: the adjustment proposals of the
property subsidy (the batch corrected, the batch issued, the lines of their corrections), the subjects of the batches'
issued documents ("batch:<id>", "batch:<id>/company:<c>"; renamed in two passes through a temporary prefix, since old
and new ids overlap and a kept document's kind and subject are unique), and the notices waiting on a run (their keys
become the engine's steps', "run-confirm|<run>:<street>" → "programme-step|<run>:confirm:street:<street>",
"run-approve|<run>" → "programme-step|<run>:approve:", "run-batch|<run>" → "programme-batch|<run>", read or not, so a
notice already given is not given again; and links "/subsidies/runs/<run>" of any notice). The audit log is sealed
and is not touched: its entries name the old ids, which property_legacy_runs keeps for runs. Messages already queued
for the channels are sealed and keep the links they were written with.

An adjustment batch's checksum was computed over the old ids (the batch it corrects and its lines); it is kept as it
was issued, like every batch's checksum and number.

The old tables (batches, paid estate-months, ledger entries, adjustment lines and street confirmations append-only)
are dropped. Downgrade moves the property rows back into tables of the old shape (runs keep their legacy ids, other
rows get new ones, and what refers to them follows again) and removes them from the engine's tables.

Revision ID: 0049
Revises: 0048
Create Date: 2026-11-28 09:00:00.000000
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db  # noqa: F401
from foundation.append_only import drop_append_only, make_append_only

revision = '0049'
down_revision = '0048'
branch_labels = None
depends_on = None

PROGRAMME = "property"
# Dropped in this order (each after every table that refers to it); those append-only lose their triggers first.
OLD_TABLES = (
    "ledger_entries", "adjustment_lines", "paid_estate_months", "disbursement_batches", "subsidy_street_confirmations",
    "subsidy_held_out", "subsidy_lines", "subsidy_runs",
)
OLD_APPEND_ONLY = ("disbursement_batches", "paid_estate_months", "ledger_entries", "subsidy_street_confirmations", "adjustment_lines")
ENGINE_TABLES = (
    "programme_runs", "programme_approvals", "programme_lines", "programme_batches", "programme_paid_lines", "programme_adjustments",
    "programme_ledger",
)
ENGINE_APPEND_ONLY = ("programme_batches", "programme_paid_lines", "programme_adjustments", "programme_ledger")
NEW_TABLES = ("property_lines", "property_held_out", "property_legacy_runs")
BATCH_DOCUMENTS = ("batch_summary", "payment_notice", "batch_lines")
CHUNK = 1000  # rows per INSERT (a multi-row INSERT ... RETURNING where the database allows it) or executemany

Row = dict[str, Any]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _reflect(names: Iterable[str]) -> dict[str, sa.Table]:
    """The tables as the database has them. A reflected PostgreSQL key's nextval() default is dropped from the
    description (not from the database): SQLAlchemy then takes the key for the SERIAL it is, and can send rows many
    per INSERT ... RETURNING and still tell which id is whose (see _insert_returning)."""
    metadata = sa.MetaData()
    metadata.reflect(op.get_bind(), only=list(names))
    for table in metadata.tables.values():
        if "id" in table.c and table.c.id.primary_key:
            table.c.id.server_default = None
    return dict(metadata.tables)


def _rows(query: sa.Select[Any]) -> list[Row]:
    return [dict(r) for r in op.get_bind().execute(query).mappings()]


def _insert(table: sa.Table, rows: Sequence[Row]) -> None:
    for start in range(0, len(rows), CHUNK):
        op.get_bind().execute(table.insert(), list(rows[start:start + CHUNK]))


def _insert_returning(table: sa.Table, rows: Sequence[Row]) -> list[int]:
    """The ids the database gave `rows`, in their order (PostgreSQL: multi-row INSERT ... RETURNING, sorted back into
    the rows' order; SQLite, which cannot tie new rowids to a multi-row INSERT's rows, one INSERT ... RETURNING each)."""
    ids: list[int] = []
    statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    for start in range(0, len(rows), CHUNK):
        chunk = list(rows[start:start + CHUNK])
        if chunk:
            ids.extend(int(i) for i in op.get_bind().execute(statement, chunk).scalars())
    if len(ids) != len(rows):
        raise RuntimeError(f"{table.name}: {len(rows)} rows inserted, {len(ids)} ids returned")
    return ids


def _moved(table: sa.Table, rows: Sequence[Row], old_ids: Sequence[int]) -> dict[int, int]:
    return dict(zip(old_ids, _insert_returning(table, rows), strict=True))


def line_key(estate_id: int, month: str, contract_id: int) -> str:
    return f"estate:{estate_id}:{month}:contract:{contract_id}"


def line_reason(month: str, grade: str, vetoed: bool, coefficient: str, days: int, days_in_month: int) -> str:
    return f"{month}：{'一票否决' if vetoed else grade}，系数 {coefficient}，计补 {days}/{days_in_month} 天"


def _street_of(holder: str) -> int:
    kind, _, number = holder.partition(":")
    if kind != "street" or not number.isdigit():
        raise RuntimeError(f"a property line's or approval's holder is a street ('street:<id>'), not {holder!r}")
    return int(number)


# What refers to moved rows by id (both directions)


def _follow_proposals(t: dict[str, sa.Table], batches: dict[int, int], lines: dict[int, int]) -> None:
    """The property subsidy's adjustment proposals name the batch corrected, the adjustment batch issued and, in
    their corrections, the lines corrected ([[line id, amount in fen], ...])."""
    proposals = t["adjustment_proposals"]
    changed = []
    for p in _rows(sa.select(proposals.c.id, proposals.c.batch_id, proposals.c.issued_batch_id, proposals.c.corrections).where(proposals.c.programme == PROGRAMME).order_by(proposals.c.id)):
        corrections = [[lines.get(int(line_id), int(line_id)), amount] for line_id, amount in json.loads(p["corrections"])]
        changed.append({
            "b_id": p["id"], "b_batch_id": batches.get(p["batch_id"], p["batch_id"]),
            "b_issued_batch_id": None if p["issued_batch_id"] is None else batches.get(p["issued_batch_id"], p["issued_batch_id"]),
            "b_corrections": json.dumps(corrections),
        })
    if changed:
        op.get_bind().execute(
            proposals.update().where(proposals.c.id == sa.bindparam("b_id")).values(
                batch_id=sa.bindparam("b_batch_id"), issued_batch_id=sa.bindparam("b_issued_batch_id"), corrections=sa.bindparam("b_corrections"),
            ),
            changed,
        )


SUBJECT = re.compile(r"batch:(\d+)(/company:\d+)?")


def _follow_documents(t: dict[str, sa.Table], batches: dict[int, int]) -> None:
    """Documents of a batch are "batch:<id>" (its summary and lines) and "batch:<id>/company:<c>" (a payment notice):
    renamed first to "~batch:<new id>..." and then, once no old subject is left to collide with, to "batch:...". Other
    subjects ("programme-batch:<id>" of the engine's programmes, "estate:...") stay as they are."""
    documents = t["issued_documents"]
    renamed = []
    for d in _rows(sa.select(documents.c.id, documents.c.subject).where(documents.c.kind.in_(BATCH_DOCUMENTS), documents.c.subject.like("batch:%"))):
        match = SUBJECT.fullmatch(d["subject"])
        if match is not None and int(match[1]) in batches:
            renamed.append({"b_id": d["id"], "b_subject": f"~batch:{batches[int(match[1])]}{match[2] or ''}"})
    if not renamed:
        return
    drop_append_only(op, ["issued_documents"])  # the subjects follow their batches once, here, and never again
    op.get_bind().execute(documents.update().where(documents.c.id == sa.bindparam("b_id")).values(subject=sa.bindparam("b_subject")), renamed)
    op.get_bind().execute(documents.update().where(documents.c.subject.like("~batch:%")).values(subject=sa.func.substr(documents.c.subject, 2)))
    make_append_only(op, ["issued_documents"])


LINK = re.compile(r"/subsidies/runs/(\d+)(.*)", re.DOTALL)
RUN_NAMED = re.compile(r"(核算|测算) #(\d+)(?!\d)")  # a notice's body naming the run it links to: "核算 #3 中本街道合计 …"


def _follow_notifications(t: dict[str, sa.Table], runs: dict[int, int], rekey: Callable[[str, str], tuple[str, str] | None], steps: Sequence[str]) -> None:
    """Notices keyed `step|subject[|round]|user` (people.waiting): the steps waiting on a run are re-keyed by
    `rekey(step, subject)`, and links to a run's page follow the run, as does the run's number in the body of a
    notice linking to it."""
    notifications = t["notifications"]
    where = sa.or_(notifications.c.link.like("/subsidies/runs/%"), *(notifications.c.key.like(f"{step}|%") for step in steps))
    changed = []
    for n in _rows(sa.select(notifications.c.id, notifications.c.key, notifications.c.link, notifications.c.body).where(where).order_by(notifications.c.id)):
        key, link, body = n["key"], n["link"], n["body"]
        step, _, rest = key.partition("|")
        subject, _, tail = rest.partition("|")
        if step in steps and (new := rekey(step, subject)) is not None:
            key = "|".join([*new, tail])[:160] if tail else "|".join(new)[:160]
        match = LINK.fullmatch(link or "")
        if match is not None and int(match[1]) in runs:
            old, new = int(match[1]), runs[int(match[1])]
            link = f"/subsidies/runs/{new}{match[2]}"
            body = RUN_NAMED.sub(lambda named: f"{named[1]} #{new}" if int(named[2]) == old else named[0], body or "")
        if (key, link, body) != (n["key"], n["link"], n["body"]):
            changed.append({"b_id": n["id"], "b_key": key, "b_link": link, "b_body": body})
    if changed:
        op.get_bind().execute(
            notifications.update().where(notifications.c.id == sa.bindparam("b_id")).values(key=sa.bindparam("b_key"), link=sa.bindparam("b_link"), body=sa.bindparam("b_body")),
            changed,
        )


# Upgrade


def _create_new_tables() -> None:
    op.create_table('property_legacy_runs',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('legacy_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['programme_runs.id'], name=op.f('fk_property_legacy_runs_run_id_programme_runs')),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_property_legacy_runs')),
    sa.UniqueConstraint('legacy_id', name=op.f('uq_property_legacy_runs_legacy_id'))
    )
    op.create_table('property_held_out',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_property_held_out_estate_id_estates')),
    sa.ForeignKeyConstraint(['run_id'], ['programme_runs.id'], name=op.f('fk_property_held_out_run_id_programme_runs')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_property_held_out_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_property_held_out')),
    sa.UniqueConstraint('run_id', 'estate_id', 'month', name=op.f('uq_property_held_out_run_id_estate_id_month'))
    )
    with op.batch_alter_table('property_held_out', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_property_held_out_run_id'), ['run_id'], unique=False)

    op.create_table('property_lines',
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('score_id', sa.Integer(), nullable=False),
    sa.Column('score_centi', sa.Integer(), nullable=True),
    sa.Column('grade', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('vetoed', sa.Boolean(), nullable=False),
    sa.Column('coefficient', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('area_centi_m2', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('days_in_month', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_property_lines_community_id_communities')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_property_lines_company_id_companies')),
    sa.ForeignKeyConstraint(['contract_id'], ['service_contracts.id'], name=op.f('fk_property_lines_contract_id_service_contracts')),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_property_lines_estate_id_estates')),
    sa.ForeignKeyConstraint(['line_id'], ['programme_lines.id'], name=op.f('fk_property_lines_line_id_programme_lines')),
    sa.ForeignKeyConstraint(['score_id'], ['estate_scores.id'], name=op.f('fk_property_lines_score_id_estate_scores')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_property_lines_street_id_streets')),
    sa.PrimaryKeyConstraint('line_id', name=op.f('pk_property_lines'))
    )
    with op.batch_alter_table('property_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_property_lines_company_id'), ['company_id'], unique=False)
        batch_op.create_index('ix_property_lines_estate_month', ['estate_id', 'month'], unique=False)
        batch_op.create_index(batch_op.f('ix_property_lines_street_id'), ['street_id'], unique=False)


def _refuse_collisions(t: dict[str, sa.Table]) -> None:
    """Batch numbers and adjustment client ids are unique across the engine's programmes: an old batch sharing one
    with another programme's batch cannot move, nor one whose client id another programme's proposal waits to
    issue its batch under (nothing is changed; say which, every clash)."""
    old, new, proposals = t["disbursement_batches"], t["programme_batches"], t["adjustment_proposals"]
    taken = {
        "number": sa.select(new.c.number),
        "client_id": sa.union(
            sa.select(new.c.client_id).where(new.c.client_id.is_not(None)),
            sa.select(proposals.c.client_id).where(proposals.c.programme != PROGRAMME, proposals.c.state == "proposed"),
        ),
    }
    clashes = []
    for column, used in taken.items():
        clash = sorted(op.get_bind().execute(sa.select(old.c[column]).where(old.c[column].in_(used))).scalars())
        if clash:
            clashes.append(f"{column} {', '.join(map(str, clash))}")
    if clashes:
        raise RuntimeError(
            f"migration 0049: the property subsidy's batches with {'; '.join(clashes)} share them with batches (or proposals waiting to be issued) of "
            "other programmes: they cannot move onto the engine; nothing was changed"
        )


def upgrade() -> None:
    _refuse_collisions(_reflect(["disbursement_batches", "programme_batches", "adjustment_proposals"]))  # before anything changes
    _create_new_tables()
    t = _reflect([*OLD_TABLES, *ENGINE_TABLES, *NEW_TABLES, "adjustment_proposals", "issued_documents", "notifications"])
    runs_t, lines_t, batches_t = t["subsidy_runs"], t["subsidy_lines"], t["disbursement_batches"]

    # Runs, with the id each had, and their approvals: a confirmation per street, finance's approval of the whole.
    runs = _rows(sa.select(runs_t).order_by(runs_t.c.id))
    run_map = _moved(t["programme_runs"], [
        {"programme": PROGRAMME, "period": r["quarter"], "supplementary": r["supplementary"], "state": r["state"], "rules_sha256": r["cards_sha256"],
         "created_at": r["created_at"], "created_by": r["created_by"], "computed_at": r["computed_at"]}
        for r in runs
    ], [r["id"] for r in runs])
    _insert(t["property_legacy_runs"], [{"run_id": new, "legacy_id": old} for old, new in run_map.items()])
    confirmations = t["subsidy_street_confirmations"]
    totals = {run_id: int(total) for run_id, total in op.get_bind().execute(sa.select(lines_t.c.run_id, sa.func.sum(lines_t.c.amount_fen)).group_by(lines_t.c.run_id))}
    _insert(t["programme_approvals"], [
        *({"run_id": run_map[c["run_id"]], "step": "confirm", "holder": f"street:{c['street_id']}", "approved_at": c["confirmed_at"],
           "approved_by": c["confirmed_by"], "total_fen": c["total_fen"]} for c in _rows(sa.select(confirmations).order_by(confirmations.c.id))),
        *({"run_id": run_map[r["id"]], "step": "approve", "holder": "", "approved_at": r["approved_at"], "approved_by": r["approved_by"] or "",
           "total_fen": totals.get(r["id"], 0)} for r in runs if r["approved_at"] is not None),
    ])

    # Lines: what they pay is the engine's line, the facts it was priced by the programme's.
    rules = {r["id"]: r["cards_sha256"] for r in runs}
    lines = _rows(sa.select(lines_t).order_by(lines_t.c.id))
    line_map = _moved(t["programme_lines"], [
        {"run_id": run_map[x["run_id"]], "programme": PROGRAMME, "line_key": line_key(x["estate_id"], x["month"], x["contract_id"]), "payee_kind": "company",
         "payee_id": x["company_id"], "holder": f"street:{x['street_id']}", "beneficiary": f"estate:{x['estate_id']}", "period": x["month"],
         "amount_fen": x["amount_fen"], "city_fen": x["city_fen"], "district_fen": x["district_fen"],
         "reason": line_reason(x["month"], x["grade"], x["vetoed"], x["coefficient"], x["days"], x["days_in_month"]), "evidence": f"score:{x['score_id']}",
         "rules_sha256": rules[x["run_id"]]}
        for x in lines
    ], [x["id"] for x in lines])
    facts = ("estate_id", "community_id", "street_id", "company_id", "contract_id", "month", "score_id", "score_centi", "grade", "vetoed", "coefficient",
             "area_centi_m2", "days", "days_in_month")
    _insert(t["property_lines"], [{"line_id": line_map[x["id"]], **{f: x[f] for f in facts}} for x in lines])
    held = t["subsidy_held_out"]
    _insert(t["property_held_out"], [
        {"run_id": run_map[h["run_id"]], "estate_id": h["estate_id"], "street_id": h["street_id"], "month": h["month"], "reason": h["reason"]}
        for h in _rows(sa.select(held).order_by(held.c.id))
    ])

    # Batches one at a time, in id order: an adjustment batch refers to the earlier batch it corrects.
    batch_map: dict[int, int] = {}
    for b in _rows(sa.select(batches_t).order_by(batches_t.c.id)):
        batch_map.update(_moved(t["programme_batches"], [{
            "programme": PROGRAMME, "number": b["number"], "run_id": None if b["run_id"] is None else run_map[b["run_id"]],
            "corrects_batch_id": None if b["corrects_batch_id"] is None else batch_map[b["corrects_batch_id"]], "client_id": b["client_id"], "reason": b["reason"],
            "total_fen": b["total_fen"], "city_fen": b["city_fen"], "district_fen": b["district_fen"], "lines": b["lines"], "checksum": b["checksum"],
            "issued_at": b["issued_at"], "issued_by": b["issued_by"],
        }], [b["id"]]))
    paid = t["paid_estate_months"]
    _insert(t["programme_paid_lines"], [
        {"programme": PROGRAMME, "line_key": line_key(p["estate_id"], p["month"], p["contract_id"]), "batch_id": batch_map[p["batch_id"]], "line_id": line_map[p["line_id"]]}
        for p in _rows(sa.select(paid).order_by(paid.c.batch_id, paid.c.line_id))
    ])
    adjustments_t = t["adjustment_lines"]
    adjustments = _rows(sa.select(adjustments_t).order_by(adjustments_t.c.id))
    adjustment_map = _moved(t["programme_adjustments"], [
        {"batch_id": batch_map[a["batch_id"]], "line_id": line_map[a["line_id"]], "corrected_amount_fen": a["corrected_amount_fen"], "delta_fen": a["delta_fen"],
         "city_fen": a["city_fen"], "district_fen": a["district_fen"]}
        for a in adjustments
    ], [a["id"] for a in adjustments])
    ledger = t["ledger_entries"]
    _insert(t["programme_ledger"], [
        {"programme": PROGRAMME, "batch_id": batch_map[e["batch_id"]], "line_id": None if e["line_id"] is None else line_map[e["line_id"]],
         "adjustment_id": None if e["adjustment_line_id"] is None else adjustment_map[e["adjustment_line_id"]], "payee_kind": "company",
         "payee_id": e["company_id"], "period": e["quarter"], "payer": e["payer"], "amount_fen": e["amount_fen"]}
        for e in _rows(sa.select(ledger).order_by(ledger.c.id))
    ])

    _follow_proposals(t, batch_map, line_map)
    _follow_documents(t, batch_map)

    def engine_step(step: str, subject: str) -> tuple[str, str] | None:
        run, _, street = subject.partition(":")
        if not run.isdigit() or int(run) not in run_map:
            return None
        if step == "run-confirm" and street.isdigit():
            return "programme-step", f"{run_map[int(run)]}:confirm:street:{street}"
        if step == "run-approve" and not street:
            return "programme-step", f"{run_map[int(run)]}:approve:"
        if step == "run-batch" and not street:
            return "programme-batch", str(run_map[int(run)])
        return None

    _follow_notifications(t, run_map, engine_step, ("run-confirm", "run-approve", "run-batch"))

    drop_append_only(op, OLD_APPEND_ONLY)
    for table in OLD_TABLES:
        op.drop_table(table)


# Downgrade


def _create_old_tables() -> None:
    """The old tables as revision 0048 left them (0004, 0006's adjustments, 0009's lines and paid estate-month-contracts,
    0023's 64-bit money on PostgreSQL)."""
    money = sa.Integer if _sqlite() else sa.BigInteger
    op.create_table('subsidy_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quarter', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('supplementary', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('cards_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('computed_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('approved_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('approved_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_runs'))
    )
    op.create_index(op.f('ix_subsidy_runs_quarter'), 'subsidy_runs', ['quarter'], unique=False)
    op.create_table('disbursement_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('corrects_batch_id', sa.Integer(), nullable=True),
    sa.Column('total_fen', money(), nullable=False),
    sa.Column('city_fen', money(), nullable=False),
    sa.Column('district_fen', money(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('checksum', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('issued_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('issued_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['corrects_batch_id'], ['disbursement_batches.id'], name=op.f('fk_disbursement_batches_corrects_batch_id_disbursement_batches')),
    sa.ForeignKeyConstraint(['run_id'], ['subsidy_runs.id'], name=op.f('fk_disbursement_batches_run_id_subsidy_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disbursement_batches')),
    sa.UniqueConstraint('client_id', name=op.f('uq_disbursement_batches_client_id')),
    sa.UniqueConstraint('number', name=op.f('uq_disbursement_batches_number')),
    sa.UniqueConstraint('run_id', name=op.f('uq_disbursement_batches_run_id'))
    )
    op.create_table('subsidy_street_confirmations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('confirmed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('total_fen', money(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['subsidy_runs.id'], name=op.f('fk_subsidy_street_confirmations_run_id_subsidy_runs')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_subsidy_street_confirmations_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_street_confirmations')),
    sa.UniqueConstraint('run_id', 'street_id', name=op.f('uq_subsidy_street_confirmations_run_id_street_id'))
    )
    op.create_table('subsidy_held_out',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_subsidy_held_out_estate_id_estates')),
    sa.ForeignKeyConstraint(['run_id'], ['subsidy_runs.id'], name=op.f('fk_subsidy_held_out_run_id_subsidy_runs')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_subsidy_held_out_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_held_out')),
    sa.UniqueConstraint('run_id', 'estate_id', 'month', name=op.f('uq_subsidy_held_out_run_id_estate_id_month'))
    )
    op.create_index(op.f('ix_subsidy_held_out_run_id'), 'subsidy_held_out', ['run_id'], unique=False)
    op.create_table('subsidy_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('score_id', sa.Integer(), nullable=False),
    sa.Column('score_centi', sa.Integer(), nullable=True),
    sa.Column('grade', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('vetoed', sa.Boolean(), nullable=False),
    sa.Column('coefficient', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('area_centi_m2', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('days_in_month', sa.Integer(), nullable=False),
    sa.Column('amount_fen', money(), nullable=False),
    sa.Column('city_fen', money(), nullable=False),
    sa.Column('district_fen', money(), nullable=False),
    sa.CheckConstraint('amount_fen >= 0 AND city_fen >= 0 AND district_fen >= 0', name=op.f('ck_subsidy_lines_not_negative')),
    sa.CheckConstraint('city_fen + district_fen = amount_fen', name=op.f('ck_subsidy_lines_shares_add_up')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_subsidy_lines_community_id_communities')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_subsidy_lines_company_id_companies')),
    sa.ForeignKeyConstraint(['contract_id'], ['service_contracts.id'], name=op.f('fk_subsidy_lines_contract_id_service_contracts')),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_subsidy_lines_estate_id_estates')),
    sa.ForeignKeyConstraint(['run_id'], ['subsidy_runs.id'], name=op.f('fk_subsidy_lines_run_id_subsidy_runs')),
    sa.ForeignKeyConstraint(['score_id'], ['estate_scores.id'], name=op.f('fk_subsidy_lines_score_id_estate_scores')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_subsidy_lines_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_lines')),
    sa.UniqueConstraint('run_id', 'estate_id', 'month', 'contract_id', name=op.f('uq_subsidy_lines_run_id_estate_id_month_contract_id'))
    )
    op.create_index('ix_subsidy_lines_run_company', 'subsidy_lines', ['run_id', 'company_id'], unique=False)
    op.create_index(op.f('ix_subsidy_lines_street_id'), 'subsidy_lines', ['street_id'], unique=False)
    op.create_table('adjustment_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('corrected_amount_fen', money(), nullable=False),
    sa.Column('delta_fen', money(), nullable=False),
    sa.Column('city_fen', money(), nullable=False),
    sa.Column('district_fen', money(), nullable=False),
    sa.CheckConstraint('city_fen + district_fen = delta_fen', name=op.f('ck_adjustment_lines_shares_add_up')),
    sa.ForeignKeyConstraint(['batch_id'], ['disbursement_batches.id'], name=op.f('fk_adjustment_lines_batch_id_disbursement_batches')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_adjustment_lines_company_id_companies')),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_adjustment_lines_estate_id_estates')),
    sa.ForeignKeyConstraint(['line_id'], ['subsidy_lines.id'], name=op.f('fk_adjustment_lines_line_id_subsidy_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adjustment_lines'))
    )
    op.create_index(op.f('ix_adjustment_lines_batch_id'), 'adjustment_lines', ['batch_id'], unique=False)
    op.create_index(op.f('ix_adjustment_lines_line_id'), 'adjustment_lines', ['line_id'], unique=False)
    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=True),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('quarter', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('payer', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('amount_fen', money(), nullable=False),
    sa.Column('adjustment_line_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("payer IN ('city', 'district')", name=op.f('ck_ledger_entries_payer_known')),
    sa.CheckConstraint('(line_id IS NULL) <> (adjustment_line_id IS NULL)', name=op.f('ck_ledger_entries_one_source')),
    sa.ForeignKeyConstraint(['adjustment_line_id'], ['adjustment_lines.id'], name=op.f('fk_ledger_entries_adjustment_line_id_adjustment_lines')),
    sa.ForeignKeyConstraint(['batch_id'], ['disbursement_batches.id'], name=op.f('fk_ledger_entries_batch_id_disbursement_batches')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_ledger_entries_company_id_companies')),
    sa.ForeignKeyConstraint(['line_id'], ['subsidy_lines.id'], name=op.f('fk_ledger_entries_line_id_subsidy_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('adjustment_line_id', 'payer', name=op.f('uq_ledger_entries_adjustment_line_id_payer')),
    sa.UniqueConstraint('line_id', 'payer', name=op.f('uq_ledger_entries_line_id_payer'))
    )
    op.create_index(op.f('ix_ledger_entries_batch_id'), 'ledger_entries', ['batch_id'], unique=False)
    op.create_index('ix_ledger_entries_company_quarter', 'ledger_entries', ['company_id', 'quarter'], unique=False)
    op.create_table('paid_estate_months',
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['disbursement_batches.id'], name=op.f('fk_paid_estate_months_batch_id_disbursement_batches')),
    sa.ForeignKeyConstraint(['contract_id'], ['service_contracts.id'], name=op.f('fk_paid_estate_months_contract_id_service_contracts')),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_paid_estate_months_estate_id_estates')),
    sa.ForeignKeyConstraint(['line_id'], ['subsidy_lines.id'], name=op.f('fk_paid_estate_months_line_id_subsidy_lines')),
    sa.PrimaryKeyConstraint('estate_id', 'month', 'contract_id', name=op.f('pk_paid_estate_months')),
    sa.UniqueConstraint('line_id', name=op.f('uq_paid_estate_months_line_id'))
    )
    op.create_index(op.f('ix_paid_estate_months_batch_id'), 'paid_estate_months', ['batch_id'], unique=False)


def _refuse_open_engine_runs() -> None:
    """A run made on the engine names its makers in the audit log by its engine id, which the old tables cannot keep:
    moved back before it is disbursed, whoever started or recomputed it could approve it. Finish (or leave) such runs
    first."""
    runs, legacy = _reflect(["programme_runs"])["programme_runs"], _reflect(["property_legacy_runs"])["property_legacy_runs"]
    open_runs = sorted(op.get_bind().execute(
        sa.select(runs.c.id).where(runs.c.programme == PROGRAMME, runs.c.state != "disbursed", runs.c.id.not_in(sa.select(legacy.c.run_id)))
    ).scalars())
    if open_runs:
        raise RuntimeError(
            f"migration 0049 down: the property subsidy's runs {', '.join(map(str, open_runs))} were made on the engine and are not disbursed: "
            "the old tables would lose who made them (separation of duties); disburse them first. Nothing was changed"
        )


def downgrade() -> None:
    _refuse_open_engine_runs()
    _create_old_tables()
    t = _reflect([*OLD_TABLES, *ENGINE_TABLES, *NEW_TABLES, "adjustment_proposals", "issued_documents", "notifications"])
    runs_t, lines_t, batches_t, approvals_t = t["programme_runs"], t["programme_lines"], t["programme_batches"], t["programme_approvals"]
    property_runs = sa.select(runs_t.c.id).where(runs_t.c.programme == PROGRAMME)

    # Runs take back the ids they had (runs made on the engine, after the ids the old table gave).
    legacy = dict(op.get_bind().execute(sa.select(t["property_legacy_runs"].c.run_id, t["property_legacy_runs"].c.legacy_id)).all())
    runs = _rows(sa.select(runs_t).where(runs_t.c.programme == PROGRAMME).order_by(runs_t.c.id))
    approvals = _rows(sa.select(approvals_t).where(approvals_t.c.run_id.in_(property_runs)).order_by(approvals_t.c.id))
    unknown = sorted({a["step"] for a in approvals} - {"confirm", "approve"})
    if unknown:
        raise RuntimeError(f"migration 0049 down: the property subsidy's runs have approval steps the old tables cannot hold: {unknown}")
    approved = {a["run_id"]: a for a in approvals if a["step"] == "approve"}
    next_id = max(legacy.values(), default=0)
    run_map: dict[int, int] = {}
    for r in runs:
        if r["id"] in legacy:
            run_map[r["id"]] = legacy[r["id"]]
        else:
            next_id += 1
            run_map[r["id"]] = next_id
    _insert(t["subsidy_runs"], [
        {"id": run_map[r["id"]], "quarter": r["period"], "supplementary": r["supplementary"], "state": r["state"], "cards_sha256": r["rules_sha256"],
         "created_at": r["created_at"], "created_by": r["created_by"], "computed_at": r["computed_at"],
         "approved_at": approved[r["id"]]["approved_at"] if r["id"] in approved else None, "approved_by": approved[r["id"]]["approved_by"] if r["id"] in approved else None}
        for r in sorted(runs, key=lambda r: run_map[r["id"]])
    ])
    if not _sqlite() and run_map:
        op.execute("SELECT setval(pg_get_serial_sequence('subsidy_runs', 'id'), (SELECT MAX(id) FROM subsidy_runs))")
    _insert(t["subsidy_street_confirmations"], [
        {"run_id": run_map[a["run_id"]], "street_id": _street_of(a["holder"]), "confirmed_at": a["approved_at"], "confirmed_by": a["approved_by"], "total_fen": a["total_fen"]}
        for a in approvals if a["step"] == "confirm"
    ])

    facts_t = t["property_lines"]
    lines = _rows(sa.select(lines_t, *facts_t.c).select_from(lines_t.outerjoin(facts_t, facts_t.c.line_id == lines_t.c.id))
                  .where(lines_t.c.programme == PROGRAMME).order_by(lines_t.c.id))
    missing = [x["id"] for x in lines if x["line_id"] is None]
    if missing:
        raise RuntimeError(f"migration 0049 down: property lines without their facts (property_lines) cannot move back: {missing[:20]}")
    facts = {x["id"]: x for x in lines}
    line_map = _moved(t["subsidy_lines"], [
        {"run_id": run_map[x["run_id"]], "estate_id": x["estate_id"], "community_id": x["community_id"], "street_id": x["street_id"], "company_id": x["company_id"],
         "contract_id": x["contract_id"], "month": x["month"], "score_id": x["score_id"], "score_centi": x["score_centi"], "grade": x["grade"], "vetoed": x["vetoed"],
         "coefficient": x["coefficient"], "area_centi_m2": x["area_centi_m2"], "days": x["days"], "days_in_month": x["days_in_month"],
         "amount_fen": x["amount_fen"], "city_fen": x["city_fen"], "district_fen": x["district_fen"]}
        for x in lines
    ], [x["id"] for x in lines])
    held = t["property_held_out"]
    _insert(t["subsidy_held_out"], [
        {"run_id": run_map[h["run_id"]], "estate_id": h["estate_id"], "street_id": h["street_id"], "month": h["month"], "reason": h["reason"]}
        for h in _rows(sa.select(held).order_by(held.c.id))
    ])

    batch_map: dict[int, int] = {}
    for b in _rows(sa.select(batches_t).where(batches_t.c.programme == PROGRAMME).order_by(batches_t.c.id)):
        batch_map.update(_moved(t["disbursement_batches"], [{
            "number": b["number"], "run_id": None if b["run_id"] is None else run_map[b["run_id"]],
            "corrects_batch_id": None if b["corrects_batch_id"] is None else batch_map[b["corrects_batch_id"]], "client_id": b["client_id"], "reason": b["reason"],
            "total_fen": b["total_fen"], "city_fen": b["city_fen"], "district_fen": b["district_fen"], "lines": b["lines"], "checksum": b["checksum"],
            "issued_at": b["issued_at"], "issued_by": b["issued_by"],
        }], [b["id"]]))
    paid = t["programme_paid_lines"]
    _insert(t["paid_estate_months"], [
        {"estate_id": facts[p["line_id"]]["estate_id"], "month": facts[p["line_id"]]["month"], "contract_id": facts[p["line_id"]]["contract_id"],
         "batch_id": batch_map[p["batch_id"]], "line_id": line_map[p["line_id"]]}
        for p in _rows(sa.select(paid).where(paid.c.programme == PROGRAMME).order_by(paid.c.batch_id, paid.c.line_id))
    ])
    adjustments_t = t["programme_adjustments"]
    adjustments = _rows(sa.select(adjustments_t).where(adjustments_t.c.batch_id.in_(batch_map)).order_by(adjustments_t.c.id)) if batch_map else []
    adjustment_map = _moved(t["adjustment_lines"], [
        {"batch_id": batch_map[a["batch_id"]], "line_id": line_map[a["line_id"]], "estate_id": facts[a["line_id"]]["estate_id"],
         "company_id": facts[a["line_id"]]["company_id"], "month": facts[a["line_id"]]["month"], "corrected_amount_fen": a["corrected_amount_fen"],
         "delta_fen": a["delta_fen"], "city_fen": a["city_fen"], "district_fen": a["district_fen"]}
        for a in adjustments
    ], [a["id"] for a in adjustments])
    ledger = t["programme_ledger"]
    _insert(t["ledger_entries"], [
        {"batch_id": batch_map[e["batch_id"]], "line_id": None if e["line_id"] is None else line_map[e["line_id"]],
         "adjustment_line_id": None if e["adjustment_id"] is None else adjustment_map[e["adjustment_id"]], "company_id": e["payee_id"], "quarter": e["period"],
         "payer": e["payer"], "amount_fen": e["amount_fen"]}
        for e in _rows(sa.select(ledger).where(ledger.c.programme == PROGRAMME).order_by(ledger.c.id))
    ])

    _follow_proposals(t, batch_map, line_map)
    _follow_documents(t, batch_map)

    def old_step(step: str, subject: str) -> tuple[str, str] | None:
        run, _, rest = subject.partition(":")
        if not run.isdigit() or int(run) not in run_map:
            return None
        old = run_map[int(run)]
        if step == "programme-step" and rest.startswith("confirm:street:"):
            return "run-confirm", f"{old}:{_street_of(rest.removeprefix('confirm:'))}"
        if step == "programme-step" and rest == "approve:":
            return "run-approve", str(old)
        if step == "programme-batch" and not rest:
            return "run-batch", str(old)
        return None

    _follow_notifications(t, run_map, old_step, ("programme-step", "programme-batch"))

    # The property rows leave the engine's tables, and the programme's own tables go.
    for table in NEW_TABLES:
        op.drop_table(table)
    drop_append_only(op, ENGINE_APPEND_ONLY)
    property_lines = sa.select(lines_t.c.id).where(lines_t.c.programme == PROGRAMME)
    property_batches = sa.select(batches_t.c.id).where(batches_t.c.programme == PROGRAMME)
    bind = op.get_bind()
    bind.execute(ledger.delete().where(ledger.c.programme == PROGRAMME))
    bind.execute(adjustments_t.delete().where(sa.or_(adjustments_t.c.batch_id.in_(property_batches), adjustments_t.c.line_id.in_(property_lines))))
    bind.execute(paid.delete().where(paid.c.programme == PROGRAMME))
    bind.execute(batches_t.delete().where(batches_t.c.programme == PROGRAMME))
    bind.execute(lines_t.delete().where(lines_t.c.programme == PROGRAMME))
    bind.execute(approvals_t.delete().where(approvals_t.c.run_id.in_(property_runs)))
    bind.execute(runs_t.delete().where(runs_t.c.programme == PROGRAMME))
    make_append_only(op, ENGINE_APPEND_ONLY)
    make_append_only(op, OLD_APPEND_ONLY)
