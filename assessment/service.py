"""Use cases of the monthly assessment: committee opinions, vetoes and their review, computing and publishing
scores (versioned), locking the month, appeals. One transaction each; every state change is audited."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import msgspec
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from assessment import queries, schemas
from assessment.inputs import month_inputs
from assessment.rules import AUTOMATIC_VETO_REASONS, VETO_REASONS, Component, Ranked, ScoringRules, parse_scoring_rules, rank, score_month
from assessment.tables import (
    Appeal,
    AppealEvidence,
    AssessmentMonth,
    CommitteeOpinion,
    ContractReviewFlag,
    EstateScore,
    ScoreExclusion,
    ScoreRank,
    Veto,
    VetoComplaint,
    VetoEvidence,
)
from complaints import queries as complaint_queries
from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.calendar.rules import working_days_after
from foundation.calendar.service import working_calendar
from foundation.clock import utc_now
from foundation.duties import Duty, keep_apart
from foundation.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied, RuleViolation
from foundation.notifications import settle
from foundation.periods import Month, business_date, period_zh
from foundation.process_locks import transaction_lock
from foundation.settings import config_dir
from foundation.storage import BlobStore
from inspections import queries as inspection_queries
from inspections.attachments import MAX_PHOTOS, ReceivedPhoto, keep_photos, own_photos, required_store
from inspections.config import current_checklist
from inspections.flags import recheck_boundary
from inspections.rules import Source, request_fingerprint
from people.waiting import Turn, done, waits, whose_turn
from registry import queries as registry_queries
from registry.queries import CommunityInfo, EstateInfo, estate_tenures

DIRECTORS = frozenset({Role.COMMITTEE_DIRECTOR})
STREET = frozenset({Role.STREET_OFFICER})
# Who answers a company's appeal: the street officer of its street, or the district administrator (the one who
# answers when every officer of the street filed the contested finding: Duty.ANSWER_APPEAL_ON_OWN_FINDING).
APPEAL_ANSWERERS = frozenset({Role.STREET_OFFICER, Role.ADMIN})
COMPUTERS = frozenset({Role.STREET_OFFICER, Role.ADMIN})
OPINION_ATTEMPTS = 5


@lru_cache(maxsize=1)
def scoring_rules() -> ScoringRules:
    return parse_scoring_rules((config_dir() / "scoring.toml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def lifecycle_days() -> tuple[int, int]:
    """(working days to appeal after publication, working days for the street to review a veto)."""
    raw = tomllib.loads((config_dir() / "scoring.toml").read_text(encoding="utf-8")).get("lifecycle", {})
    try:
        appeal, review = int(raw["appeal_working_days"]), int(raw["veto_review_working_days"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"config/scoring.toml [lifecycle]: {error}") from None
    if appeal < 1 or review < 1:
        raise ValueError("config/scoring.toml [lifecycle]: working days must be at least 1")
    return appeal, review


async def _estate(session: AsyncSession, estate_id: int) -> tuple[EstateInfo, CommunityInfo]:
    estate = await registry_queries.estate(session, estate_id)
    community = await registry_queries.community(session, estate.community_id) if estate else None
    if estate is None or community is None:
        raise NotFound("estate", estate_id)
    return estate, community


async def month_state(session: AsyncSession, street_id: int, month: Month) -> AssessmentMonth | None:
    return (
        await session.execute(select(AssessmentMonth).where(col(AssessmentMonth.street_id) == street_id, col(AssessmentMonth.month) == str(month)))
    ).scalar()


async def _lock_street_months(session: AsyncSession, street_id: int) -> None:
    """Hold the street's row until this transaction ends, so that whatever changes a month of the street (opinions
    and their revision numbers, vetoes and their review, scores and their versions, appeals, the lock) happens one
    transaction at a time and sees what the one before stored (PostgreSQL; SQLite has one writer at a time anyway).
    FOR NO KEY UPDATE: rows that merely reference the street (patrols) are not held up."""
    await registry_queries.hold_street(session, street_id)


async def _not_locked(session: AsyncSession, street_id: int, month: Month) -> AssessmentMonth | None:
    await _lock_street_months(session, street_id)
    state = await month_state(session, street_id, month)
    if state is not None and state.state == "locked":
        raise Conflict(f"{month} is locked by the street; nothing of it changes any more", zh=f"{month} 已由街道锁定，不能再修改")
    return state


def _ended(month: Month, now: datetime) -> None:
    if month >= Month.of_instant(now):
        raise RuleViolation(f"{month} has not ended yet; it can be assessed from the 1st of the next month", zh=f"{month} 尚未结束，下月 1 日起方可考核", field="month")


def _started(month: Month, now: datetime) -> None:
    if month > Month.of_instant(now):
        raise RuleViolation(f"{month} has not begun", zh=f"{month} 尚未开始", field="month")


async def _director_of(session: AsyncSession, actor: Principal, estate_id: int) -> tuple[EstateInfo, CommunityInfo]:
    require_role(actor, DIRECTORS, "giving opinions and vetoes")
    estate, community = await _estate(session, estate_id)
    if community.id != actor.community_id:
        raise PermissionDenied(f"estate {estate.code} belongs to {community.name}; you act only for your own community", zh=f"片区 {estate.code} 属于{community.name}，您只能为本社区的片区提出意见或否决")
    return estate, community


# Committee opinion


@dataclass(frozen=True)
class GivenOpinion:
    opinion: CommitteeOpinion
    replayed: bool  # True: a resend of an opinion already given (same client id and body)


def _opinion_fingerprint(data: schemas.OpinionIn) -> str:
    return request_fingerprint({"kind": "committee_opinion", "body": msgspec.to_builtins(data)})


async def _earlier_opinion(session: AsyncSession, actor: Principal, client_id: str, fingerprint: str) -> CommitteeOpinion | None:
    opinion = (await session.execute(select(CommitteeOpinion).where(col(CommitteeOpinion.client_id) == client_id))).scalar()
    if opinion is None:
        return None
    if opinion.given_by_user_id != actor.user_id:
        raise Conflict(f"client id {client_id} is already used by another record; generate a new one", zh="提交编号已被使用，请刷新页面后重新填写", field="client_id")
    if opinion.fingerprint != fingerprint:
        raise Conflict(
            f"client id {client_id} was already used for opinion {opinion.id} with a different body; a retry must send the same body, and a new opinion needs a new client id",
            zh="该意见已提交过，内容不同的意见请刷新页面后重新填写",
            field="client_id",
        )
    return opinion


async def give_opinion(session: AsyncSession, actor: Principal, data: schemas.OpinionIn, now: datetime | None = None) -> GivenOpinion:
    """Give the committee's opinion of an estate's month, once per client id: a resend returns the opinion already
    given; a new client id for the same estate and month is the next revision (numbered under the street's lock,
    and by the unique (estate, month, revision) constraint)."""
    now = now or utc_now()
    month = Month.parse(data.month)
    _started(month, now)
    fingerprint = _opinion_fingerprint(data)
    for _ in range(OPINION_ATTEMPTS):
        estate, community = await _director_of(session, actor, data.estate_id)
        await _lock_street_months(session, community.street_id)
        earlier = await _earlier_opinion(session, actor, data.client_id, fingerprint)
        if earlier is not None:
            return GivenOpinion(earlier, replayed=True)
        await _not_locked(session, community.street_id, month)
        if (data.satisfied is None) != (data.answered is None) or (data.answered is not None and data.satisfied is not None and data.satisfied > data.answered):
            raise RuleViolation("give both satisfied and answered (satisfied at most answered), or neither", zh="满意户数和答卷户数要么都填，要么都不填，且满意户数不能多于答卷户数", field="satisfied")
        revision = 1 + (
            await session.execute(select(func.coalesce(func.max(col(CommitteeOpinion.revision)), 0)).where(col(CommitteeOpinion.estate_id) == estate.id, col(CommitteeOpinion.month) == str(month)))
        ).scalar_one()
        opinion = CommitteeOpinion(
            client_id=data.client_id,
            fingerprint=fingerprint,
            estate_id=estate.id,
            community_id=community.id,
            month=str(month),
            revision=revision,
            rating=data.rating,
            satisfied=data.satisfied,
            answered=data.answered,
            note=data.note,
            given_at=now,
            given_by_user_id=actor.user_id,
            given_by=actor.label,
        )
        try:
            async with session.begin_nested():  # losing a race undoes only this attempt
                session.add(opinion)
                await session.flush()
                record_change(session, actor, "opinion.given", "committee_opinion", opinion.id, after={"estate_id": estate.id, "month": str(month), "rating": data.rating, "revision": revision})
            if revision == 1:
                await _settle_opinion_reminder(session, community.id, month)
            return GivenOpinion(opinion, replayed=False)
        except IntegrityError:
            # Another request took this client id or this revision first: look again.
            continue
    raise Conflict("too many simultaneous opinions for this estate; retry with the same client id", zh="同时提交的意见过多，请稍后重试")


async def _settle_opinion_reminder(session: AsyncSession, community_id: int, month: Month) -> None:
    """Once every estate of the community has the month's opinion, the reminder to its director (assessment.jobs,
    keyed `opinion|month|community:id`) no longer waits on anyone."""
    given = set((await session.execute(select(col(CommitteeOpinion.estate_id)).where(col(CommitteeOpinion.community_id) == community_id, col(CommitteeOpinion.month) == str(month)))).scalars())
    if all(e.id in given for e in await registry_queries.managed_during(session, month, community_id=community_id)):
        await settle(session, f"opinion|{month}|community:{community_id}")


# Vetoes


async def _company_and_contract(session: AsyncSession, estate_id: int, month: Month) -> tuple[int | None, int | None]:
    """The company and contract that served the estate last in the month (also when the contract ended mid-month)."""
    tenures = await estate_tenures(session, month.first_day, month.last_day, [estate_id])
    contract = tenures[0].last_contract(month.first_day, month.last_day) if tenures else None
    return (contract.company_id, contract.contract_id) if contract else (None, None)


async def cast_veto(
    session: AsyncSession,
    actor: Principal,
    data: schemas.VetoIn,
    now: datetime | None = None,
    *,
    store: BlobStore | None = None,
    photos: Sequence[ReceivedPhoto] = (),
) -> Veto:
    """一票否决 with evidence photos: uploaded ones (`evidence_photo_ids`) or ones received with the form (`photos`,
    stored only once the right to act and everything else is checked)."""
    now = now or utc_now()
    month = Month.parse(data.month)
    _started(month, now)
    if data.reason not in VETO_REASONS:
        raise RuleViolation(f"reason must be one of: {', '.join(VETO_REASONS)}", zh="请从列表中选择否决理由", field="reason")
    estate, community = await _director_of(session, actor, data.estate_id)
    await _not_locked(session, community.street_id, month)
    complaint_ids = sorted(set(data.complaint_ids))
    if complaint_ids:
        await _complaints_as_evidence(session, estate, month, data.reason, complaint_ids)
    elif not data.evidence_photo_ids and not photos:
        raise RuleViolation("attach at least one evidence photo", zh="请至少上传一张证据照片", field="photo")
    if len(set(data.evidence_photo_ids)) + len(photos) > MAX_PHOTOS:
        raise RuleViolation(f"attach at most {MAX_PHOTOS} evidence photos", zh=f"证据照片最多 {MAX_PHOTOS} 张", field="photo")
    await own_photos(session, actor, data.evidence_photo_ids, zh="证据照片未上传成功，请重新选择")
    veto = await _open_veto(session, actor, estate, community, month, data.reason, data.explanation, now, automatic=False, defect_id=None)
    evidence = set(data.evidence_photo_ids)
    if photos:
        evidence |= set(await keep_photos(session, required_store(store), actor, photos))
    for photo in sorted(evidence):
        session.add(VetoEvidence(veto_id=veto.id, attachment_id=photo))
    for complaint_id in complaint_ids:
        session.add(VetoComplaint(veto_id=veto.id, complaint_id=complaint_id))
    if complaint_ids:
        record_change(session, actor, "veto.complaints", "veto", veto.id, after={"complaint_ids": complaint_ids})
    await session.flush()
    return veto


async def _complaints_as_evidence(session: AsyncSession, estate: EstateInfo, month: Month, reason: str, complaint_ids: list[int]) -> None:
    """Residents' complaints are evidence of a mass complaint (a cluster the street's dashboard shows): at least a
    cluster's worth, all of the estate, reported by the end of the veto's month, the latest of them in it."""
    if reason != "mass_complaint":
        raise RuleViolation("complaints are evidence of a mass complaint only", zh="居民投诉只能作为“群体性投诉”否决的证据", field="reason")
    least = complaint_queries.cluster_size()
    if len(complaint_ids) < least:
        raise RuleViolation(f"a mass complaint rests on at least {least} complaints", zh=f"群体性投诉至少需要 {least} 件居民投诉", field="complaint_ids")
    found = await complaint_queries.complaints_as_evidence(session, complaint_ids)
    for complaint_id in complaint_ids:
        complaint = found.get(complaint_id)
        if complaint is None or complaint.estate_id != estate.id:
            raise RuleViolation(f"complaint {complaint_id} is not a complaint about estate {estate.code}", zh=f"投诉 #{complaint_id} 不是{estate.name}的居民投诉", field="complaint_ids")
        if complaint.month > str(month):
            raise RuleViolation(f"complaint {complaint_id} was reported after {month}", zh=f"投诉 #{complaint_id} 晚于否决月份", field="complaint_ids")
    if max(found[i].month for i in complaint_ids) != str(month):
        raise RuleViolation(f"the latest complaint is not of {month}", zh="否决月份应为最近一件投诉所在的月份", field="month")


async def _open_veto(
    session: AsyncSession, actor: Principal, estate: EstateInfo, community: CommunityInfo, month: Month, reason: str, explanation: str, now: datetime, *, automatic: bool, defect_id: int | None
) -> Veto:
    due, _ = working_days_after(business_date(now), lifecycle_days()[1], await working_calendar(session))
    return (await _open_vetoes(session, actor, month, now, due, [(estate, community, await _company_and_contract(session, estate.id, month), reason, explanation, automatic, defect_id)]))[0]


async def _open_vetoes(
    session: AsyncSession,
    actor: Principal,
    month: Month,
    now: datetime,
    due: date,
    cases: Sequence[tuple[EstateInfo, CommunityInfo, tuple[int | None, int | None], str, str, bool, int | None]],
) -> list[Veto]:
    """Store veto cases (estate, community, (company, contract), reason, explanation, automatic, source defect),
    all in one flush, each audited."""
    vetoes = [
        Veto(
            estate_id=estate.id,
            community_id=community.id,
            street_id=community.street_id,
            company_id=company_id,
            contract_id=contract_id,
            month=str(month),
            reason_code=reason,
            explanation=explanation,
            automatic=automatic,
            source_defect_id=defect_id,
            state="pending",
            cast_at=now,
            cast_by_user_id=actor.user_id,
            cast_by=actor.label,
            review_due_on=due,
        )
        for estate, community, (company_id, contract_id), reason, explanation, automatic, defect_id in cases
    ]
    session.add_all(vetoes)
    await session.flush()
    officers: dict[int, list[int]] = {}
    for veto, (estate, community, _, _, explanation, automatic, _) in zip(vetoes, cases, strict=True):
        after = {"estate_id": veto.estate_id, "month": str(month), "reason": veto.reason_code, "automatic": veto.automatic, "defect_id": veto.source_defect_id}
        record_change(session, actor, "veto.opened", "veto", veto.id, after=after)
        if community.street_id not in officers:
            officers[community.street_id] = await whose_turn(session, Turn(Role.STREET_OFFICER, street_id=community.street_id))
        await waits(
            session, "veto", veto.id, officers[community.street_id],
            f"一票否决待审核：{estate.name}", f"{period_zh(str(month))}{'自动否决' if automatic else '居委会否决'}：{explanation[:200].rstrip('。')}。请在 {due} 前审核。",
            f"/assessment/vetoes#veto-{veto.id}",
        )
    return vetoes


async def open_automatic_vetoes(session: AsyncSession, actor: Principal, street_id: int, month: Month) -> list[Veto]:
    """Veto cases the rules open by themselves (each once): a defect on a veto-marked item found by the street's
    own inspection, and a company's third overdue rectification of the month on an estate of the street. Read and
    stored set-based: a city month opens hundreds at once."""
    taken = set((await session.execute(select(col(Veto.source_defect_id)).where(col(Veto.source_defect_id).is_not(None)))).scalars())
    triggers = await inspection_queries.veto_triggers(session, street_id, month, leaving_out={t for t in taken if t is not None})
    if not triggers:
        return []
    estate_ids = sorted({d.estate_id for d in triggers})
    estates = await registry_queries.estates(session, estate_ids)
    communities: dict[int, CommunityInfo] = {}
    for community_id in sorted({e.community_id for e in estates.values()}):
        if (community := await registry_queries.community(session, community_id)) is not None:
            communities[community_id] = community
    served: dict[int, tuple[int | None, int | None]] = {}
    for tenure in await estate_tenures(session, month.first_day, month.last_day, estate_ids):
        contract = tenure.last_contract(month.first_day, month.last_day)
        served[tenure.estate_id] = (contract.company_id, contract.contract_id) if contract else (None, None)
    now = utc_now()
    due, _ = working_days_after(business_date(now), lifecycle_days()[1], await working_calendar(session))
    cases = []
    for defect in triggers:
        estate = estates.get(defect.estate_id)
        community = communities.get(estate.community_id) if estate else None
        if estate is None or community is None:
            raise NotFound("estate", defect.estate_id)
        reason = "veto_item_defect" if defect.veto_item and defect.source is Source.STREET_INSPECTION else "third_overdue"
        explanation = f"{AUTOMATIC_VETO_REASONS[reason]}：缺陷 #{defect.id}（{defect.item_code}）"
        cases.append((estate, community, served.get(estate.id, (None, None)), reason, explanation, True, defect.id))
    return await _open_vetoes(session, actor, month, now, due, cases)


async def get_veto(session: AsyncSession, actor: Principal, veto_id: int) -> Veto:
    veto = await session.get(Veto, veto_id)
    if veto is None or not _sees(actor, veto.street_id, veto.community_id, veto.company_id):
        raise NotFound("veto", veto_id)
    return veto


def _sees(actor: Principal, street_id: int, community_id: int, company_id: int | None) -> bool:
    if actor.role is Role.COMPANY:
        return company_id is not None and company_id == actor.company_id
    return actor.sees_community(community_id, street_id)


async def review_veto(
    session: AsyncSession, actor: Principal, veto_id: int, data: schemas.VetoReviewIn, now: datetime | None = None, *, recompute: bool = True
) -> Veto:
    """The street upholds or overturns a pending veto with a written reason. Upheld: the month is 不合格; a second
    upheld veto within 12 months flags the contract for review. `recompute=False`: the caller recomputes the
    published month itself once (a batch of reviews)."""
    now = now or utc_now()
    require_role(actor, STREET, "reviewing vetoes")
    veto = await get_veto(session, actor, veto_id)
    if veto.street_id != actor.street_id:
        raise PermissionDenied("you review vetoes of your own street only", zh="只能审核本街道的一票否决")
    if not veto.automatic:  # an automatic case is opened by the rules, not cast by whoever computed the month
        keep_apart(Duty.REVIEW_OWN_VETO, actor, [veto.cast_by_user_id])
    await _lock_street_months(session, veto.street_id)
    await session.refresh(veto)  # as it is now that no other review can be under way
    if veto.state != "pending":
        raise Conflict(f"veto {veto_id} was already {veto.state}", zh="该否决已被审核过")
    await _not_locked(session, veto.street_id, Month.parse(veto.month))
    before = {"state": veto.state}
    veto.state = "upheld" if data.uphold else "overturned"
    veto.review_reason = data.reason
    veto.reviewed_at = now
    veto.reviewed_by = actor.label
    record_change(session, actor, f"veto.{veto.state}", "veto", veto.id, before=before, after={"state": veto.state}, reason=data.reason)
    await done(session, "veto", veto.id)
    if data.uphold and veto.contract_id is not None:
        year_ago = Month.parse(veto.month)
        for _ in range(11):
            year_ago = year_ago.previous()
        upheld = (
            await session.execute(
                select(func.count()).where(col(Veto.contract_id) == veto.contract_id, col(Veto.state) == "upheld", col(Veto.month) >= str(year_ago), col(Veto.id) != veto.id)
            )
        ).scalar_one()
        if upheld >= 1:
            session.add(ContractReviewFlag(contract_id=veto.contract_id, veto_id=veto.id, flagged_at=now, note=f"12个月内第{upheld + 1}次一票否决被维持"))
            record_change(session, actor, "contract.flagged_for_review", "service_contract", veto.contract_id, after={"veto_id": veto.id, "upheld_in_12_months": upheld + 1})
    await session.flush()
    state = await month_state(session, veto.street_id, Month.parse(veto.month))
    if recompute and state is not None and state.state == "computed":
        await compute_month(session, actor, veto.street_id, Month.parse(veto.month), reason=f"veto {veto.id} {veto.state}", now=now)
    return veto


BATCH_MOST = 200  # vetoes decided in one batch (the review desk lists 200)


class VetoBatchRefused(Conflict):
    """A batch of veto reviews refused as a whole because some of its vetoes may not be reviewed (by this officer,
    or any more): `refused` holds each such veto's id and its own refusal. Nothing of the batch was decided."""

    title_zh = "批量审核未执行"

    def __init__(self, refused: list[tuple[int, DomainError]]) -> None:
        told = "; ".join(f"veto {i}: {exc.detail}" for i, exc in refused)
        told_zh = "；".join(f"#{i}：{exc.message_zh}" for i, exc in refused)
        super().__init__(
            f"{len(refused)} of the vetoes chosen cannot be reviewed ({told}); nothing was decided: leave them out and send the rest again",
            zh=f"所选否决中有 {len(refused)} 项不能审核（{told_zh}），本次未审核任何一项；请取消勾选这些项后重新提交",
            field="veto_ids",
            refused=[{"veto_id": i, "detail": exc.detail} for i, exc in refused],
        )
        self.refused = refused


