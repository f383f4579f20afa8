"""Use cases of project evaluation: the beneficiaries' surveys, the third-party mid-term and final evaluations that
release the next tranche (or withhold the last and bar the organisation), the tranche paid through the money engine
once its gate has passed, and the implementation data the project's public record gains. Each flushes only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from fractions import Fraction
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from community import records
from community.calls import queries as calls_queries
from community.calls import service as calls_service
from community.calls.programme import CODE as TRANCHES
from community.calls.programme import register_tranches, tranche_key
from community.delivery import queries as delivery_queries
from community.evaluation import rules, schemas
from community.evaluation.tables import EvaluationAssignment, EvaluationFile, EvaluationScore, ProjectEvaluation, SatisfactionSurvey
from foundation.access import SCHEDULER_FINANCE, Principal, Role, require_role
from foundation.audit import record_change
from foundation.clock import BUSINESS_TZ
from foundation.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from foundation.notifications import notify
from foundation.periods import Month
from foundation.settings import config_dir
from foundation.storage import BlobStore, read_blob, write_blob
from registry import queries as registry_queries
from registry.queries import OrganisationKind
from subsidies.engine import queries as engine_queries
from subsidies.engine import service as engine_service
from subsidies.engine.tables import ProgrammeBatch

SURVEY_TAKERS = frozenset({Role.COMMITTEE_DIRECTOR, Role.COMMUNITY_WORKER})
PROGRESS_READERS = frozenset({Role.ADMIN, Role.FINANCE, Role.STREET_OFFICER, Role.PANEL_MEMBER, Role.SOCIAL_ORG, *SURVEY_TAKERS})
ASSIGNERS = frozenset({Role.ADMIN, Role.STREET_OFFICER})
GATE_NAMES = {rules.SIGNING: "签约", rules.MIDTERM: "中期评估合格", rules.FINAL: "结项评估合格"}


@lru_cache(maxsize=1)
def evaluation_rules() -> rules.EvaluationRules:
    return rules.parse_rules((config_dir() / "evaluation.toml").read_text(encoding="utf-8"), calls_service.call_limits().pass_mark)


def _day(now: datetime) -> date:
    return now.astimezone(BUSINESS_TZ).date()


# Who may see what


async def _require_reader(session: AsyncSession, actor: Principal, contract: calls_queries.ContractFacts) -> None:
    require_role(actor, PROGRESS_READERS, "reading a project's evaluations")
    if actor.role is Role.SOCIAL_ORG and actor.organisation_id != contract.organisation_id:
        raise NotFound("contract", contract.id)
    if actor.role is Role.STREET_OFFICER and contract.street_id is not None and contract.street_id != actor.street_id:
        raise NotFound("contract", contract.id)
    if actor.role is Role.PANEL_MEMBER and (await _firm(session, actor)).id != await assigned_firm(session, contract.id):
        raise NotFound("contract", contract.id)
    if actor.role in SURVEY_TAKERS and not await _in_street(session, actor, contract):
        raise NotFound("contract", contract.id)


async def _in_street(session: AsyncSession, actor: Principal, contract: calls_queries.ContractFacts) -> bool:
    """A committee follows the district's projects and its own street's."""
    community = await registry_queries.community(session, actor.community_id)
    return community is not None and (contract.street_id is None or contract.street_id == community.street_id)


async def _firm(session: AsyncSession, actor: Principal) -> registry_queries.OrganisationParticulars:
    """The evaluation firm the actor (an evaluator's account or the firm's API key) acts for."""
    require_role(actor, {Role.PANEL_MEMBER}, "evaluating a project")
    firm = (await registry_queries.organisation_particulars(session, [actor.organisation_id])).get(actor.organisation_id or 0) if actor.organisation_id else None
    if firm is None or firm.kind is not OrganisationKind.EVALUATION_FIRM:
        raise PermissionDenied("projects are evaluated by a third-party evaluation firm's evaluators", zh="项目评估由第三方评估机构的评估人员进行")
    return firm


async def _facts(session: AsyncSession, ids: Sequence[int]) -> dict[int, rules.OrganisationFacts]:
    particulars = await registry_queries.organisation_particulars(session, ids)
    staff = await registry_queries.staff_of(session, list(particulars))
    return {
        i: rules.OrganisationFacts(p.legal_representative, p.phone, p.address, p.credit_code, staff[i][0], staff[i][1])
        for i, p in particulars.items()
    }


async def independence_problem(session: AsyncSession, actor: Principal, contract: calls_queries.ContractFacts) -> list[str]:
    """The ties (rules.RELATION_NAMES) between the actor's firm (and the actor) and the contract's organisation."""
    firm = await _firm(session, actor)
    return await _ties(session, firm.id, contract, actor.user_id)


async def _ties(session: AsyncSession, firm_id: int, contract: calls_queries.ContractFacts, evaluator_user_id: int | None) -> list[str]:
    if firm_id == contract.organisation_id:
        return ["staff"]
    facts = await _facts(session, [firm_id, contract.organisation_id])
    return rules.relations(facts[firm_id], facts[contract.organisation_id], evaluator_user_id)


def _related(contract: calls_queries.ContractFacts, ties: list[str]) -> RuleViolation:
    names = "、".join(rules.RELATION_NAMES[t] for t in ties)
    return RuleViolation(
        f"the firm is tied to the organisation delivering contract {contract.number} ({', '.join(ties)}); another firm evaluates it",
        zh=f"该评估机构与项目承接机构存在关联（{names}），应回避，由其他评估机构评估", reason="related",
    )


# Which firm evaluates a contract


async def assigned_firm(session: AsyncSession, contract_id: int) -> int | None:
    row = await session.get(EvaluationAssignment, contract_id)
    return row.firm_id if row else None


async def assigned_firms(session: AsyncSession, contract_ids: Sequence[int]) -> dict[int, int]:
    """For each contract with one, the evaluation firm assigned to it."""
    if not contract_ids:
        return {}
    query = select(col(EvaluationAssignment.contract_id), col(EvaluationAssignment.firm_id)).where(col(EvaluationAssignment.contract_id).in_(list(contract_ids)))
    return {int(c): int(f) for c, f in (await session.execute(query)).all()}


async def assign_firm(session: AsyncSession, actor: Principal, contract_id: int, data: schemas.FirmAssignmentIn, now: datetime) -> EvaluationAssignment:
    """The district (any contract) or the buying street (its own contracts) assigns the evaluation firm that evaluates
    a contract; a firm tied to the contract's organisation is refused here as it would be at the evaluation. A new
    assignment replaces the firm for the evaluations still to come."""
    require_role(actor, ASSIGNERS, "assigning an evaluation firm")
    contract = await calls_queries.contract(session, contract_id)
    if actor.role is Role.STREET_OFFICER and contract.street_id != actor.street_id:
        raise PermissionDenied(
            "a street officer assigns the evaluation firm of their street's own contracts; the district assigns the others",
            zh="街道只能为本街道签订的合同委派评估机构，区级合同由区民政局委派",
        )
    firm = (await registry_queries.organisation_particulars(session, [data.firm_id])).get(data.firm_id)
    if firm is None or firm.kind is not OrganisationKind.EVALUATION_FIRM:
        raise RuleViolation(f"organisation {data.firm_id} is not a registered evaluation firm", field="firm_id", zh="请选择已登记的第三方评估机构")
    ties = await _ties(session, firm.id, contract, None)
    if ties:
        raise _related(contract, ties)
    if await _evaluation(session, contract_id, rules.FINAL) is not None:
        raise Conflict(f"contract {contract.number}'s final evaluation is filed; nothing is left to evaluate", zh="该项目已完成结项评估，无需再委派评估机构")
    row = await session.get(EvaluationAssignment, contract_id)
    before = {"firm_id": row.firm_id} if row else None
    if row is None:
        row = EvaluationAssignment(contract_id=contract_id, firm_id=firm.id, assigned_by_user_id=actor.user_id, assigned_by=actor.label, assigned_at=now)
        session.add(row)
    else:
        row.firm_id, row.assigned_by_user_id, row.assigned_by, row.assigned_at = firm.id, actor.user_id, actor.label, now
    await session.flush()
    record_change(session, actor, "evaluation.firm_assigned", "call_contract", contract_id, before=before, after={"contract": contract.number, "firm_id": firm.id})
    await notify(
        session, f"evaluation-assigned:{contract_id}:{firm.id}:{now.timestamp():.0f}", await calls_service.organisation_user_ids(session, {firm.id}),
        f"委派评估项目：{contract.title}", f"合同 {contract.number} 的中期、结项评估由贵机构承担。", f"/community/evaluation/contracts/{contract_id}",
    )
    return row


# Surveys


async def _survey_answers(session: AsyncSession, contract_id: int, until: date) -> list[tuple[int, int, int]]:
    query = select(col(SatisfactionSurvey.overall), col(SatisfactionSurvey.attitude), col(SatisfactionSurvey.effect)).where(
        col(SatisfactionSurvey.contract_id) == contract_id, col(SatisfactionSurvey.collected_on) <= until
    )
    return [(a, b, c) for a, b, c in (await session.execute(query)).all()]


async def record_survey(session: AsyncSession, actor: Principal, contract_id: int, data: schemas.SurveyIn, now: datetime) -> tuple[SatisfactionSurvey, bool]:
    """The committee (or its work station) enters a beneficiary's answers collected on paper or by phone, for a
    project delegated to its community (accepted, to carry out or to assist). A retry with the same client id answers the survey stored (True: replayed)."""
    require_role(actor, SURVEY_TAKERS, "recording a satisfaction survey")
    community = await registry_queries.community(session, actor.community_id)
    if community is None:
        raise PermissionDenied("surveys are recorded by a community's committee or work station", zh="满意度问卷由社区居委会或工作站录入")
    earlier = (await session.execute(select(SatisfactionSurvey).where(col(SatisfactionSurvey.client_id) == data.client_id))).scalar_one_or_none()
    if earlier is not None:
        same = (earlier.contract_id, earlier.channel, earlier.collected_on, earlier.overall, earlier.attitude, earlier.effect) == (
            contract_id, data.channel.value, data.collected_on, data.overall, data.attitude, data.effect,
        )
        if not same:
            raise Conflict(f"client_id {data.client_id} names another survey; make a new id for a new survey", zh="该问卷编号已用于另一份问卷，请刷新页面后重新录入")
        return earlier, True
    contract = await calls_queries.contract(session, contract_id)
    if not await _in_street(session, actor, contract):
        raise NotFound("contract", contract_id)
    if community.id not in await delivery_queries.delegated_communities(session, contract_id):
        raise PermissionDenied(
            f"the surveys of contract {contract.number} are collected by the committees its project was delegated to (accepted); {community.name} is not one",
            zh="该项目未委托本社区执行或协助，满意度问卷由接受委托的社区居委会录入",
        )
    today = _day(now)
    if data.collected_on > today:
        raise RuleViolation(f"a survey is collected on or before today ({today.isoformat()})", field="collected_on", zh="调查日期不能晚于今天")
    if data.collected_on < contract.starts_on:
        raise RuleViolation(f"the project started on {contract.starts_on.isoformat()}; a survey is collected after", field="collected_on", zh="调查日期不能早于项目开始日期")
    if await _evaluation(session, contract_id, rules.FINAL) is not None:
        raise RuleViolation("the project's final evaluation is filed; no survey is taken after it", zh="项目已完成结项评估，不再录入满意度问卷")
    survey = SatisfactionSurvey(
        client_id=data.client_id, contract_id=contract_id, community_id=community.id, channel=data.channel.value, collected_on=data.collected_on,
        overall=data.overall, attitude=data.attitude, effect=data.effect, recorded_by=actor.label, recorded_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(survey)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"client_id {data.client_id} was used at the same moment; send it again to read the survey", zh="该问卷正在同时提交，请再提交一次以查看录入结果") from None
    record_change(session, actor, "survey.recorded", "satisfaction_survey", survey.id, after={"contract": contract.number, "channel": survey.channel})
    await session.flush()
    return survey, False


# Evaluations


async def _evaluation(session: AsyncSession, contract_id: int, stage: str) -> ProjectEvaluation | None:
    query = select(ProjectEvaluation).where(col(ProjectEvaluation.contract_id) == contract_id, col(ProjectEvaluation.stage) == stage)
    return (await session.execute(query)).scalar_one_or_none()


async def file_evaluation(session: AsyncSession, actor: Principal, store: BlobStore, contract_id: int, data: schemas.EvaluationIn, now: datetime) -> ProjectEvaluation:
    """An evaluation firm's evaluator files a contract's mid-term or final evaluation, once: each criterion's points
    with their evidence, the beneficiaries' satisfaction from their surveys. A firm tied to the organisation is
    refused. Passed, it releases the next tranche; a failed final withholds the last and bars the organisation from
    next year's calls. Published as the project's implementation."""
    firm = await _firm(session, actor)
    contract = await calls_queries.contract(session, contract_id)
    if await assigned_firm(session, contract_id) != firm.id:
        raise PermissionDenied(
            f"contract {contract.number} is evaluated by the evaluation firm assigned to it, and your firm is not", zh="该项目未委派贵机构评估，只有受委派的评估机构可以评估",
        )
    ties = await independence_problem(session, actor, contract)
    if ties:
        raise _related(contract, ties)
    limits = evaluation_rules()
    stage = data.stage.value
    filed = await _evaluation(session, contract_id, stage)
    if filed is not None:
        raise Conflict(f"the {stage} evaluation of contract {contract.number} was filed on {filed.evaluated_on.isoformat()}", zh=f"该项目的{rules.STAGE_NAMES[stage]}已于 {filed.evaluated_on.isoformat()} 提交")
    today = _day(now)
    problem = rules.stage_problem(stage, today, contract.starts_on, contract.ends_on, await _evaluation(session, contract_id, rules.MIDTERM) is not None, limits)
    if problem:
        raise RuleViolation(problem, field="stage", zh=_stage_zh(stage, contract, limits))
    points = {s.criterion: s.points for s in data.scores}
    if len(points) != len(data.scores):
        raise RuleViolation("each criterion is scored once", field="scores", zh="每项指标只评一次分")
    problem = rules.points_problem(points, limits)
    if problem:
        raise RuleViolation(problem, field="scores", zh="请为除“受益人满意”外的每项指标评分（0–100），受益人满意由问卷计分")
    answers = await _survey_answers(session, contract_id, today)
    if len(answers) < limits.min_surveys:
        raise RuleViolation(
            f"{len(answers)} beneficiary survey(s) recorded; the evaluation needs {limits.min_surveys} or more", field="scores",
            zh=f"已录入受益人满意度问卷 {len(answers)} 份，评估至少需要 {limits.min_surveys} 份", reason="surveys",
        )
    satisfaction = rules.survey_points(answers)
    exact = {code: Fraction(value) for code, value in points.items()} | {rules.SATISFACTION: satisfaction}
    score = rules.total(exact, limits)
    passed = rules.passes(score, limits)
    attached = {s.criterion: await calls_service.judged_attachments(s.files, "files") for s in data.scores}
    evaluation = ProjectEvaluation(
        contract_id=contract_id, organisation_id=contract.organisation_id, stage=stage, firm_id=firm.id, evaluator_user_id=actor.user_id, evaluated_by=actor.label,
        evaluated_on=today, score=rules.score_text(score), passed=passed, surveys=len(answers), summary=data.summary.strip(), rules_sha256=limits.sha256(), filed_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(evaluation)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"the {stage} evaluation of contract {contract.number} was filed at the same moment", zh="该评估已由他人同时提交") from None
    evidence = {s.criterion: s for s in data.scores}
    for criterion in limits.criteria:
        if criterion.code == rules.SATISFACTION:
            text = f"受益人满意度问卷 {len(answers)} 份（纸质或电话），按问卷计分"
            shown = rules.score_text(satisfaction)
        else:
            text, shown = evidence[criterion.code].evidence.strip(), str(points[criterion.code])
        session.add(EvaluationScore(evaluation_id=evaluation.id, criterion=criterion.code, weight=criterion.weight, points=shown, evidence=text))
        for document, content, kind in attached.get(criterion.code, []):
            session.add(EvaluationFile(evaluation_id=evaluation.id, criterion=criterion.code, name=document.name.strip(), content_type=kind, size=len(content), sha256=await write_blob(store, content)))
    released = []
    if passed:
        for number in rules.released_by(stage, len(contract.tranches)):
            if await calls_service.release_tranche(session, actor, contract_id, number, today):
                released.append(number)
        if released:
            await draft_tranche_run(session, str(Month.of(today)))
    record_change(
        session, actor, "evaluation.filed", "project_evaluation", evaluation.id,
        after={"contract": contract.number, "stage": stage, "score": evaluation.score, "passed": passed, "released": released},
    )
    await session.flush()
    await calls_service.announce_contract_moment(session, contract.call_id, records.IMPLEMENTATION)
    return evaluation


def _stage_zh(stage: str, contract: calls_queries.ContractFacts, limits: rules.EvaluationRules) -> str:
    if stage == rules.MIDTERM:
        return f"项目 {contract.starts_on.isoformat()} 开始，开始后才能进行中期评估"
    return f"结项评估须在中期评估之后、{rules.final_opens(contract.ends_on, limits).isoformat()} 起提交"


async def evaluation_out(session: AsyncSession, actor: Principal, evaluation_id: int) -> schemas.EvaluationOut:
    evaluation = await session.get(ProjectEvaluation, evaluation_id)
    if evaluation is None:
        raise NotFound("evaluation", evaluation_id)
    contract = await calls_queries.contract(session, evaluation.contract_id)
    await _require_reader(session, actor, contract)
    names = {c.code: c.name for c in evaluation_rules().criteria}
    scores = (await session.execute(select(EvaluationScore).where(col(EvaluationScore.evaluation_id) == evaluation_id))).scalars().all()
    files = (await session.execute(select(EvaluationFile).where(col(EvaluationFile.evaluation_id) == evaluation_id).order_by(col(EvaluationFile.id)))).scalars().all()
    order = [c.code for c in evaluation_rules().criteria]
    return schemas.EvaluationOut(
        id=evaluation.id, contract_id=evaluation.contract_id, stage=evaluation.stage, evaluated_on=evaluation.evaluated_on, evaluated_by=evaluation.evaluated_by,
        score=evaluation.score, passed=evaluation.passed, surveys=evaluation.surveys, summary=evaluation.summary,
        scores=[
            schemas.CriterionScoreOut(
                criterion=s.criterion, name=names.get(s.criterion, s.criterion), weight=s.weight, points=s.points, evidence=s.evidence,
                files=[schemas.EvidenceFileOut(id=f.id, name=f.name, size=f.size) for f in files if f.criterion == s.criterion],
            )
            for s in sorted(scores, key=lambda s: order.index(s.criterion) if s.criterion in order else len(order))
        ],
        released_tranches=rules.released_by(evaluation.stage, len(contract.tranches)) if evaluation.passed else [],
        barred_year=rules.barred_year(evaluation.evaluated_on) if evaluation.stage == rules.FINAL and not evaluation.passed else None,
    )


async def evidence_file(session: AsyncSession, actor: Principal, store: BlobStore, file_id: int) -> tuple[EvaluationFile, bytes]:
    row = await session.get(EvaluationFile, file_id)
    if row is None:
        raise NotFound("evidence file", file_id)
    evaluation = await session.get(ProjectEvaluation, row.evaluation_id)
    if evaluation is None:
        raise NotFound("evidence file", file_id)
    await _require_reader(session, actor, await calls_queries.contract(session, evaluation.contract_id))
    return row, await read_blob(store, row.sha256)


# Progress


async def progress(session: AsyncSession, contract: calls_queries.ContractFacts) -> schemas.ContractProgressOut:
    """A contract's evaluations and tranches (payable, withheld, paid), with what falls due next."""
    limits = evaluation_rules()
    evaluations = (await session.execute(select(ProjectEvaluation).where(col(ProjectEvaluation.contract_id) == contract.id).order_by(col(ProjectEvaluation.id)))).scalars().all()
    answers = await _survey_answers(session, contract.id, date.max)
    paid = await engine_queries.paid(session, TRANCHES, [tranche_key(contract.id, t.number) for t in contract.tranches])
    failed_final = any(e.stage == rules.FINAL and not e.passed for e in evaluations)
    count = len(contract.tranches)
    firm_id = await assigned_firm(session, contract.id)
    named = await registry_queries.organisation_particulars(session, [contract.organisation_id, *([firm_id] if firm_id else [])])
    organisation = named.get(contract.organisation_id)
    tranches = []
    for t in contract.tranches:
        gate = rules.tranche_gate(t.number, count)
        done = paid.get(tranche_key(contract.id, t.number))
        tranches.append(
            schemas.TrancheStateOut(
                number=t.number, share=t.share, amount_fen=t.amount_fen, condition=t.condition, gate=gate, payable_on=t.payable_on,
                withheld=gate == rules.FINAL and failed_final, paid_batch_id=done.batch_id if done else None, paid_batch_number=done.batch_number if done else None,
                paid_at=done.issued_at if done else None,
            )
        )
    return schemas.ContractProgressOut(
        contract_id=contract.id, number=contract.number, call_id=contract.call_id, title=contract.title, organisation_name=organisation.name if organisation else "",
        starts_on=contract.starts_on, ends_on=contract.ends_on, midterm_due_on=rules.midterm_due(contract.starts_on, contract.ends_on),
        final_opens_on=rules.final_opens(contract.ends_on, limits), surveys=len(answers), satisfaction=rules.score_text(rules.survey_points(answers)) if answers else None,
        evaluations=[schemas.EvaluationSummaryOut(id=e.id, stage=e.stage, evaluated_on=e.evaluated_on, score=e.score, passed=e.passed) for e in evaluations],
        tranches=tranches, evaluation_firm_id=firm_id, evaluation_firm_name=named[firm_id].name if firm_id in named else None,
    )


