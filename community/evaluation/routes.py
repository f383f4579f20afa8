"""API routes of project evaluation (thin: parse, guard, one use case): a contract's progress, its evaluations by
an evaluation firm, the beneficiaries' surveys, and finance paying a tranche whose gate has passed."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, Router, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from community.evaluation import schemas, service
from foundation.access import Principal, Role
from foundation.clock import utc_now
from foundation.storage import BlobStore
from foundation.web.auth import allow, logged_in
from foundation.web.body import StrictBody
from foundation.web.doors import two_doors
from foundation.web.params import RecordId, provide_store
from foundation.web.problems import problem_responses
from foundation.web.uploads import uploaded_file
from subsidies.engine.queries import get_batch
from subsidies.engine.routes import make_programme_batch_documents

READ = problem_responses(400, 403, 404)
WRITE = problem_responses(400, 403, 404, 409, 422)
TrancheNumber = Annotated[int, Parameter(ge=1, le=10, description="The tranche's number in its contract, from 1")]
service.listen()


class EvaluationController(Controller):
    """Contracted projects' third-party evaluations (中期/结项评估), beneficiary surveys and tranche payments."""

    path = "/api/evaluation"
    tags = ["evaluation"]
    guards = [logged_in]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @get("/contracts", responses=READ)
    async def evaluated_contracts(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.ContractProgressOut]:
        """The contracts the caller follows, each with its evaluations, tranches and what falls due next."""
        return await service.projects(db, principal)

    @get("/contracts/{contract_id:int}", responses=READ)
    async def contract_progress(self, contract_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ContractProgressOut:
        return await service.contract_progress(db, principal, contract_id)

    @post("/contracts/{contract_id:int}/evaluations", dto=StrictBody[schemas.EvaluationIn], return_dto=None, guards=[allow({Role.PANEL_MEMBER}, "evaluating a project")], responses=WRITE)
    async def file_evaluation(
        self, contract_id: RecordId, data: JSONBody[schemas.EvaluationIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]
    ) -> schemas.EvaluationOut:
        """An evaluation firm files the mid-term or final evaluation, once: points 0–100 with evidence for each
        criterion but the beneficiaries' satisfaction (their surveys score it). 422 when the firm is tied to the
        organisation, when too few surveys are recorded, or before the stage opens; 409 when already filed."""
        evaluation = await service.file_evaluation(db, principal, store, contract_id, data, utc_now())
        return await service.evaluation_out(db, principal, evaluation.id)

    @get("/evaluations/{evaluation_id:int}", responses=READ)
    async def evaluation(self, evaluation_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.EvaluationOut:
        return await service.evaluation_out(db, principal, evaluation_id)

    @post(
        "/contracts/{contract_id:int}/evaluation-firm", dto=StrictBody[schemas.FirmAssignmentIn], return_dto=None, status_code=200,
        guards=[allow(service.ASSIGNERS, "assigning an evaluation firm")], responses=WRITE,
    )
    async def assign_firm(
        self, contract_id: RecordId, data: JSONBody[schemas.FirmAssignmentIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> schemas.ContractProgressOut:
        """The district (or the buying street, for its own contracts) assigns the evaluation firm that evaluates the
        contract; only that firm evaluates it. 422 when the firm is tied to the contract's organisation."""
        await service.assign_firm(db, principal, contract_id, data, utc_now())
        return await service.contract_progress(db, principal, contract_id)

    @post("/contracts/{contract_id:int}/surveys", dto=StrictBody[schemas.SurveyIn], return_dto=None, guards=[allow(service.SURVEY_TAKERS, "recording a survey")], responses=WRITE)
    async def record_survey(self, contract_id: RecordId, data: JSONBody[schemas.SurveyIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[schemas.SurveyOut]:
        """A beneficiary's answers collected by the committee on paper or by phone (no name, no phone); a retry with
        the same client_id answers 200 with the survey already stored."""
        survey, replayed = await service.record_survey(db, principal, contract_id, data, utc_now())
        body = schemas.SurveyOut(id=survey.id, contract_id=survey.contract_id, channel=survey.channel, collected_on=survey.collected_on, community_id=survey.community_id)
        return Response(body, status_code=200 if replayed else 201)

    @post("/contracts/{contract_id:int}/tranches/{number:int}/payment", status_code=200, guards=[allow({Role.FINANCE}, "paying a tranche")], responses=WRITE)
    async def pay_tranche(
        self, contract_id: RecordId, number: TrancheNumber, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State
    ) -> schemas.TranchePaymentOut:
        """Pay a tranche through the money engine: its month's run, finance's approval and the batch (with its
        documents). 422 before its gate (the evaluation) has passed; 409 once it is paid."""
        batch = await service.pay_tranche(db, principal, contract_id, number)
        await make_programme_batch_documents(state, db, batch)
        _, period = await get_batch(db, principal, batch.id or 0)
        progress = await service.contract_progress(db, principal, contract_id)
        amount = next(t.amount_fen for t in progress.tranches if t.number == number)
        return schemas.TranchePaymentOut(contract_id=contract_id, number=number, amount_fen=amount, batch_id=batch.id or 0, batch_number=batch.number, period=period or "")


class EvaluationFileController(Controller):
    """An evaluation's evidence file through two doors under the same checks: /api/evaluation/files/{id} for software
    (a bearer token or API key) and /documents/evaluation/files/{id} for the project's page (the session cookie)."""

    path = "/evaluation/files"
    tags = ["evaluation"]
    guards = [logged_in]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @get("/{file_id:int}", responses=READ, media_type="application/octet-stream")
    async def evaluation_file(
        self, file_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]
    ) -> Response[bytes]:
        """An evidence file as filed, to those who follow the contract."""
        row, content = await service.evidence_file(db, principal, store, file_id)
        return uploaded_file(content, row.content_type, row.name)


ROUTES: list[Router | type[Controller]] = [
    EvaluationController,
    *two_doors(EvaluationFileController),
]