async def review_vetoes(session: AsyncSession, actor: Principal, veto_ids: Sequence[int], data: schemas.VetoReviewIn, now: datetime | None = None) -> list[Veto]:
    """One decision and reason for several pending vetoes, all or nothing. Each is reviewed by `review_veto`, the
    single review (its own checks, scope and separation of duties included, and its own audit entry); if any of them
    is refused, none is decided and the refusal names every veto refused with its reason (VetoBatchRefused). Each
    published month touched is recomputed once at the end."""
    now = now or utc_now()
    require_role(actor, STREET, "reviewing vetoes")
    chosen = list(dict.fromkeys(veto_ids))
    if not chosen or len(chosen) > BATCH_MOST:
        raise InvalidInput(f"choose from 1 to {BATCH_MOST} vetoes to review", zh=f"请先勾选要审核的一票否决（一次最多 {BATCH_MOST} 项）", field="veto_ids")
    decided: list[Veto] = []
    refused: list[tuple[int, DomainError]] = []
    for veto_id in chosen:
        try:
            async with session.begin_nested():  # a refused one leaves nothing behind, so every other is still checked
                decided.append(await review_veto(session, actor, veto_id, data, now, recompute=False))
        except DomainError as exc:
            refused.append((veto_id, exc))
    if refused:  # the caller's transaction (the page's or the API's) is rolled back: the decided ones are undone
        raise VetoBatchRefused(refused)
    for street_id, month in sorted({(v.street_id, v.month) for v in decided}):
        state = await month_state(session, street_id, Month.parse(month))
        if state is not None and state.state == "computed":
            await compute_month(session, actor, street_id, Month.parse(month), reason="vetoes reviewed together", now=now)
    return decided


