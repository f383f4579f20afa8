"""API routes of delivery: projects and their progress, delegations and answers, teams, residents served and
activities (thin: parse, guard, one use case)."""

from __future__ import annotations

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from community.delivery import schemas, service
from community.delivery.service import BUYERS, DIRECTORS, LOGGERS
from foundation.access import Principal
from foundation.clock import utc_now
from foundation.web.auth import allow, logged_in
from foundation.web.body import StrictBody
from foundation.web.params import RecordId
from foundation.web.problems import problem_responses

READ = problem_responses(400, 403, 404)
WRITE = problem_responses(400, 403, 404, 409, 422)


class DeliveryProjectController(Controller):
    """Projects to deliver (a contract, or the street's own) with their indicators and progress."""

    path = "/api/delivery/projects"
    tags = ["delivery"]
    guards = [logged_in]

    @post("/", dto=StrictBody[schemas.ProjectIn], return_dto=None, guards=[allow(BUYERS, "registering a project")], responses=WRITE)
    async def register_project(self, data: JSONBody[schemas.ProjectIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ProjectOut:
        return await service.project_out(db, await service.create_project(db, principal, data, utc_now()))

    @get("/", responses=READ)
    async def list_delivery_projects(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.ProjectOut]:
        """The projects the caller buys, carries out (its organisation) or was delegated (its community)."""
        return [await service.project_out(db, p) for p in await service.list_projects(db, principal)]

    @get("/{project_id:int}", responses=READ)
    async def get_delivery_project(self, project_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.ProjectOut:
        """The project with the progress of each indicator (counts only; no resident is named)."""
        return await service.project_out(db, await service.project_for(db, principal, project_id))

    @post("/{project_id:int}/delegations", dto=StrictBody[schemas.DelegationIn], return_dto=None, guards=[allow(BUYERS, "delegating a project")], responses=WRITE)
    async def delegate_project(self, project_id: RecordId, data: JSONBody[schemas.DelegationIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.DelegationOut:
        """Delegate to a committee, to carry out (execute) or to assist; its director answers within the deadline."""
        delegation = await service.delegate(db, principal, project_id, data, utc_now())
        return (await service.delegation_outs(db, [delegation]))[0]


class DelegationController(Controller):
    path = "/api/delivery/delegations"
    tags = ["delivery"]
    guards = [logged_in]

    @get("/", responses=READ)
    async def list_delegations(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.DelegationOut]:
        """A director's community's delegations; a buyer's projects'; an organisation's projects'."""
        return await service.delegation_outs(db, await service.delegations_for(db, principal))

    @post("/{delegation_id:int}/answer", dto=StrictBody[schemas.AnswerIn], return_dto=None, status_code=200, guards=[allow(DIRECTORS, "answering a delegation")], responses=WRITE)
    async def answer_delegation(self, delegation_id: RecordId, data: JSONBody[schemas.AnswerIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.DelegationOut:
        """Accept, or decline with a reason, once and by the deadline."""
        delegation = await service.answer(db, principal, delegation_id, data, utc_now())
        return (await service.delegation_outs(db, [delegation]))[0]

    @put("/{delegation_id:int}/team", dto=StrictBody[schemas.TeamIn], return_dto=None, guards=[allow(DIRECTORS, "assigning social workers")], responses=WRITE)
    async def assign_team(self, delegation_id: RecordId, data: JSONBody[schemas.TeamIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.MemberOut]:
        """The whole team of the community's social workers, one leading; those left out leave it."""
        return await service.set_team(db, principal, delegation_id, data, utc_now())

    @get("/{delegation_id:int}/team", responses=READ)
    async def get_team(self, delegation_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.MemberOut]:
        return await service.team(db, principal, delegation_id)

    @post("/{delegation_id:int}/beneficiaries", dto=StrictBody[schemas.BeneficiaryIn], return_dto=None, responses=WRITE)
    async def record_beneficiary(self, delegation_id: RecordId, data: JSONBody[schemas.BeneficiaryIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.BeneficiaryOut:
        """A resident served, with their consent, by name only; seen only inside the community and the project."""
        b = await service.record_beneficiary(db, principal, delegation_id, data, utc_now())
        return schemas.BeneficiaryOut(id=b.id, name=b.name, consent_by=b.consent_by, consent_on=b.consent_on)

    @get("/{delegation_id:int}/beneficiaries", responses=READ)
    async def list_beneficiaries(self, delegation_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.BeneficiaryOut]:
        return [schemas.BeneficiaryOut(id=b.id, name=b.name, consent_by=b.consent_by, consent_on=b.consent_on) for b in await service.beneficiaries(db, principal, delegation_id)]

    @get("/{delegation_id:int}/activities", responses=READ)
    async def list_activities(self, delegation_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.ActivityOut]:
        found = await service.activities(db, principal, delegation_id)
        return [service.activity_out(await service.logged(db, a)) for a in found]


class ActivityController(Controller):
    path = "/api/delivery/activities"
    tags = ["delivery"]
    guards = [logged_in]

    @post("/", dto=StrictBody[schemas.ActivityIn], return_dto=None, guards=[allow(LOGGERS, "logging a project activity")], responses=WRITE)
    async def log_activity(self, data: JSONBody[schemas.ActivityIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[schemas.ActivityOut]:
        """An activity from a phone; a resend with the same client id answers 200 with the activity already stored."""
        logged = await service.log_activity(db, principal, data, utc_now())
        return Response(service.activity_out(logged), status_code=200 if logged.replayed else 201)


ROUTES = [DeliveryProjectController, DelegationController, ActivityController]