async def contract_progress(session: AsyncSession, actor: Principal, contract_id: int) -> schemas.ContractProgressOut:
    contract = await calls_queries.contract(session, contract_id)
    await _require_reader(session, actor, contract)
    return await progress(session, contract)


async def projects(session: AsyncSession, actor: Principal) -> list[schemas.ContractProgressOut]:
    """The contracts the actor follows: an evaluator's those assigned to their firm; every one for finance and the district; a street's for its
    officer; an organisation's own."""
    require_role(actor, PROGRESS_READERS, "reading projects' evaluations")
    assigned: set[int] | None = None
    if actor.role is Role.PANEL_MEMBER:
        firm = await _firm(session, actor)
        query = select(col(EvaluationAssignment.contract_id)).where(col(EvaluationAssignment.firm_id) == firm.id)
        assigned = {int(c) for c in (await session.execute(query)).scalars()}
    found = []
    for contract in await calls_queries.contracts(session):
        if assigned is not None and contract.id not in assigned:
            continue
        if actor.role is Role.SOCIAL_ORG and contract.organisation_id != actor.organisation_id:
            continue
        if actor.role is Role.STREET_OFFICER and contract.street_id is not None and contract.street_id != actor.street_id:
            continue
        if actor.role in SURVEY_TAKERS and not await _in_street(session, actor, contract):
            continue
        found.append(await progress(session, contract))
    return found