# Scores


async def rank_month(session: AsyncSession, month: Month) -> int:
    """Store the rank of every estate's current score of `month` in its street and in the district (the rule:
    assessment.rules.rank; an unscored month has none), writing only the ranks that changed. Called by every
    computation that makes a new version; ranking a month happens one transaction at a time, each seeing the scores
    the one before stored. Returns how many estates' ranks were written."""
    await transaction_lock(session, f"score-ranks|{month}")
    current: dict[int, tuple[int, int, int, int | None, bool]] = {}
    for score_id, estate_id, version, street_id, score_centi, vetoed in await session.execute(
        select(col(EstateScore.id), col(EstateScore.estate_id), col(EstateScore.version), col(EstateScore.street_id), col(EstateScore.score_centi), col(EstateScore.vetoed))
        .where(col(EstateScore.month) == str(month))
    ):
        if estate_id not in current or version > current[estate_id][1]:
            current[estate_id] = (score_id, version, street_id, score_centi, vetoed)
    stored = {
        estate_id: (score_id, in_street, in_district)
        for estate_id, score_id, in_street, in_district in await session.execute(
            select(col(ScoreRank.estate_id), col(ScoreRank.score_id), col(ScoreRank.rank_in_street), col(ScoreRank.rank_in_district)).where(col(ScoreRank.month) == str(month))
        )
    }
    scored = [Ranked(estate_id=e, code="", score_centi=c[3], vetoed=c[4], committee_opinion=None) for e, c in current.items() if c[3] is not None]
    in_district = {r.estate_id: n for n, r in rank(scored)}
    in_street: dict[int, int] = {}
    for street in {current[r.estate_id][2] for r in scored}:
        in_street.update({r.estate_id: n for n, r in rank([r for r in scored if current[r.estate_id][2] == street])})
    added: list[dict[str, object]] = []
    changed: list[dict[str, object]] = []
    for estate_id, (score_id, _, street_id, _, _) in current.items():
        row: dict[str, object] = {
            "estate_id": estate_id, "month": str(month), "score_id": score_id, "street_id": street_id,
            "rank_in_street": in_street.get(estate_id), "rank_in_district": in_district.get(estate_id),
        }
        before = stored.get(estate_id)
        if before is None:
            added.append(row)
        elif before != (score_id, row["rank_in_street"], row["rank_in_district"]):
            changed.append(row)
    if added:
        await session.execute(insert(ScoreRank), added)
    if changed:
        await session.execute(update(ScoreRank), changed)  # by primary key (estate, month), one statement for all
    return len(added) + len(changed)


