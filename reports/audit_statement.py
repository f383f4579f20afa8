"""The audit log's daily statement (审计日志日终声明): the chain's head at the end of a day, printed in a document
issued like every other one (kept bytes, a verification code and QR, append-only). Rewriting the log before that
moment then means forging every statement issued since, and `supervision audit verify` checks the chain against
each day's anchor. Made by a job shortly after midnight for the day just ended."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from foundation.audit import AuditAnchor, anchor_day
from foundation.clock import BUSINESS_TZ
from foundation.jobs import Job
from foundation.settings import get_settings
from foundation.storage import BlobStore, open_blob_store
from reports.pdf import Document
from reports.service import Made, content_checksum, issue, made_pdf, verify_url
from reports.tables import IssuedDocument

KIND = "audit_statement"


def subject_of(day: date) -> str:
    return f"audit:{day.isoformat()}"


async def _statement(anchor: AuditAnchor, code: str) -> Made:
    document = Document(
        title="审计日志日终声明",
        number=f"SJ-{anchor.day:%Y%m%d}",
        checksum=content_checksum({"day": anchor.day.isoformat(), "seq": anchor.seq, "sha256": anchor.sha256}),
        verify_url=verify_url(code),
        facts=[
            ("日期", f"{anchor.day.isoformat()}（北京时间）"),
            ("当日审计条目", f"{anchor.entries} 条"),
            ("日终链头序号", str(anchor.seq)),
            ("日终链头哈希（SHA-256）", anchor.sha256[:32]),
            ("", anchor.sha256[32:]),
            ("生成时间", anchor.anchored_at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")),
        ],
        notes=[
            "审计日志每一条记录在提交时即按顺序加封：每个封条的哈希由前一封条的哈希与该条记录的全部内容计算得出。",
            "本声明记载当日结束时的链头。此后任何人改动、删除或插入此前的记录，链头都将与本声明不符；"
            "运行 supervision audit verify 可逐条核验并指出第一条不符的记录。",
        ],
    )
    return await made_pdf(document, None)


async def issue_statement(session: AsyncSession, store: BlobStore, day: date, now: datetime | None = None) -> tuple[bytes, IssuedDocument]:
    """The day's statement as issued (made once; asked again, the same bytes)."""
    anchor = await anchor_day(session, day, now)
    return await issue(session, store, KIND, subject_of(day), lambda code: _statement(anchor, code))


async def daily_statement(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    day = date.fromisoformat(period)
    _, document = await issue_statement(session, open_blob_store(get_settings()), day, now)
    return {"document": document.code, "number": document.number}


JOBS = [
    Job(
        name="audit.daily_statement",
        description="每日零时后生成前一日的审计日志日终声明（链头哈希，带核验码）",
        cron={"hour": "0", "minute": "20"},
        work=daily_statement,
        period_for=lambda now: (now.astimezone(BUSINESS_TZ).date() - timedelta(days=1)).isoformat(),
        period_kind="day",
        due=lambda period, now: now >= datetime.combine(date.fromisoformat(period) + timedelta(days=1), time.min, BUSINESS_TZ),
    ),
]