# Tranches


async def pay_tranche(session: AsyncSession, actor: Principal, contract_id: int, number: int) -> ProgrammeBatch:
    """Finance pays one tranche through the money engine (programme community_tranches): refused before its gate
    has passed, and refused once paid (its key is paid once, ever). The month it became payable is run, approved and
    issued as one batch, with any other tranche that became payable that month and is unpaid. The run was drafted by
    the scheduler when the gate passed (draft_tranche_run), so the finance officer who pays approves a run no person
    made (foundation.duties, approve_own_run)."""
    require_role(actor, {Role.FINANCE}, "paying a tranche")
    register_tranches()
    contract = await calls_queries.contract(session, contract_id)
    tranche = next((t for t in contract.tranches if t.number == number), None)
    if tranche is None:
        raise NotFound("tranche", f"{contract_id}/{number}")
    key = tranche_key(contract_id, number)
    done = (await engine_queries.paid(session, TRANCHES, [key])).get(key)
    if done is not None:
        when = done.issued_at.astimezone(BUSINESS_TZ).date().isoformat()
        raise Conflict(
            f"tranche {number} of contract {contract.number} was paid in batch {done.batch_number} on {when}; a tranche is paid once",
            zh=f"该笔拨款已于 {when} 在批次 {done.batch_number} 中拨付，不能重复拨付", reason="paid",
        )
    gate = rules.tranche_gate(number, len(contract.tranches))
    if tranche.payable_on is None:
        final = await _evaluation(session, contract_id, rules.FINAL)
        if gate == rules.FINAL and final is not None and not final.passed:
            raise RuleViolation(
                f"the final evaluation scored {final.score}, below the pass mark: tranche {number} is withheld",
                field="tranche", zh=f"结项评估得分 {final.score}，未达合格线，第{number}笔拨款不予拨付", reason="withheld",
            )
        raise RuleViolation(
            f"tranche {number} of contract {contract.number} is paid after its {gate} evaluation has passed; it has not",
            field="tranche", zh=f"第{number}笔拨款须在{GATE_NAMES[gate]}后拨付，目前条件尚未满足", reason="gate",
        )
    period = str(Month.of(tranche.payable_on))
    running = await engine_service.open_run(session, TRANCHES, period)
    if running is None:
        raise Conflict(
            f"no run of {period} waits for approval; it is drafted when the gate passes", zh=f"{period} 尚无待审批的拨款核算（核算在评估通过时自动生成）", reason="no_run",
        )
    run = (await engine_service.get_run(session, actor, running, TRANCHES))[1]
    await engine_service.approve(session, actor, run.id or 0, "approve", TRANCHES)
    batch = await engine_service.issue_batch(session, actor, run.id or 0, TRANCHES)
    if key not in await engine_queries.paid(session, TRANCHES, [key]):
        raise Conflict(f"tranche {number} of contract {contract.number} was not in the batch; try again", zh="该笔拨款未能列入拨付批次，请重试")
    await calls_service.announce_contract_moment(session, contract.call_id, records.IMPLEMENTATION)
    return batch


