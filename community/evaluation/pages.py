"""Pages of project evaluation (Simplified Chinese, the same use cases as the API): the desk listing the contracted
projects with their evaluations and tranches, and one project's page where the evaluator files an evaluation, the
committee enters a beneficiary survey, and finance pays a tranche whose gate has passed and downloads its PDF."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, TypeVar

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from community.calls import queries as calls_queries
from community.calls.programme import CODE as TRANCHES_CODE
from community.calls.programme import tranche_key
from community.delivery import queries as delivery_queries
from community.evaluation import rules, schemas, service
from foundation.access import Principal, Role
from foundation.clock import business_today, utc_now
from foundation.errors import DomainError, InvalidInput
from foundation.storage import BlobStore
from foundation.web.auth import allow, logged_in
from foundation.web.flash import flashed
from foundation.web.layout import attempt, form_body, form_error, page
from foundation.web.params import provide_store
from foundation.web.problems import status_of
from registry import queries as registry_queries
from subsidies.engine import queries as engine_queries
from subsidies.engine.routes import make_programme_batch_documents

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
GATE_NAMES = service.GATE_NAMES
ANSWERS = ((5, "非常满意"), (4, "满意"), (3, "一般"), (2, "不满意"), (1, "非常不满意"))


T = TypeVar("T")



def _next_stage(progress: schemas.ContractProgressOut) -> str | None:
    filed = {e.stage for e in progress.evaluations}
    return next((s for s in rules.STAGES if s not in filed), None)


def _tranche_state(t: schemas.TrancheStateOut) -> str:
    if t.paid_batch_number:
        return "已签发拨付"
    if t.withheld:
        return "不予拨付"
    return "可拨付" if t.payable_on else f"待{GATE_NAMES[t.gate]}"


async def _project_context(db: AsyncSession, principal: Principal, contract_id: int) -> dict[str, Any]:
    progress = await service.contract_progress(db, principal, contract_id)
    evaluations = [await service.evaluation_out(db, principal, e.id) for e in progress.evaluations]
    ties: list[str] = []
    if principal.role is Role.PANEL_MEMBER:
        ties = [rules.RELATION_NAMES[t] for t in await service.independence_problem(db, principal, await calls_queries.contract(db, contract_id))]
    contract = await calls_queries.contract(db, contract_id)
    assigns = principal.role is Role.ADMIN or (principal.role is Role.STREET_OFFICER and contract.street_id is not None and contract.street_id == principal.street_id)
    firms: list[tuple[int, str]] = []
    if assigns:
        named = await registry_queries.organisation_particulars(db, await registry_queries.evaluation_firms(db))
        firms = [(i, o.name) for i, o in named.items()]
    # The adjustment batches that corrected a tranche, shown under it.
    corrected = await engine_queries.adjustments_of_keys(db, TRANCHES_CODE, [tranche_key(contract_id, t.number) for t in progress.tranches])
    return {
        "p": progress, "evaluations": evaluations, "assigns": assigns, "firms": firms, "next_stage": _next_stage(progress), "stage_names": rules.STAGE_NAMES, "criteria": service.evaluation_rules().scored,
        "min_surveys": service.evaluation_rules().min_surveys, "pass_mark": service.evaluation_rules().pass_mark, "tranche_state": _tranche_state,
        "tranche_adjustments": {t.number: corrected.get(tranche_key(contract_id, t.number), []) for t in progress.tranches},
        "ties": ties, "channels": rules.CHANNELS, "questions": rules.SURVEY_QUESTIONS, "answers": ANSWERS, "client_id": uuid.uuid4().hex, "today": business_today(),
        "is_evaluator": principal.role is Role.PANEL_MEMBER, "is_finance": principal.role is Role.FINANCE, "takes_surveys": principal.role in service.SURVEY_TAKERS and principal.community_id in await delivery_queries.delegated_communities(db, contract_id),
    }


class EvaluationPages(Controller):
    path = "/community/evaluation"
    guards = [logged_in]
    include_in_schema = False
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @get("/")
    async def desk(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        """The evaluator's desk (and finance's, the district's, a street's, an organisation's): every project followed."""
        projects = await service.projects(db, principal)
        return page("evaluation_desk.html", principal, projects=projects, stage_names=rules.STAGE_NAMES, next_stage=_next_stage, tranche_state=_tranche_state, today=business_today())

    @get("/contracts/{contract_id:int}")
    async def project(self, contract_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return page("evaluation_project.html", principal, errors={}, **await _project_context(db, principal, contract_id))

    async def _refused(self, db: AsyncSession, principal: Principal, contract_id: int, exc: DomainError) -> Template:
        shown = page("evaluation_project.html", principal, errors=form_error(exc), **await _project_context(db, principal, contract_id))
        shown.status_code = 422 if isinstance(exc, InvalidInput) else status_of(exc)
        return shown

    @post("/contracts/{contract_id:int}/evaluate", guards=[allow({Role.PANEL_MEMBER}, "evaluating a project")])
    async def evaluate(
        self, contract_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]
    ) -> Response[Any]:
        """The evaluator's form: points and evidence for each criterion, and a summary."""
        try:
            async with attempt(db):
                scores = []
                for criterion in service.evaluation_rules().scored:
                    points = (data.get(f"points-{criterion.code}") or "").strip()
                    evidence = (data.get(f"evidence-{criterion.code}") or "").strip()
                    if not points.isdecimal() or len(points) > 3 or len(evidence) < 2:
                        raise InvalidInput(f"points and evidence for {criterion.code}", zh=f"请填写“{criterion.name}”的得分（0–100 的整数）和评估依据", field="scores")
                    scores.append({"criterion": criterion.code, "points": int(points), "evidence": evidence})
                body = form_body(schemas.EvaluationIn, stage=data.get("stage") or "", scores=scores, summary=(data.get("summary") or "").strip())
                await service.file_evaluation(db, principal, store, contract_id, body, utc_now())
        except DomainError as exc:
            return await self._refused(db, principal, contract_id, exc)
        return flashed(Redirect(path=f"/community/evaluation/contracts/{contract_id}"), "评估结果已提交。")

    @post("/contracts/{contract_id:int}/firm", guards=[allow(service.ASSIGNERS, "assigning an evaluation firm")])
    async def assign_firm(self, contract_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        """The district (or the buying street) assigns the evaluation firm of the contract."""
        try:
            async with attempt(db):
                firm_id = (data.get("firm_id") or "").strip()
                if not firm_id.isdecimal() or len(firm_id) > 9:
                    raise InvalidInput("choose an evaluation firm", zh="请选择评估机构", field="firm_id")
                await service.assign_firm(db, principal, contract_id, form_body(schemas.FirmAssignmentIn, firm_id=int(firm_id)), utc_now())
        except DomainError as exc:
            return await self._refused(db, principal, contract_id, exc)
        return flashed(Redirect(path=f"/community/evaluation/contracts/{contract_id}"), "已指定该项目的评估机构。")

    @post("/contracts/{contract_id:int}/survey", guards=[allow(service.SURVEY_TAKERS, "recording a survey")])
    async def survey(self, contract_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        """A paper or phone survey typed in by the committee."""
        try:
            async with attempt(db):
                answers = {code: (data.get(code) or "").strip() for code, _ in rules.SURVEY_QUESTIONS}
                if not all(a in {"1", "2", "3", "4", "5"} for a in answers.values()):
                    raise InvalidInput("answer every question 1–5", zh="请为每个问题选择一项", field="survey")
                try:
                    collected_on = date.fromisoformat(data.get("collected_on") or "")
                except ValueError:
                    raise InvalidInput("collected_on is a date", zh="请填写调查日期", field="survey") from None
                scores: dict[str, Any] = {code: int(value) for code, value in answers.items()}
                body = form_body(
                    schemas.SurveyIn, client_id=(data.get("client_id") or uuid.uuid4().hex)[:36], channel=data.get("channel") or "", collected_on=collected_on, **scores,
                )
                await service.record_survey(db, principal, contract_id, body, utc_now())
        except DomainError as exc:
            return await self._refused(db, principal, contract_id, exc)
        return flashed(Redirect(path=f"/community/evaluation/contracts/{contract_id}"), "满意度调查已录入。")

    @post("/contracts/{contract_id:int}/tranches/{number:int}/pay", guards=[allow({Role.FINANCE}, "paying a tranche")])
    async def pay(self, contract_id: FromPath[int], number: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State) -> Response[Any]:
        """Finance pays a tranche whose gate has passed; the batch's documents are made with it."""
        try:
            async with attempt(db):
                batch = await service.pay_tranche(db, principal, contract_id, number)
                await make_programme_batch_documents(state, db, batch)
        except DomainError as exc:
            return await self._refused(db, principal, contract_id, exc)
        return flashed(Redirect(path=f"/community/evaluation/contracts/{contract_id}"), "本期拨款已支付，拨付文件已生成。")


PAGES = [EvaluationPages]