async def compute_month(
    session: AsyncSession, actor: Principal, street_id: int, month: Month, *, reason: str = "computed", now: datetime | None = None, ranked: bool = True
) -> schemas.ComputeOut:
    """Compute (or recompute) every estate's score of a street's month and publish it. A score whose inputs and
    rules are unchanged is kept; one that differs becomes a new version, the old kept. The month's ranks are stored
    again when a version changed (`ranked=False`: the caller computes several streets and ranks once after)."""
    now = now or utc_now()
    require_role(actor, COMPUTERS | {Role.ADMIN}, "computing scores")
    if actor.role is Role.STREET_OFFICER and actor.street_id != street_id:
        raise PermissionDenied("you compute your own street's scores only", zh="只能计算本街道的考核得分")
    _ended(month, now)
    state = await _not_locked(session, street_id, month)
    await open_automatic_vetoes(session, actor, street_id, month)
    estates = sorted(await registry_queries.managed_during(session, month, street_id=street_id), key=lambda e: e.id)
    estate_ids = [e.id for e in estates]
    community_of = {e.id: e.community_id for e in estates}
    rules = scoring_rules()
    inputs = await month_inputs(session, estate_ids, month, now, current_checklist(), with_complaints=rules.weights[Component.COMPLAINTS] > 0)
    # The newest version of each estate's score: what a new computation is compared with (not its breakdown).
    current: dict[int, tuple[int, str, str]] = {
        estate_id: (version, rules_sha256, inputs_sha256)
        for estate_id, version, rules_sha256, inputs_sha256 in await session.execute(
            select(col(EstateScore.estate_id), col(EstateScore.version), col(EstateScore.rules_sha256), col(EstateScore.inputs_sha256))
            .where(col(EstateScore.street_id) == street_id, col(EstateScore.month) == str(month))
            .order_by(col(EstateScore.version))
        )
    }
    # The company that served each estate last in the month (a contract ended mid-month still owns its month).
    companies = {
        t.estate_id: contract.company_id
        for t in (await estate_tenures(session, month.first_day, month.last_day, estate_ids) if estate_ids else [])
        if (contract := t.last_contract(month.first_day, month.last_day)) is not None
    }
    new_scores: list[dict[str, object]] = []
    for estate_id in estate_ids:
        result = score_month(inputs[estate_id], rules)
        previous = current.get(estate_id)
        if previous is not None and previous[1] == result.rules_sha256 and previous[2] == result.inputs_sha256:
            continue
        new_scores.append(
            {
                "estate_id": estate_id,
                "community_id": community_of[estate_id],
                "street_id": street_id,
                "company_id": companies.get(estate_id),
                "month": str(month),
                "version": (previous[0] + 1) if previous else 1,
                "rules_sha256": result.rules_sha256,
                "inputs_sha256": result.inputs_sha256,
                "score_centi": result.score_centi,
                "grade": result.grade,
                "vetoed": result.vetoed,
                "result": schemas.score_result_json(result),
                "computed_at": now,
                "reason": reason if previous else "first computation",
            }
        )
    if new_scores:
        await session.execute(insert(EstateScore), new_scores)  # one multi-row INSERT, not an ORM object per estate
    new_versions = len(new_scores)
    if state is None:
        appeal_until, _ = working_days_after(business_date(now), lifecycle_days()[0], await working_calendar(session))
        state = AssessmentMonth(street_id=street_id, month=str(month), state="computed", published_at=now, appeal_until=appeal_until)
        session.add(state)
    elif state.state == "open":
        state.state = "computed"
        state.published_at = now
        state.appeal_until, _ = working_days_after(business_date(now), lifecycle_days()[0], await working_calendar(session))
    state.computed_at = now
    record_change(session, actor, "month.computed", "assessment_month", f"{street_id}:{month}", after={"estates": len(estate_ids), "new_versions": new_versions}, reason=reason)
    await session.flush()
    if ranked and new_versions:
        await rank_month(session, month)
    return schemas.ComputeOut(street_id=street_id, month=str(month), estates=len(estate_ids), new_versions=new_versions, state=state.state, appeal_until=state.appeal_until)


