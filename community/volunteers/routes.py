"""API routes of volunteers (thin: parse, guard, call one use case, shape the answer)."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from community.volunteers import certificates, schemas, service
from foundation.access import Principal
from foundation.clock import utc_now
from foundation.errors import Unavailable
from foundation.periods import business_date
from foundation.storage import BlobStore
from foundation.web.auth import allow
from foundation.web.body import StrictBody
from foundation.web.params import RecordId, provide_store
from foundation.web.problems import problem_responses
from reports.pdf import FontMissing
from reports.service import PDF

READ = problem_responses(400, 403, 404)
WRITE = problem_responses(400, 403, 404, 409, 422)
STORE = {"store": Provide(provide_store, sync_to_thread=False)}
EVERYONE = service.ORGANISERS | service.VOLUNTEERS
DECIDERS = service.SOCIAL_WORKERS | service.VOLUNTEERS


def _pdf(content: bytes, name: str) -> Response[bytes]:
    return Response(content, media_type=PDF, headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private"})


class VolunteerController(Controller):
    path = "/api/volunteers"
    tags = ["volunteers"]
    guards = [allow(EVERYONE, "volunteering")]

    @get("/options", responses=READ)
    async def volunteer_options(self) -> schemas.VolunteerOptionsOut:
        """The skills to choose from and the limits on hours in force (config/volunteers.toml)."""
        rules = service.volunteer_rules()
        return schemas.VolunteerOptionsOut(skills=list(rules.skills), approval_days=rules.approval_days, max_minutes=rules.max_minutes, log_within_days=rules.log_within_days)

    @post("/", dto=StrictBody[schemas.VolunteerIn], return_dto=None, guards=[allow(service.ORGANISERS, "registering volunteers")], responses=WRITE, status_code=201)
    async def register_volunteer(self, data: JSONBody[schemas.VolunteerIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.VolunteerOut:
        """The community's social worker or director registers a volunteer met in person (real name, phone, skills)
        and opens their account (role volunteer) with a first password."""
        row = await service.register_volunteer(db, principal, data)
        return (await service.volunteer_out(db, [row]))[0]

    @post("/{volunteer_id:int}/check", dto=StrictBody[schemas.VolunteerCheckIn], return_dto=None, guards=[allow(service.SOCIAL_WORKERS, "checking volunteers")], responses=WRITE, status_code=200)
    async def check_volunteer(
        self, volunteer_id: RecordId, data: JSONBody[schemas.VolunteerCheckIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]
    ) -> schemas.VolunteerOut:
        """实名核验: the community's social worker met a volunteer imported from a spreadsheet, checked their real name
        and gives the first password; until then the volunteer signs up for nothing and logs no hours."""
        row = await service.check_volunteer(db, principal, volunteer_id, data)
        return (await service.volunteer_out(db, [row]))[0]

    @get("/", responses=READ)
    async def list_volunteers(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.VolunteerOut]:
        """Volunteers with their real name and phone: the community's staff see their community's, a team leader
        their team's, a volunteer only themselves."""
        return await service.volunteer_out(db, await service.readable_volunteers(db, principal))

    @post("/teams", dto=StrictBody[schemas.VolunteerTeamIn], return_dto=None, guards=[allow(service.ORGANISERS, "forming teams")], responses=WRITE, status_code=201)
    async def create_volunteer_team(self, data: JSONBody[schemas.VolunteerTeamIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.VolunteerTeamOut:
        """A team led by one of the community's volunteers, or (no leader given) by the social worker forming it."""
        team = await service.create_team(db, principal, data)
        return (await service.team_out(db, principal, [team]))[0]

    @post("/teams/{team_id:int}/members", dto=StrictBody[schemas.VolunteerMembersIn], return_dto=None, guards=[allow(service.ORGANISERS, "changing teams")], responses=WRITE, status_code=200)
    async def add_volunteer_team_members(self, team_id: RecordId, data: JSONBody[schemas.VolunteerMembersIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.VolunteerTeamOut:
        team = await service.add_members(db, principal, team_id, data)
        return (await service.team_out(db, principal, [team]))[0]

    @get("/teams", responses=READ)
    async def volunteer_teams(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.VolunteerTeamOut]:
        return await service.team_out(db, principal, await service.teams_of(db, principal))

    @post("/needs", dto=StrictBody[schemas.VolunteerNeedIn], return_dto=None, guards=[allow(service.ORGANISERS, "posting needs")], responses=WRITE, status_code=201)
    async def post_volunteer_need(self, data: JSONBody[schemas.VolunteerNeedIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.VolunteerNeedOut:
        """志愿需求: a day, a start time, a duration and the number of volunteers wanted, for a team of the community,
        optionally for a contracted project and asking for one-to-one pairing (一对一包户)."""
        return service.need_out(await service.post_need(db, principal, data), business_date(utc_now()))

    @get("/needs", responses=READ)
    async def volunteer_needs(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.VolunteerNeedOut]:
        """The community's needs; `open` says whether one takes sign-ups now (not past, not full)."""
        today = business_date(utc_now())
        return [service.need_out(n, today) for n in await service.needs_of(db, principal)]

    @post("/needs/{need_id:int}/signups", guards=[allow(service.VOLUNTEERS, "signing up")], responses=WRITE, status_code=201)
    async def sign_up_for_volunteer_need(self, need_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.VolunteerSignupOut:
        """The volunteer takes a place. Refused (422) when the need is full or its day has passed; of two volunteers
        taking the last place at the same moment, exactly one has it."""
        row = await service.sign_up(db, principal, need_id)
        return schemas.VolunteerSignupOut(id=row.id, need_id=row.need_id, volunteer_id=row.volunteer_id, signed_up_at=row.signed_up_at)

    @post("/hours", dto=StrictBody[schemas.VolunteerHoursIn], return_dto=None, guards=[allow(service.VOLUNTEERS, "logging hours")], responses=WRITE, status_code=201)
    async def log_volunteer_hours(self, data: JSONBody[schemas.VolunteerHoursIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[schemas.VolunteerHoursOut]:
        """The volunteer logs their own hours for a need they signed up for or with one of their teams; they wait
        for the team leader's or the social worker's answer. A retry with the same client id answers 200."""
        logged = await service.log_hours(db, principal, data)
        return Response(service.hours_out(logged.row), status_code=200 if logged.replayed else 201)

    @get("/hours", guards=[allow(service.VOLUNTEERS, "reading own hours")], responses=READ)
    async def own_volunteer_hours(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.VolunteerHoursOut]:
        """The volunteer's own hours with their state and, when rejected, the reason."""
        return [service.hours_out(h) for h in await service.own_hours(db, principal)]

    @get("/approvals", guards=[allow(DECIDERS, "the approval queue")], responses=READ)
    async def volunteer_hours_queue(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.VolunteerHoursOut]:
        """Hours waiting for the caller's answer (a social worker: the community's; a leader: their teams'), the
        oldest answer day first; never the caller's own."""
        return [service.hours_out(h) for h in await service.approval_queue(db, principal)]

    @post("/hours/{hours_id:int}/decision", dto=StrictBody[schemas.HoursDecisionIn], return_dto=None, guards=[allow(DECIDERS, "deciding hours")], responses=WRITE, status_code=200)
    async def decide_volunteer_hours(self, hours_id: RecordId, data: JSONBody[schemas.HoursDecisionIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.VolunteerHoursOut:
        """Approve, or reject with a reason: the team's leader or the community's social worker; never the
        volunteer who logged them (403)."""
        return service.hours_out(await service.decide_hours(db, principal, hours_id, data))

    @post("/pairings", dto=StrictBody[schemas.VolunteerPairingIn], return_dto=None, guards=[allow(service.ORGANISERS, "pairing")], responses=WRITE, status_code=201)
    async def pair_volunteer_with_household(self, data: JSONBody[schemas.VolunteerPairingIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.VolunteerPairingOut:
        """一对一包户: one volunteer, one household (named by its address only); refused (409) while either is paired."""
        return service.pairing_out(await service.pair(db, principal, data))

    @post("/pairings/{pairing_id:int}/end", guards=[allow(service.ORGANISERS, "ending pairings")], responses=WRITE, status_code=200)
    async def end_volunteer_pairing(self, pairing_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.VolunteerPairingOut:
        return service.pairing_out(await service.end_pairing(db, principal, pairing_id))

    @get("/pairings", responses=READ)
    async def volunteer_pairings(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.VolunteerPairingOut]:
        return [service.pairing_out(p) for p in await service.pairings_of(db, principal)]


class CertificateController(Controller):
    path = "/api/volunteers/me/certificate"
    tags = ["volunteers"]
    guards = [allow(service.VOLUNTEERS, "volunteer certificates")]
    dependencies = STORE  # noqa: RUF012

    @post("/", responses=problem_responses(400, 403, 404, 409, 422, 503), status_code=200)
    async def issue_volunteer_certificate(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> schemas.VolunteerCertificateOut:
        """志愿服务时长证明: a certificate of the volunteer's approved hours (PDF with a verification QR code). Asked again
        with no new approval, the same document; refused (422) while no hours are approved."""
        try:
            made = await certificates.issue_certificate(db, store, principal)
        except FontMissing as missing:
            raise Unavailable(str(missing), zh="服务器缺少中文字体，暂不能生成证明") from None
        return schemas.VolunteerCertificateOut(code=made.code, number=made.number, title=made.title, approved_minutes=made.approved_minutes, download="/api/volunteers/me/certificate.pdf")


class CertificateDownloadController(Controller):
    path = "/api/volunteers/me"
    tags = ["volunteers"]
    guards = [allow(service.VOLUNTEERS, "volunteer certificates")]
    dependencies = STORE  # noqa: RUF012

    @get("/certificate.pdf", responses=problem_responses(400, 403, 404, 409), media_type=PDF)
    async def download_volunteer_certificate(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[bytes]:
        """The certificate issued for the approved hours as they stand, byte for byte as issued (409 before one is)."""
        made = await certificates.issued_certificate(db, store, principal)
        return _pdf(made.content, f"{made.number}.pdf")


ROUTES = [VolunteerController, CertificateController, CertificateDownloadController]
