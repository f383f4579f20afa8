"""The append-only audit log: who changed what, when, from what to what; written in the use case's transaction.

The log is also a hash chain, so that changing history in the database (as its owner could, past the triggers that
refuse UPDATE and DELETE) shows: when a transaction commits, each entry it wrote is sealed — given the next number
of the chain and the SHA-256 of the previous seal's hash followed by the entry as stored (`entry_digest`). Sealing
takes the chain's head row under a row lock (PostgreSQL; on SQLite the write turn already orders writers), so
concurrent writers chain one after another. `verify_chain` walks the chain and names the first entry that does not
match: changed, deleted, or inserted without a seal.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import JSON, Column, Connection, Index, Row, bindparam, event, func, insert, or_, select, text, update
from sqlalchemy import true as sa_true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel import Field, SQLModel, col

from foundation.access import Principal
from foundation.clock import BUSINESS_TZ, utc_now
from foundation.db import Direct, UTCDateTime, every_column_bound, surrogate_key, take_write_turn
from foundation.errors import RuleViolation
from foundation.paging import PageRequest, fetch_page


class Actor(Protocol):
    """Whoever acts: a logged-in user, an API key, or the system itself."""

    @property
    def user_id(self) -> int | None: ...

    @property
    def label(self) -> str: ...


class AuditEntry(SQLModel, table=True):
    """One state change. There is no update or delete path; the database refuses both (see migration 0001)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: int = surrogate_key()
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    actor_user_id: int | None = Field(default=None, index=True)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=80, index=True)
    entity: str = Field(max_length=40)
    entity_id: str = Field(max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    reason: str | None = Field(default=None, max_length=2000)


class AuditSeal(SQLModel, table=True):
    """An entry's place in the chain; append-only like the log (migration 0022). No foreign key: a seal outlives an
    entry deleted behind the application's back, which is how the deletion shows."""

    __tablename__ = "audit_seals"

    entry_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(unique=True)  # 1, 2, 3 … in the order entries were sealed
    prev_sha256: str = Field(max_length=64)
    sha256: str = Field(max_length=64)


class AuditChainHead(SQLModel, table=True):
    """The chain's last seal, one row (id 1): the row sealing writers lock, so the chain has one order."""

    __tablename__ = "audit_chain_head"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int
    sha256: str = Field(max_length=64)


class AuditAnchor(SQLModel, table=True):
    """The chain's head at the end of a day (Beijing time), printed in that day's signed statement (reports): whoever
    rewrites the log before it must also forge the statements issued since. Append-only."""

    __tablename__ = "audit_anchors"

    day: date = Field(primary_key=True)
    seq: int  # the last seal of an entry written that day or before (0: the chain was empty)
    sha256: str = Field(max_length=64)
    entries: int  # entries written that day
    anchored_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


# The tables as SQLAlchemy Core sees them: sealing and verifying read what the database holds, not the ORM.
ENTRIES = SQLModel.metadata.tables["audit_log"]
SEALS = SQLModel.metadata.tables["audit_seals"]
HEAD = SQLModel.metadata.tables["audit_chain_head"]
ANCHORS = SQLModel.metadata.tables["audit_anchors"]

GENESIS = "0" * 64  # the "previous hash" of the first seal
_PENDING = "audit_pending"  # session.info key: the entries this transaction recorded and has not written yet
_WRITTEN = "audit_unsealed"  # session.info key: the ids of the entries it wrote (for a read of the log) and not sealed


def entry_digest(prev_sha256: str, entry: Row[Any]) -> str:
    """The SHA-256 of the previous seal's hash followed by the entry's stored columns in a canonical JSON form (keys
    sorted, no spaces, UTF-8, the time in UTC to the microsecond)."""
    at: datetime = entry.at
    body = json.dumps(
        [entry.id, at.astimezone(UTC).isoformat(timespec="microseconds"), entry.actor_user_id, entry.actor, entry.action,
         entry.entity, entry.entity_id, entry.before, entry.after, entry.reason],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    )  # fmt: skip
    return hashlib.sha256((prev_sha256 + body).encode("utf-8")).hexdigest()


def _stored_entries(connection: Connection, ids: Iterable[int] | None = None, *, after_id: int = 0, limit: int | None = None) -> list[Row[Any]]:
    """Entries as the database holds them (not as this process remembers them), in id order."""
    query = select(*ENTRIES.c).order_by(ENTRIES.c.id)
    if ids is not None:
        query = query.where(ENTRIES.c.id.in_(list(ids)))
    if after_id:
        query = query.where(ENTRIES.c.id > after_id)
    if limit is not None:
        query = query.limit(limit)
    return list(connection.execute(query).all())


# The statements every commit's sealing runs, built once (building them was a fifth of a patrol's sealing).
_HEAD_HELD = select(HEAD.c.seq, HEAD.c.sha256).where(HEAD.c.id == 1).with_for_update()
_ENTRIES_AND_HEAD = (
    select(*ENTRIES.c, HEAD.c.seq, HEAD.c.sha256)
    .join_from(ENTRIES, HEAD, HEAD.c.id == 1)
    .where(ENTRIES.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(ENTRIES.c.id)
    .with_for_update(of=HEAD)
)
_HEAD_MOVED = Direct(update(HEAD).where(HEAD.c.id == 1).values(seq=bindparam("new_seq"), sha256=bindparam("new_sha256")))
_SEALS_WRITTEN = Direct(insert(SEALS))
# PostgreSQL: the seals inserted by a data-modifying WITH of the head's update, one round trip; the seals go as four
# arrays, so the statement is one text whatever their number (a multi-row VALUES is a new statement to compile for
# every count of rows, and its compilation was a tenth of a patrol's Python).
_SEALED_HEAD_MOVED = Direct(text(
    "WITH seals AS (INSERT INTO audit_seals (entry_id, seq, prev_sha256, sha256) "
    "SELECT * FROM unnest(CAST(:entry_ids AS INTEGER[]), CAST(:seqs AS INTEGER[]), CAST(:prevs AS VARCHAR[]), CAST(:shas AS VARCHAR[]))) "
    "UPDATE audit_chain_head SET seq = :new_seq, sha256 = :new_sha256 WHERE id = 1"
))


def seal_entries(connection: Connection, ids: Iterable[int] | None) -> int:
    """Seal these stored entries (all unsealed ones when `ids` is None: the entries a database had before the chain
    began, sealed once by migration 0022) in id order, after the chain's head, which is locked until the
    transaction ends. Returns how many were sealed."""
    if ids is None:
        head = connection.execute(_HEAD_HELD).one()
        sealed = select(SEALS.c.entry_id)
        rows = list(connection.execute(select(*ENTRIES.c).where(ENTRIES.c.id.not_in(sealed)).order_by(ENTRIES.c.id)).all())
    else:
        # This transaction's own entries and the head, locked, in one round trip: every other writer waits for the
        # head from here to the commit, so the lock is held for as few round trips to the database as can be.
        rows = list(connection.execute(_ENTRIES_AND_HEAD, {"ids": list(ids)}).all())
        head = rows[0] if rows else connection.execute(_HEAD_HELD).one()
    return _seal_rows(connection, rows, head)


def _seal_rows(connection: Connection, rows: list[Any], head: Any = None) -> int:
    """Seal stored entries (in id order) after the chain's head (locked), given as it was read (or with the
    first entry's row); returns how many were sealed."""
    if head is None:
        head = rows[0]
    seq, previous = head.seq, head.sha256
    seals = []
    for row in rows:
        seq += 1
        digest = entry_digest(previous, row)
        seals.append({"entry_id": row.id, "seq": seq, "prev_sha256": previous, "sha256": digest})
        previous = digest
    if seals and connection.dialect.name == "postgresql":
        # One round trip: the seals inserted by a data-modifying WITH of the head's update.
        _SEALED_HEAD_MOVED.run(
            connection,
            {
                "entry_ids": [s["entry_id"] for s in seals], "seqs": [s["seq"] for s in seals], "prevs": [s["prev_sha256"] for s in seals],
                "shas": [s["sha256"] for s in seals], "new_seq": seq, "new_sha256": previous,
            },
        )  # fmt: skip
    elif seals:
        _SEALS_WRITTEN.run(connection, seals)
        _HEAD_MOVED.run(connection, {"new_seq": seq, "new_sha256": previous})
    return len(seals)


@dataclass(frozen=True)
class _Pending:
    """An entry recorded and not yet written, and the savepoint it was recorded in (None: none)."""

    row: dict[str, Any]
    within: SessionTransaction | None


@dataclass(frozen=True)
class _Written:
    """An entry written before the commit (for a read of the log), not yet sealed: its id, the entry as recorded,
    and the savepoint it was written in (a rollback of that savepoint takes the row, not the entry)."""

    id: int
    entry: _Pending
    within: SessionTransaction | None


_WRITE = insert(ENTRIES).returning(ENTRIES.c.id, sort_by_parameter_order=True)  # the ids in the order of the rows
# The usual commit (one entry, nothing written before): the entry written and read back as stored, with the chain's
# head (locked), in one statement. PostgreSQL: a data-modifying WITH beside the head locked once. SQLite (one
# writer at a time, the lock is its transaction's): the head read by the INSERT's RETURNING.
_ONE_ENTRY = insert(ENTRIES).values(every_column_bound(ENTRIES))
_WRITTEN_ENTRY = _ONE_ENTRY.returning(*ENTRIES.c).cte("written")
_HEAD_LOCKED = select(HEAD.c.seq, HEAD.c.sha256).where(HEAD.c.id == 1).with_for_update().cte("head")
_ENTRY_WRITTEN_AND_HEAD = {
    "postgresql": Direct(select(*_WRITTEN_ENTRY.c, _HEAD_LOCKED.c.seq, _HEAD_LOCKED.c.sha256).select_from(_WRITTEN_ENTRY.join(_HEAD_LOCKED, sa_true()))),
    "sqlite": Direct(
        _ONE_ENTRY.returning(
            *ENTRIES.c,
            select(HEAD.c.seq).where(HEAD.c.id == 1).scalar_subquery().label("seq"),
            select(HEAD.c.sha256).where(HEAD.c.id == 1).scalar_subquery().label("sha256"),
        )
    ),
}


def _write_pending(session: Session) -> None:
    """Write the entries recorded so far (in one INSERT, in the order they were recorded), to be sealed at the
    commit."""
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    if pending:
        take_write_turn(session)  # before the session's connection begins its transaction
        ids = session.connection().execute(_WRITE, [p.row for p in pending]).scalars().all()
        within = session.get_nested_transaction()
        session.info.setdefault(_WRITTEN, []).extend(_Written(i, p, within) for i, p in zip(ids, pending, strict=True))


async def write_pending(session: AsyncSession) -> None:
    """Write this transaction's entries now, before a read of the log that must see them (who made a run)."""
    if session.info.get(_PENDING):
        await session.run_sync(_write_pending)


@event.listens_for(Session, "before_commit")
def _seal_on_commit(session: Session) -> None:
    """Every commit writes and seals the entries its transaction recorded, whoever commits (a request, a job, a
    command). The entries go in here, after everything else of the transaction (flushed first): the head is
    locked from here to the commit only."""
    if session.in_nested_transaction():
        # A savepoint released (SQLAlchemy calls this hook then too): its entries are sealed with the transaction's,
        # at its commit. Sealed here, an enclosing savepoint's rollback would take the seals and leave the entries
        # written before it unsealed.
        return
    if not session.info.get(_PENDING) and not session.info.get(_WRITTEN):
        return
    session.flush()
    # The write turn first: a transaction that has sent nothing yet begins here, and on SQLite it may begin only in
    # the turn (begun outside it, it would hold SQLite's lock while it waits for the turn another writer holds).
    take_write_turn(session)
    connection = session.connection()
    pending: list[_Pending] = session.info.get(_PENDING, [])
    if len(pending) == 1 and not session.info.get(_WRITTEN):
        session.info.pop(_PENDING)
        _seal_rows(connection, _ENTRY_WRITTEN_AND_HEAD[connection.dialect.name].run(connection, pending[0].row))
        return
    _write_pending(session)
    written: list[_Written] = session.info.pop(_WRITTEN, [])
    if written:  # the write turn was taken when they were written
        seal_entries(connection, [w.id for w in written])


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    """A savepoint rolled back: the entries recorded in it are forgotten; those recorded before it but written
    inside it (a read of the log in the savepoint wrote them) lost their rows and are to be written again."""
    if not previous_transaction.nested:
        return
    written: list[_Written] = session.info.get(_WRITTEN, [])
    again = [w.entry for w in written if _inside(w.within, previous_transaction) and not _inside(w.entry.within, previous_transaction)]
    if written:
        session.info[_WRITTEN] = [w for w in written if not _inside(w.within, previous_transaction)]
    pending: list[_Pending] = session.info.get(_PENDING, [])
    if again or pending:
        # Entries still pending were recorded after every written one: the order of recording is kept.
        session.info[_PENDING] = again + [p for p in pending if not _inside(p.within, previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    """The transaction ended (committed, its entries sealed; rolled back; or the session closed): nothing of its
    entries is carried into the session's next transaction."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_WRITTEN, None)


def _inside(transaction: SessionTransaction | None, savepoint: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is savepoint:
            return True
        transaction = transaction.parent
    return False


@dataclass(frozen=True)
class ChainReport:
    """What `verify_chain` found: the entries checked, the head, and the first break (None when the chain holds)."""

    checked: int
    head_seq: int
    head_sha256: str
    broken_entry_id: int | None = None
    broken_seq: int | None = None
    problem: str = ""

    @property
    def holds(self) -> bool:
        return not self.problem


def verify_chain(connection: Connection, *, batch: int = 5000) -> ChainReport:
    """Walk the seals in chain order, recomputing each digest from the entry as stored; then look for entries no
    seal covers. The first thing that does not match is named: an entry changed (its digest differs), deleted (a
    seal without its entry), inserted (an entry without a seal), a seal removed (a gap in the numbers), or a head
    that does not end the chain."""
    head = connection.execute(select(HEAD.c.seq, HEAD.c.sha256).where(HEAD.c.id == 1)).one()
    anchors = {row.seq: row for row in connection.execute(select(ANCHORS).where(ANCHORS.c.seq > 0))}
    expected_seq, previous, checked = 1, GENESIS, 0

    def broken(problem: str, entry_id: int | None, seq: int | None) -> ChainReport:
        return ChainReport(checked, head.seq, head.sha256, entry_id, seq, problem)

    while True:
        seals = connection.execute(
            select(SEALS).where(SEALS.c.seq >= expected_seq).order_by(SEALS.c.seq).limit(batch)
        ).all()
        if not seals:
            break
        entries = {row.id: row for row in _stored_entries(connection, [seal.entry_id for seal in seals])}
        for seal in seals:
            if seal.seq != expected_seq:
                return broken(f"seal {expected_seq} is missing (the chain jumps to {seal.seq})", seal.entry_id, expected_seq)
            if seal.prev_sha256 != previous:
                return broken("the seal does not follow the one before it", seal.entry_id, seal.seq)
            entry = entries.get(seal.entry_id)
            if entry is None:
                return broken(f"entry {seal.entry_id} was deleted", seal.entry_id, seal.seq)
            if entry_digest(previous, entry) != seal.sha256:
                return broken(f"entry {seal.entry_id} was changed after it was sealed", seal.entry_id, seal.seq)
            anchor = anchors.get(seal.seq)
            if anchor is not None and anchor.sha256 != seal.sha256:
                return broken(f"the chain up to here was rewritten: it no longer ends as the statement of {anchor.day} says", seal.entry_id, seal.seq)
            previous, expected_seq, checked = seal.sha256, expected_seq + 1, checked + 1
    if expected_seq - 1 != head.seq or previous != head.sha256:
        return broken(f"the chain ends at seal {expected_seq - 1} but its head says {head.seq}", None, head.seq)
    beyond = [anchor for seq, anchor in sorted(anchors.items()) if seq > head.seq]
    if beyond:
        return broken(f"the statement of {beyond[0].day} names seal {beyond[0].seq}, which the chain no longer has", None, beyond[0].seq)
    unsealed = connection.execute(
        select(ENTRIES.c.id).where(ENTRIES.c.id.not_in(select(SEALS.c.entry_id))).order_by(ENTRIES.c.id).limit(1)
    ).scalar()
    if unsealed is not None:
        return broken(f"entry {unsealed} is in the log but not in the chain (inserted behind the application)", unsealed, None)
    return ChainReport(checked, head.seq, head.sha256)


async def anchor_day(session: AsyncSession, day: date, now: datetime | None = None) -> AuditAnchor:
    """The chain's head at the end of `day` (Beijing time), recorded once: asked again, the same anchor. The day must
    be over."""
    start = datetime.combine(day, time.min, BUSINESS_TZ)
    end = start + timedelta(days=1)
    if (now or utc_now()) < end:
        raise RuleViolation(f"{day} is not over yet; a day's statement is made after it ends", zh=f"{day} 尚未结束，日终声明须在次日生成")
    existing = await session.get(AuditAnchor, day)
    if existing is not None:
        return existing
    last = (
        await session.execute(
            select(SEALS.c.seq, SEALS.c.sha256).join(ENTRIES, ENTRIES.c.id == SEALS.c.entry_id).where(ENTRIES.c.at < end).order_by(SEALS.c.seq.desc()).limit(1)
        )
    ).one_or_none()
    entries = (await session.execute(select(func.count()).select_from(ENTRIES).where(ENTRIES.c.at >= start, ENTRIES.c.at < end))).scalar_one()
    anchor = AuditAnchor(day=day, seq=last.seq if last else 0, sha256=last.sha256 if last else GENESIS, entries=entries, anchored_at=utc_now())
    try:
        async with session.begin_nested():
            session.add(anchor)
    except IntegrityError:  # anchored at the same moment by another process: theirs stands
        return await session.get_one(AuditAnchor, day, populate_existing=True)
    return anchor


def json_safe(value: Any) -> Any:
    """A value as it can be stored in the log's JSON columns."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return value


def snapshot(record: SQLModel, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The columns of a stored record as JSON-safe values, for the before/after of an entry."""
    return {
        name: json_safe(getattr(record, name))
        for name in type(record).model_fields
        if name not in exclude
    }


def record_change(
    session: AsyncSession,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Record an audit entry in the session's transaction; it commits or rolls back with the change it describes.
    A person's action carries their account id: without it the log could not say who did it, and the separation of
    duties, which compares ids, would let them approve their own work."""
    if isinstance(actor, Principal) and actor.user_id is None and not actor.acts_for_nobody:
        raise ValueError(f"{actor.label} acts without the id of their account: act as the account (people.queries.principal_named)")
    row = {
        "at": utc_now(),
        "actor_user_id": actor.user_id,
        "actor": actor.label,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "before": json_safe(before) if before is not None else None,
        "after": json_safe(after) if after is not None else None,
        "reason": reason,
    }
    # Written at the commit (or before a read of the log), by one plain INSERT: a mapped object per entry and the
    # session's flush of it were a tenth of a patrol's time.
    session.info.setdefault(_PENDING, []).append(_Pending(row, session.sync_session.get_nested_transaction()))


async def list_audit_entries(
    session: AsyncSession,
    paging: PageRequest,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    actor_user_id: int | None = None,
    actor: str | None = None,
) -> tuple[list[AuditEntry], int]:
    """The log, newest first, filtered (`actor`: a username, whose entries read "username (role)", or a name the
    system acts under, such as "scheduler"). Who may read it is the caller's check (district administrators)."""
    await write_pending(session)
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc())
    if entity is not None:
        query = query.where(col(AuditEntry.entity) == entity)
    if entity_id is not None:
        query = query.where(col(AuditEntry.entity_id) == entity_id)
    if action is not None:
        query = query.where(col(AuditEntry.action) == action)
    if actor_user_id is not None:
        query = query.where(col(AuditEntry.actor_user_id) == actor_user_id)
    if actor:
        query = query.where(or_(col(AuditEntry.actor) == actor, col(AuditEntry.actor).startswith(f"{actor} (", autoescape=True)))
    return await fetch_page(session, query, paging)


async def actors_of(session: AsyncSession, entity: str, entity_id: object, actions: Iterable[str]) -> set[int]:
    """The users who took any of `actions` on one entity, as the log records them (for separation of duties), this
    transaction's own entries too."""
    await write_pending(session)
    query = select(col(AuditEntry.actor_user_id)).where(
        col(AuditEntry.entity) == entity,
        col(AuditEntry.entity_id) == str(entity_id),
        col(AuditEntry.action).in_(list(actions)),
        col(AuditEntry.actor_user_id).is_not(None),
    )
    return {user_id for user_id in (await session.execute(query)).scalars() if user_id is not None}