async def streets_with_evidence(session: AsyncSession, month: Month) -> set[int]:
    """The streets with anything filed for `month`: a record or a committee opinion. A month nobody filed anything
    for is not scored by the scheduler (its estates would be published unscored, ranked with nothing behind them);
    its officer can still compute it."""
    streets = await inspection_queries.streets_with_records(session, month)
    opined = set((await session.execute(select(col(CommitteeOpinion.estate_id)).where(col(CommitteeOpinion.month) == str(month)).distinct())).scalars())
    if opined:
        streets |= {e.street_id for e in (await registry_queries.estates(session, opined)).values()}
    return streets


class NothingToLock(RuleViolation):
    """Not one estate of the street's month has a score: nothing was filed that month."""


async def lock_refusals(session: AsyncSession, street_id: int, month: Month) -> list[DomainError]:
    """Why the street's month cannot be locked as it stands now, each as the refusal the lock would give (empty: it
    can be): locked already; never computed; a veto pending or an appeal unanswered; or not one estate of the
    street with a score, that is no evidence at all that month (locking it would fix a month of nothing as the basis
    of the subsidy). The one rule of the lock: `lock_month` refuses by it before and after its last recomputation,
    and the desk shows it before the officer confirms."""
    state = await month_state(session, street_id, month)
    if state is not None and state.state == "locked":
        return [Conflict(f"{month} is locked by the street; nothing of it changes any more", zh=f"{month} 已由街道锁定，不能再修改")]
    refusals: list[DomainError] = []
    if state is None:
        refusals.append(RuleViolation(f"{month} has not been computed yet; compute it first", zh=f"{month} 尚未计算得分，请先在月度考核页计算并公布"))
    else:
        estates, scored = await queries.street_month_counts(session, street_id, month)
        if not scored:
            refusals.append(NothingToLock(
                f"{month} has no evidence for any of the street's {estates} estates (no patrol, inspection, spot check or committee opinion); "
                "file the month's evidence (or a late record) and compute it again before locking",
                zh=f"{month} 本街道 {estates} 个区片都没有任何考核证据（巡查、检查、抽查或社区意见），不能锁定；请先录入本月证据（或补报记录）并重新计算",
            ))
    pending = (await session.execute(select(func.count()).where(col(Veto.street_id) == street_id, col(Veto.month) == str(month), col(Veto.state) == "pending"))).scalar_one()
    if pending:
        refusals.append(RuleViolation(f"{pending} veto(es) of {month} are still pending; review them before locking", zh=f"还有 {pending} 项一票否决待审核，审核后才能锁定"))
    open_appeals = (await session.execute(select(func.count()).where(col(Appeal.street_id) == street_id, col(Appeal.month) == str(month), col(Appeal.state) == "pending"))).scalar_one()
    if open_appeals:
        refusals.append(RuleViolation(f"{open_appeals} appeal(s) of {month} are still unanswered; answer them before locking", zh=f"还有 {open_appeals} 项申诉未答复，答复后才能锁定"))
    return refusals


