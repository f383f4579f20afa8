"""The residents' satisfaction survey (居民满意度调查) through the estate's QR route: the committee prints a batch of
one-time codes for an estate-month and hands one to each household; a resident answers on the phone page with the
code, once. The month's answers are the estate's satisfaction figure once enough households answered (the
assessment reads them through complaints/queries.py)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from complaints.rules import (
    RATING_NAMES,
    SURVEY_ALPHABET,
    SURVEY_CODE_LENGTH,
    SurveyRating,
    normalised_survey_code,
    printed_survey_code,
    survey_code_digest,
)
from complaints.service import complaint_rules
from complaints.tables import SurveyAnswer, SurveyCode
from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.clock import utc_now
from foundation.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from foundation.periods import Month, business_date
from foundation.settings import get_settings
from registry import queries as registry_queries
from registry.queries import EstateInfo

# Who prints a batch of codes: the committee director and the community's social worker, for their own community.
ISSUERS = frozenset({Role.COMMITTEE_DIRECTOR, Role.COMMUNITY_WORKER})
COMMENT_LIMIT = 500


@dataclass(frozen=True)
class IssuedBatch:
    estate: EstateInfo
    month: Month
    codes: list[str]  # as printed (ABCDE-FGHJK); shown once, never stored
    issued_before: int  # codes of the estate-month issued by earlier batches


def _month_name(month: Month) -> str:
    return f"{month.year}年{month.month}月"


async def estate_of_issuer(session: AsyncSession, actor: Principal, estate_id: int) -> EstateInfo:
    require_role(actor, ISSUERS, "issuing survey codes")
    estate = (await registry_queries.estates(session, [estate_id])).get(estate_id)
    if estate is None:
        raise NotFound("estate", estate_id)
    if estate.community_id != actor.community_id:
        raise PermissionDenied("survey codes are issued by the estate's own community", zh="只能为本社区的小区发放调查码")
    return estate


async def issue_codes(session: AsyncSession, actor: Principal, estate_id: int, month: Month, count: int, now: datetime | None = None) -> IssuedBatch:
    """A batch of `count` one-time codes for the estate-month (this month or the next, printed ahead). The estate's
    households bound the month's codes: one answer per household."""
    now = now or utc_now()
    rules = complaint_rules().survey
    estate = await estate_of_issuer(session, actor, estate_id)
    this_month = Month.of(business_date(now))
    if month not in (this_month, this_month.next()):
        raise RuleViolation(f"codes are issued for {this_month} or {this_month.next()}", zh="只能为本月或下月发放调查码", field="month")
    if not 1 <= count <= rules.max_batch:
        raise RuleViolation(f"a batch has 1 to {rules.max_batch} codes", zh=f"每批调查码 1 至 {rules.max_batch} 个", field="count")
    issued = (await session.execute(select(func.count()).select_from(SurveyCode).where(col(SurveyCode.estate_id) == estate.id, col(SurveyCode.month) == str(month)))).scalar_one()
    if estate.households and issued + count > estate.households:
        raise RuleViolation(
            f"estate {estate.code} has {estate.households} households and {issued} codes for {month} already",
            zh=f"{estate.name}共 {estate.households} 户，{_month_name(month)}已发放 {issued} 个调查码，最多还能发放 {max(0, estate.households - issued)} 个",
            field="count",
        )
    secret = get_settings().resolved_secret_key()
    codes: list[str] = []
    while len(codes) < count:
        raw = "".join(secrets.choice(SURVEY_ALPHABET) for _ in range(SURVEY_CODE_LENGTH))
        if raw in codes:
            continue
        digest = survey_code_digest(secret, raw)
        if (await session.execute(select(col(SurveyCode.id)).where(col(SurveyCode.digest) == digest))).scalar() is not None:
            continue  # 50 bits: practically never, but a code is never issued twice
        session.add(SurveyCode(digest=digest, estate_id=estate.id, community_id=estate.community_id, month=str(month), issued_at=now, issued_by_user_id=actor.user_id))
        codes.append(raw)
    await session.flush()
    record_change(session, actor, "survey.codes_issued", "estate", estate.id, after={"month": str(month), "count": count})
    return IssuedBatch(estate=estate, month=month, codes=[printed_survey_code(c) for c in codes], issued_before=issued)


async def answer_survey(session: AsyncSession, estate_code: str, typed_code: str, rating: str, comment: str = "", now: datetime | None = None) -> SurveyAnswer:
    """A household's answer with its code: refused (nothing stored) for a code that is wrong, of another estate, of
    another month, or used already."""
    now = now or utc_now()
    estate = await registry_queries.estate_by_code(session, estate_code.strip())
    if estate is None:
        raise RuleViolation(f"no estate has the code {estate_code!r}", zh="找不到该小区，请扫描小区张贴的二维码", field="estate")
    try:
        chosen = SurveyRating(rating)
    except ValueError:
        raise RuleViolation("choose an answer", zh="请选择您对物业服务的评价", field="rating") from None
    comment = comment.strip()
    if len(comment) > COMMENT_LIMIT:
        raise RuleViolation(f"a comment has at most {COMMENT_LIMIT} characters", zh=f"意见建议最多 {COMMENT_LIMIT} 字", field="comment")
    raw = normalised_survey_code(typed_code)
    found = None
    if raw is not None:
        found = (await session.execute(select(SurveyCode).where(col(SurveyCode.digest) == survey_code_digest(get_settings().resolved_secret_key(), raw)))).scalar()
    if found is None:
        raise RuleViolation("the survey code is not one the committee issued", zh="调查码不正确，请核对居委会发给您的调查码（10 位字母和数字）", field="code")
    if found.estate_id != estate.id:
        raise RuleViolation("the survey code is of another estate", zh="该调查码不是本小区的，请扫描您所住小区张贴的二维码", field="code")
    this_month = Month.of(business_date(now))
    month = Month.parse(found.month)
    if month != this_month:
        raise RuleViolation(
            f"the survey code is for {month}, not {this_month}",
            zh=f"该调查码用于{_month_name(month)}的调查，{_month_name(this_month)}请使用居委会本月发放的调查码", field="code",
        )
    if found.used_at is not None:
        raise Conflict("the survey code has been used", zh="该调查码已经使用过：每户每月只能回答一次")
    # Mark the code used only if it still is not: of two answers sent at once with one code, one is taken.
    taken = await session.execute(update(SurveyCode).where(col(SurveyCode.id) == found.id, col(SurveyCode.used_at).is_(None)).values(used_at=now))
    if getattr(taken, "rowcount", 0) != 1:
        raise Conflict("the survey code has been used", zh="该调查码已经使用过：每户每月只能回答一次")
    answer = SurveyAnswer(code_id=found.id, estate_id=estate.id, month=found.month, rating=chosen.value, comment=comment, answered_at=now)
    session.add(answer)
    await session.flush()
    return answer


def rating_name(rating: str) -> str:
    try:
        return RATING_NAMES[SurveyRating(rating)]
    except ValueError:
        return rating