async def draft_tranche_run(session: AsyncSession, period: str) -> None:
    """The scheduler drafts (or recomputes) the month's tranche run as a gate passes: the finance officer who pays
    approves a run no person made, so nobody both makes and approves a payment (foundation.duties, approve_own_run)."""
    register_tranches()
    running = await engine_service.open_run(session, TRANCHES, period)
    if running is not None:
        await engine_service.recompute_run(session, SCHEDULER_FINANCE, running, TRANCHES)
    else:
        earlier = await engine_queries.runs_of_period(session, TRANCHES, period)
        try:
            async with session.begin_nested():  # every tranche due is paid already: nothing to draft, nothing left behind
                await engine_service.start_run(session, SCHEDULER_FINANCE, TRANCHES, period, supplementary=earlier > 0)
        except engine_service.NothingToPay:
            return


# Bars and the public record


async def bid_bar(session: AsyncSession, organisation_id: int, year: int) -> tuple[str, str] | None:
    """A final evaluation below the pass mark bars the organisation from the calls opened in the next year."""
    query = select(ProjectEvaluation).where(
        col(ProjectEvaluation.organisation_id) == organisation_id, col(ProjectEvaluation.stage) == rules.FINAL, col(ProjectEvaluation.passed).is_(False)
    )
    for evaluation in (await session.execute(query)).scalars():
        if rules.barred_year(evaluation.evaluated_on) == year:
            return (
                f"its final evaluation of {evaluation.evaluated_on.isoformat()} scored {evaluation.score}, below the pass mark",
                f"贵机构承接的项目结项评估不合格（{evaluation.evaluated_on.year} 年，得分 {evaluation.score}），{year} 年不得参与投标",
            )
    return None


