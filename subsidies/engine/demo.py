"""The demo district's payee accounts: most payees have their bank and account on record before their first batch;
about one in twelve has not handed it in yet (its payment notice says so, and the finance desk counts it)."""

from __future__ import annotations

import random
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import SYSTEM
from subsidies.engine.accounts import record_account
from subsidies.engine.rules import Party

BANKS = ("中国工商银行天津和平支行", "中国建设银行天津南京路支行", "中国农业银行天津和平支行", "天津银行和平支行", "中国银行天津滨江道支行", "天津农商银行和平支行")


async def record_accounts(db: AsyncSession, parties: Iterable[Party]) -> None:
    for party in parties:
        rng = random.Random(f"payee-account {party}")  # each payee's own: the demo's other numbers stay as they were
        if rng.random() < 1 / 12:
            continue
        digits = "".join(str(rng.randint(0, 9)) for _ in range(15))
        await record_account(db, SYSTEM, party, rng.choice(BANKS), f"{rng.randint(1, 9)}{digits[:3]} {digits[3:7]} {digits[7:11]} {digits[11:]}")
