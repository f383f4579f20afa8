"""The bank accounts programme payees are paid into: recorded by an administrator (each change audited), read by the
batch documents (a payment notice names the account; the treasury spreadsheet has it on every line) and listed for
finance with the payees that have none yet, so a batch is not issued to a payee nobody can pay."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.clock import utc_now
from foundation.errors import InvalidInput, NotFound, RuleViolation
from foundation.process_locks import transaction_lock
from registry import queries as registry
from subsidies.engine.registry import programmes
from subsidies.engine.rules import Party
from subsidies.engine.tables import PayeeAccount, ProgrammeLine

RECORDERS = frozenset({Role.ADMIN})
READERS = frozenset({Role.ADMIN, Role.FINANCE})
PAYEE_KINDS = {"organisation": "机构", "community": "社区", "street": "街道"}
NOT_RECORDED_ZH = "未登记（请向区财政提供）"
ACCOUNT = re.compile(r"[0-9][0-9 ]{6,38}[0-9]")  # as the property companies' accounts (registry.schemas.BankAccount)


@dataclass(frozen=True)
class Account:
    bank_name: str
    bank_account: str
    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True)
class Payee:
    """A payee of the programmes' lines, its name, the programmes that pay it and its account (None: not recorded)."""

    party: Party
    name: str
    programmes: tuple[str, ...]
    account: Account | None


def _account(row: PayeeAccount) -> Account:
    return Account(row.bank_name, row.bank_account, row.recorded_at, row.recorded_by)


async def accounts_of(session: AsyncSession, parties: Collection[Party]) -> dict[Party, Account]:
    """The recorded accounts of these parties (those without one are left out)."""
    keys = {str(p): p for p in parties}
    if not keys:
        return {}
    rows = (await session.execute(select(PayeeAccount).where(col(PayeeAccount.party).in_(list(keys))))).scalars()
    return {keys[row.party]: _account(row) for row in rows}


async def name_of(session: AsyncSession, party: Party) -> str | None:
    if party.kind == "organisation":
        organisation = await registry.organisation(session, party.id)
        return organisation.name if organisation else None
    if party.kind == "community":
        community = await registry.community(session, party.id)
        return community.name if community else None
    street = await registry.street(session, party.id) if party.kind == "street" else None
    return street.name if street else None


def _normal_account(bank_name: str, bank_account: str) -> tuple[str, str]:
    name, account = bank_name.strip(), " ".join(bank_account.split())
    if bool(name) != bool(account):
        raise RuleViolation("bank_name and bank_account go together: give both (or neither, to remove the account)", zh="开户银行和银行账号须同时填写", field="bank_account" if name else "bank_name")
    if account and not ACCOUNT.fullmatch(account):
        raise InvalidInput("bank_account is 8 to 40 digits (spaces between groups allowed)", zh="银行账号须为 8 至 40 位数字（可按存折分组留空格）", field="bank_account")
    if len(name) > 100 or not all(c.isprintable() or unicodedata.category(c) == "Zs" for c in name):
        # One line of printable text; any space typed in it is kept (a full-width 　 from a Chinese keyboard, a
        # no-break space pasted from a letter), a line break, tab, control or invisible format character is not.
        raise InvalidInput("bank_name is one line of at most 100 printable characters", zh="开户银行为一行文字，不超过 100 字，且不能含换行或控制字符", field="bank_name")
    return name, account


async def record_account(session: AsyncSession, actor: Principal, party: Party, bank_name: str, bank_account: str) -> Account | None:
    """Record (or, both empty, remove) the account a payee is paid into: batches issued after it print it; documents
    already issued keep the account they were issued with."""
    require_role(actor, RECORDERS, "recording a payee's bank account")
    if party.kind not in PAYEE_KINDS:
        raise InvalidInput(f"a payee is one of: {', '.join(PAYEE_KINDS)}", zh="收款方只能是机构、社区或街道", field="kind")
    name = await name_of(session, party)
    if name is None:
        raise NotFound(party.kind, party.id)
    bank_name, bank_account = _normal_account(bank_name, bank_account)
    await transaction_lock(session, f"payee-account|{party}")  # two recording it at once: one after the other
    row = await session.get(PayeeAccount, str(party), populate_existing=True)
    before = {"bank_name": row.bank_name, "bank_account": row.bank_account} if row else None
    after = {"bank_name": bank_name, "bank_account": bank_account} if bank_account else None
    if before == after:
        return _account(row) if row else None
    if row is not None and after is None:
        await session.delete(row)
    elif row is None:
        row = PayeeAccount(party=str(party), bank_name=bank_name, bank_account=bank_account, recorded_at=utc_now(), recorded_by_user_id=actor.user_id, recorded_by=actor.label)
        session.add(row)
    else:
        row.bank_name, row.bank_account, row.recorded_at, row.recorded_by_user_id, row.recorded_by = bank_name, bank_account, utc_now(), actor.user_id, actor.label
    await session.flush()
    record_change(session, actor, "payee_account.removed" if after is None else "payee_account.recorded", "payee", str(party), before=before, after=after)
    return _account(row) if after is not None and row is not None else None


def _in_registry() -> list[str]:
    """The programmes whose payees' accounts are on their registry rows."""
    return [of.code for of in programmes() if of.accounts_in_registry]


async def without_account(session: AsyncSession, actor: Principal) -> int:
    """How many payees of the programmes' lines have no account recorded (one query: the finance desk shows it)."""
    require_role(actor, READERS, "reading the payees' bank accounts")
    paid = select(col(ProgrammeLine.payee_kind), col(ProgrammeLine.payee_id)).where(col(ProgrammeLine.programme).not_in(_in_registry())).distinct().subquery()
    recorded = select(col(PayeeAccount.party)).where(col(PayeeAccount.party) == paid.c.payee_kind + ":" + cast(paid.c.payee_id, String))
    return int((await session.execute(select(func.count()).select_from(paid).where(~recorded.exists()))).scalar_one())


async def payees(session: AsyncSession, actor: Principal, only: Party | None = None) -> list[Payee]:
    """Every payee of the programmes' lines (or `only` that one), with its name and account: those without an account
    first, then by name."""
    require_role(actor, READERS, "reading the payees' bank accounts")
    paid_by: dict[Party, list[str]] = {}
    query = select(col(ProgrammeLine.programme), col(ProgrammeLine.payee_kind), col(ProgrammeLine.payee_id)).where(col(ProgrammeLine.programme).not_in(_in_registry())).distinct()
    if only is not None:
        query = query.where(col(ProgrammeLine.payee_kind) == only.kind, col(ProgrammeLine.payee_id) == only.id)
    rows = await session.execute(query)
    for code, kind, payee_id in rows:
        paid_by.setdefault(Party(kind, payee_id), []).append(code)
    names: dict[Party, str] = {}
    known = {of.code: of for of in programmes()}
    for code in {c for codes in paid_by.values() for c in codes}:
        of = known.get(code)
        if of is not None:
            names.update(await of.names(session, [p for p, codes in paid_by.items() if code in codes]))
    accounts = await accounts_of(session, paid_by)
    found = [
        Payee(party, names.get(party, str(party)), tuple(sorted(known[c].name if c in known else c for c in set(codes))), accounts.get(party))
        for party, codes in paid_by.items()
    ]
    return sorted(found, key=lambda p: (p.account is not None, p.party.kind, p.name))