async def lock_month(session: AsyncSession, actor: Principal, street_id: int, month: Month, now: datetime | None = None) -> AssessmentMonth:
    """The street locks its month after a last recomputation: nothing of it changes any more. Refused by
    `lock_refusals` as the month stands, and again after the recomputation (it may have opened automatic vetoes, or
    found the month's evidence gone): a refusal leaves nothing behind (the caller's transaction is rolled back)."""
    now = now or utc_now()
    require_role(actor, STREET, "locking a month")
    if actor.street_id != street_id:
        raise PermissionDenied("you lock your own street's months only", zh="只能锁定本街道的月度考核")
    await _lock_street_months(session, street_id)
    # Not for want of scores alone: new evidence since the last computation may give the month its scores.
    refusals = [r for r in await lock_refusals(session, street_id, month) if not isinstance(r, NothingToLock)]
    if refusals:
        raise refusals[0]
    await compute_month(session, actor, street_id, month, reason="recomputed before locking", now=now)
    refusals = await lock_refusals(session, street_id, month)
    if refusals:
        raise refusals[0]
    state = await month_state(session, street_id, month)
    assert state is not None  # compute_month has just stored it
    state.state = "locked"
    state.locked_at = now
    state.locked_by = actor.label
    record_change(session, actor, "month.locked", "assessment_month", f"{street_id}:{month}")
    await _tell_companies_locked(session, street_id, month)
    await session.flush()
    return state


