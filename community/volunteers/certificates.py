"""志愿服务时长证明: a certificate of a volunteer's approved hours, issued like every other document (reports.service:
a random code in the QR and the verification address, the bytes kept and served again as issued, any altered copy
refused by the verification). One certificate per state of the approved hours: asking again with no new approval
gives the same document, byte for byte; a new approval makes the next one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from community.volunteers.rules import HoursState, format_minutes
from community.volunteers.service import own_volunteer
from community.volunteers.tables import Volunteer, VolunteerHours, VolunteerTeam
from foundation.access import Principal
from foundation.clock import BUSINESS_TZ
from foundation.errors import Conflict, RuleViolation
from foundation.storage import BlobStore
from registry import queries as registry_queries
from reports.pdf import Column, Document, TableBlock
from reports.service import Made, content_checksum, issue, made_pdf, people_named, served, verify_url

KIND = "volunteer_hours"


@dataclass(frozen=True)
class Certificate:
    """A certificate as issued: its bytes and what identifies it."""

    content: bytes
    code: str  # in the QR code and the verification address
    number: str
    title: str
    approved_minutes: int


async def _approved(session: AsyncSession, volunteer: Volunteer) -> list[VolunteerHours]:
    query = select(VolunteerHours).where(col(VolunteerHours.volunteer_id) == volunteer.id, col(VolunteerHours.state) == HoursState.APPROVED)
    return list((await session.execute(query.order_by(col(VolunteerHours.served_on), col(VolunteerHours.id)))).scalars())


def subject_of(volunteer: Volunteer, approved: list[VolunteerHours]) -> str:
    """The certificate's subject: the volunteer and the approved entries it covers (their count and the last one)."""
    return f"volunteer:{volunteer.id}/approved:{len(approved)}:{max((h.id for h in approved), default=0)}"


async def _make(session: AsyncSession, volunteer: Volunteer, approved: list[VolunteerHours], code: str) -> Made:
    community = await registry_queries.community(session, volunteer.community_id)
    teams = {t.id: t.name for t in (await session.execute(select(VolunteerTeam).where(col(VolunteerTeam.id).in_({h.team_id for h in approved})))).scalars()}
    total = sum(h.minutes for h in approved)
    number = f"ZYSC-{community.code if community else volunteer.community_id}-{volunteer.id:05d}-{len(approved):03d}"
    named = await people_named(session, *(h.decided_by for h in approved))  # reviewers by name and post, not account
    rows = [[str(h.served_on), teams.get(h.team_id, ""), h.activity, format_minutes(h.minutes), named(h.decided_by)] for h in approved]
    document = Document(
        title="志愿服务时长证明",
        number=number,
        checksum=content_checksum({"volunteer": volunteer.id, "hours": [(h.id, str(h.served_on), h.minutes) for h in approved], "total": total}),
        verify_url=verify_url(code),
        facts=[
            ("志愿者", volunteer.real_name),
            ("所在社区", f"{community.name}社区" if community else ""),
            ("已审核通过的服务", f"{len(approved)} 次，共 {format_minutes(total)}（{total} 分钟）"),
            ("统计截至", max(h.decided_at for h in approved if h.decided_at).astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if approved else ""),
        ],
        tables=[TableBlock("服务记录", (Column("服务日期", 24), Column("服务队", 30), Column("服务内容", 40), Column("时长", 18, True), Column("审核人", 58)), rows, ["合计", "", "", format_minutes(total), ""])],
        notes=("本证明仅列入服务队队长或社区社工审核通过的服务时长。扫描二维码或访问证明上的地址可核验真伪。",),
    )
    return await made_pdf(document, None)


async def issue_certificate(session: AsyncSession, store: BlobStore, actor: Principal) -> Certificate:
    """The volunteer asks for a certificate of their approved hours: the one already issued for the same hours, or a
    new one. Refused while no hours are approved."""
    volunteer = await own_volunteer(session, actor)
    approved = await _approved(session, volunteer)
    if not approved:
        raise RuleViolation("no approved hours yet: a certificate lists approved hours only", zh="还没有审核通过的服务时长，暂不能开具证明")
    content, row = await issue(session, store, KIND, subject_of(volunteer, approved), lambda code: _make(session, volunteer, approved, code))
    return Certificate(content, row.code, row.number, row.title, sum(h.minutes for h in approved))


async def issued_certificate(session: AsyncSession, store: BlobStore, actor: Principal) -> Certificate:
    """The certificate issued for the volunteer's approved hours as they stand, as issued (a GET never makes one)."""
    volunteer = await own_volunteer(session, actor)
    missing = Conflict("no certificate was issued for your approved hours as they stand; ask for one with POST /api/volunteers/me/certificate", zh="请先开具证明")
    approved = await _approved(session, volunteer)
    content, row = await served(session, store, KIND, subject_of(volunteer, approved), missing)
    return Certificate(content, row.code, row.number, row.title, sum(h.minutes for h in approved))