async def complete_record(session: AsyncSession, record: records.ProjectRecord) -> records.ProjectRecord:
    """The project's public record with its contracts' evaluations (scores only) and paid tranches."""
    if not record.contracts:
        return record
    contracts = {c.number: c for c in await calls_queries.contracts(session, call_id=record.call_id)}
    ids = [c.id for c in contracts.values()]
    evaluations: dict[int, list[ProjectEvaluation]] = {}
    if ids:
        rows = await session.execute(select(ProjectEvaluation).where(col(ProjectEvaluation.contract_id).in_(ids)).order_by(col(ProjectEvaluation.id)))
        for row in rows.scalars():
            evaluations.setdefault(row.contract_id, []).append(row)
    paid = await engine_queries.paid(session, TRANCHES, [tranche_key(c.id, t.number) for c in contracts.values() for t in c.tranches])
    completed = []
    for published in record.contracts:
        facts = contracts.get(published.key)
        if facts is None:
            completed.append(published)
            continue
        tranches = []
        for t in published.tranches:
            done = paid.get(tranche_key(facts.id, t.number))
            tranches.append(replace(t, paid_on=done.issued_at.astimezone(BUSINESS_TZ).date(), paid_fen=done.amount_fen) if done else t)
        completed.append(
            replace(
                published, tranches=tranches,
                evaluations=[
                    records.Evaluation(
                        stage=e.stage, title=rules.STAGE_NAMES[e.stage], evaluated_on=e.evaluated_on, score=e.score, passed=e.passed,
                        due_on=rules.due_on(e.stage, facts.starts_on, facts.ends_on),
                    )
                    for e in evaluations.get(facts.id, [])
                ],
            )
        )
    latest = [e.filed_at for rows in evaluations.values() for e in rows] + [p.changed_at for p in paid.values()]
    updated = max([record.updated_at, *(m.astimezone(BUSINESS_TZ) for m in latest)], key=lambda m: m.timestamp()) if record.updated_at else None
    return replace(record, contracts=completed, updated_at=updated)


def listen() -> None:
    """Complete every announced record and bar the organisations a failed final evaluation bars (once per process)."""
    records.contribute(complete_record)
    calls_service.bar_bids_with(bid_bar)


async def surveys_count(session: AsyncSession, contract_id: int) -> int:
    return int((await session.execute(select(func.count()).where(col(SatisfactionSurvey.contract_id) == contract_id))).scalar_one())


async def firms_of(session: AsyncSession, contract_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """For each contract, the evaluation firm of each stage filed."""
    found: dict[int, dict[str, int]] = {}
    if contract_ids:
        query = select(col(ProjectEvaluation.contract_id), col(ProjectEvaluation.stage), col(ProjectEvaluation.firm_id)).where(col(ProjectEvaluation.contract_id).in_(list(contract_ids)))
        for contract_id, stage, firm_id in (await session.execute(query)).all():
            found.setdefault(contract_id, {})[stage] = firm_id
    return found