async def _tell_companies_locked(session: AsyncSession, street_id: int, month: Month) -> None:
    """A locked month's scores are final: each company scored in it is told (they decide its subsidy), once."""
    scored = (await session.execute(select(col(EstateScore.company_id), func.count(func.distinct(col(EstateScore.estate_id)))).where(
        col(EstateScore.street_id) == street_id, col(EstateScore.month) == str(month), col(EstateScore.company_id).is_not(None)
    ).group_by(col(EstateScore.company_id)))).all()
    street = await registry_queries.street(session, street_id)
    where = f"{street.name}街道" if street is not None else "街道"
    for company_id, estates in scored:
        await waits(
            session, "scores-locked", f"{street_id}:{month}:{company_id}", await whose_turn(session, Turn(Role.COMPANY, company_id=company_id)),
            f"{period_zh(str(month))}考核已锁定", f"{where}已锁定{period_zh(str(month))}考核，贵公司 {estates} 个区片的得分为最终结果，将据此核拨补贴。",
            f"/assessment?month={month}",
        )


# Evidence-integrity flags when an estate's boundary changes


async def recheck_boundary_flags(session: AsyncSession, estate_id: int, now: datetime) -> tuple[int, int]:
    """The estate's boundary was set, changed or removed: re-evaluate the outside-the-boundary flags of its records
    in the months its street has not locked (a locked month's evidence stays as it was judged). Named by the
    composition root as the registry's boundary listener. Returns (flags raised, flags cleared)."""
    estate = await registry_queries.estate(session, estate_id)
    if estate is None:
        return 0, 0
    return await recheck_boundary(session, estate_id, await queries.locked_months(session, estate.street_id), now)


# Appeals


async def file_appeal(
    session: AsyncSession,
    actor: Principal,
    data: schemas.AppealIn,
    now: datetime | None = None,
    *,
    store: BlobStore | None = None,
    photos: Sequence[ReceivedPhoto] = (),
) -> Appeal:
    """A company appeals a published score, with photos if it has them: uploaded ones (`evidence_photo_ids`) or ones
    received with the form (`photos`, stored only once everything else is checked)."""
    now = now or utc_now()
    require_role(actor, {Role.COMPANY}, "appealing a score")
    month = Month.parse(data.month)
    score = (
        await session.execute(select(EstateScore).where(col(EstateScore.estate_id) == data.estate_id, col(EstateScore.month) == str(month)).order_by(col(EstateScore.version).desc()))
    ).scalars().first()
    if score is None or actor.company_id is None or score.company_id != actor.company_id:
        raise NotFound("published score of estate", f"{data.estate_id} for {month}")
    state = await month_state(session, score.street_id, month)
    if state is None or state.state != "computed":
        raise Conflict(f"{month} is {state.state if state else 'not computed'}; appeals are for published, unlocked months", zh="只能对已公布且未锁定月份的得分申诉")
    if state.appeal_until is not None and business_date(now) > state.appeal_until:
        raise RuleViolation(f"the appeal window for {month} closed on {state.appeal_until}", zh=f"申诉期已于 {state.appeal_until} 结束")
    if data.defect_id is not None:
        defect = await inspection_queries.defect(session, data.defect_id)
        if defect is None or defect.estate_id != data.estate_id or defect.company_id != actor.company_id:
            raise RuleViolation(f"defect {data.defect_id} is not a finding against your company on this estate", zh="所选问题不属于贵公司在该区片的整改单", field="defect_id")
    if len(set(data.evidence_photo_ids)) + len(photos) > MAX_PHOTOS:
        raise InvalidInput(f"attach at most {MAX_PHOTOS} photos", zh=f"申诉照片最多 {MAX_PHOTOS} 张", field="photo")
    await own_photos(session, actor, data.evidence_photo_ids, zh="申诉照片未上传成功，请重新选择")
    appeal = Appeal(
        estate_id=data.estate_id, street_id=score.street_id, company_id=actor.company_id,
        month=str(month), defect_id=data.defect_id, reason=data.reason, state="pending", filed_at=now, filed_by=actor.label,
    )
    session.add(appeal)
    await session.flush()
    evidence = set(data.evidence_photo_ids)
    if photos:
        evidence |= set(await keep_photos(session, required_store(store), actor, photos))
    for photo in sorted(evidence):
        session.add(AppealEvidence(appeal_id=appeal.id, attachment_id=photo))
    record_change(session, actor, "appeal.filed", "appeal", appeal.id, after={"estate_id": data.estate_id, "month": str(month), "defect_id": data.defect_id, "photo_ids": sorted(evidence)}, reason=data.reason)
    estate, _ = await _estate(session, data.estate_id)
    await waits(
        session, "appeal", appeal.id, await whose_turn(session, Turn(Role.STREET_OFFICER, street_id=score.street_id)),
        f"申诉待答复：{estate.name}", f"{period_zh(str(month))}得分申诉：{data.reason[:200]}", f"/assessment/appeals#appeal-{appeal.id}",
    )
    await session.flush()
    return appeal


async def get_appeal(session: AsyncSession, actor: Principal, appeal_id: int) -> Appeal:
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound("appeal", appeal_id)
    community = (await registry_queries.estates(session, [appeal.estate_id]))[appeal.estate_id].community_id
    if not _sees(actor, appeal.street_id, community, appeal.company_id):
        raise NotFound("appeal", appeal_id)
    return appeal


async def answer_appeal(session: AsyncSession, actor: Principal, appeal_id: int, data: schemas.AppealAnswerIn, now: datetime | None = None) -> Appeal:
    """Upheld: the contested finding is left out of scoring (with the reason) and the month recomputed.
    Rejected: the score stands; the reason is kept."""
    now = now or utc_now()
    require_role(actor, APPEAL_ANSWERERS, "answering appeals")
    appeal = await get_appeal(session, actor, appeal_id)
    if actor.role is Role.STREET_OFFICER and appeal.street_id != actor.street_id:
        raise PermissionDenied("you answer appeals of your own street only", zh="只能答复本街道的申诉")
    if appeal.defect_id is not None:
        # Nobody answers an appeal against a finding of an inspection they filed themselves.
        finding = await inspection_queries.defect(session, appeal.defect_id)
        if finding is not None:
            keep_apart(Duty.ANSWER_APPEAL_ON_OWN_FINDING, actor, [await inspection_queries.record_filer(session, finding.record_id)])
    await _lock_street_months(session, appeal.street_id)
    await session.refresh(appeal)  # as it is now that no other answer can be under way
    if appeal.state != "pending":
        raise Conflict(f"appeal {appeal_id} was already {appeal.state}", zh="该申诉已答复过")
    await _not_locked(session, appeal.street_id, Month.parse(appeal.month))
    appeal.state = "upheld" if data.uphold else "rejected"
    appeal.answer = data.reason
    appeal.answered_at = now
    appeal.answered_by = actor.label
    if data.uphold and appeal.defect_id is not None:
        session.add(ScoreExclusion(defect_id=appeal.defect_id, appeal_id=appeal.id, reason=data.reason))
    record_change(session, actor, f"appeal.{appeal.state}", "appeal", appeal.id, reason=data.reason)
    await done(session, "appeal", appeal.id)
    await session.flush()
    if data.uphold:
        await compute_month(session, actor, appeal.street_id, Month.parse(appeal.month), reason=f"appeal {appeal.id} upheld", now=now)
    return appeal

