"""Elderly home care's API: providers' contracts (streets), enrolments and their stop (the community's elderly-care
social worker), visits from the provider's phone (a retry with the same client id stores one visit), a month's
vouchers and their redemption. The monthly run and its batch are the engine's (/api/programmes/care/...)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal
from foundation.clock import business_today
from foundation.periods import MONTH_PATTERN, Month
from foundation.sealing import Sealer
from foundation.web.auth import allow, logged_in
from foundation.web.body import StrictBody
from foundation.web.params import RecordId
from foundation.web.problems import problem_responses
from subsidies.care import programme as _programme  # noqa: F401  (registers the programme with the engine)
from subsidies.care import queries, schemas, service
from subsidies.care.tables import CareElder, CareEnrolment

READ = problem_responses(400, 403, 404)
WRITE = problem_responses(400, 403, 404, 409, 422)
MonthPath = Annotated[str, Parameter(pattern=MONTH_PATTERN, description="A month, e.g. 2026-10")]
VoucherCode = Annotated[str, Parameter(pattern=r"^[A-Za-z0-9]{1,10}-[A-Za-z0-9]{4,12}$", description="A voucher's code, e.g. YL202611-7KQ2M9XD")]


def sealer_of(state: State) -> Sealer:
    return Sealer(state.settings.resolved_personal_data_key())


def enrolment_out(enrolment: CareEnrolment, elder: CareElder, voucher_code: str | None) -> schemas.EnrolmentOut:
    return schemas.EnrolmentOut(
        id=enrolment.id or 0, elder=service.elder_out(elder), provider_id=enrolment.provider_id, starts_on=enrolment.starts_on, ends_on=enrolment.ends_on,
        stop_reason=enrolment.stop_reason, consent_by=enrolment.consent_by, consent_on=enrolment.consent_on, voucher_code=voucher_code,
    )


class CareController(Controller):
    path = "/api/care"
    tags = ["programmes"]
    guards = [logged_in]

    @post("/contracts", dto=StrictBody[schemas.CareContractIn], return_dto=None, guards=[allow(service.CONTRACT_SIGNERS, "signing home-care contracts")], responses=WRITE)
    async def sign_care_contract(self, data: JSONBody[schemas.CareContractIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.CareContractOut:
        """A street puts a social organisation under contract to serve its elders for a period."""
        c = await service.sign_contract(db, principal, data)
        return schemas.CareContractOut(id=c.id or 0, number=c.number, provider_id=c.provider_id, street_id=c.street_id, starts_on=c.starts_on, ends_on=c.ends_on)

    @post("/enrolments", dto=StrictBody[schemas.EnrolmentIn], return_dto=None, guards=[allow(service.ENROLLERS, "enrolling elders")], responses=WRITE)
    async def enrol_elder(self, data: JSONBody[schemas.EnrolmentIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State) -> schemas.EnrolmentOut:
        """Enrol an eligible elder of your community with a provider under contract, with consent. The ID number is
        stored sealed and answered masked."""
        enrolment, elder = await service.enrol(db, principal, sealer_of(state), data)
        codes = [v.code for v in await queries.month_vouchers(db, principal, Month.of(business_today())) if v.elder_id == elder.id]
        return enrolment_out(enrolment, elder, codes[0] if codes else None)

    @get("/enrolments", guards=[allow(service.ENROLLERS, "reading enrolments")], responses=READ)
    async def care_enrolments(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], month: Annotated[str | None, Parameter(pattern=MONTH_PATTERN)] = None) -> list[schemas.EnrolmentOut]:
        """Your community's enrolments in force during a month (this month by default)."""
        return await queries.community_enrolments(db, principal, Month.parse(month) if month else Month.of(business_today()))

    @post("/enrolments/{enrolment_id:int}/stop", dto=StrictBody[schemas.StopIn], return_dto=None, status_code=200, guards=[allow(service.ENROLLERS, "stopping enrolments")], responses=WRITE)
    async def stop_care_enrolment(self, enrolment_id: RecordId, data: JSONBody[schemas.StopIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.EnrolmentOut:
        """Stop an enrolment from a day: moved, in hospital, died or declined."""
        enrolment = await service.stop_enrolment(db, principal, enrolment_id, data)
        elder = await db.get_one(CareElder, enrolment.elder_id)
        return enrolment_out(enrolment, elder, None)

    @post("/elders/{elder_id:int}/id-number", status_code=200, guards=[allow(service.ENROLLERS, "reading ID numbers")], responses=problem_responses(400, 403, 404, 503))
    async def elder_id_number(self, elder_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], state: State) -> schemas.IdNumberOut:
        """The full ID number of an elder of your community: a POST, because each reading is recorded in the audit log."""
        return schemas.IdNumberOut(elder_id=elder_id, id_number=await service.read_id_number(db, principal, sealer_of(state), elder_id))

    @get("/elders", guards=[allow(service.PROVIDERS, "reading the elders you serve")], responses=READ)
    async def served_elders(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.ElderOut]:
        """The elders your organisation serves today (ID numbers masked)."""
        return await queries.provider_elders(db, principal, business_today())

    @post("/visits", dto=StrictBody[schemas.VisitIn], return_dto=None, guards=[allow(service.PROVIDERS, "logging visits")], responses={**WRITE})
    async def log_care_visit(self, data: JSONBody[schemas.VisitIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[schemas.VisitOut]:
        """Log a visit (201); sending the same body with the same client id again answers the stored visit (200)."""
        logged = await service.log_visit(db, principal, data)
        return Response(service.visit_out(logged), status_code=200 if logged.replayed else 201)

    @get("/months/{month:str}/vouchers", guards=[allow(service.MONTH_READERS, "reading vouchers")], responses=READ)
    async def care_month_vouchers(self, month: MonthPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> list[schemas.VoucherOut]:
        """A month's vouchers in your scope, each with its confirmed visits and minutes and whether the minimum is met."""
        return await queries.month_vouchers(db, principal, Month.parse(month, "month"))

    @post("/vouchers/{code:str}/redeem", status_code=200, guards=[allow(service.PROVIDERS, "redeeming vouchers")], responses=WRITE)
    async def redeem_care_voucher(self, code: VoucherCode, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.VoucherOut:
        """Redeem a voucher of an elder you serve, in its month, once its minimum service is logged; once, ever."""
        voucher = await service.redeem(db, principal, code)
        return next(v for v in await queries.month_vouchers(db, principal, Month.parse(voucher.month)) if v.code == voucher.code)

    @post("/months/{month:str}/redeem", status_code=200, guards=[allow(service.PROVIDERS, "redeeming vouchers")], responses=WRITE)
    async def redeem_care_month(self, month: MonthPath, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> schemas.MonthRedemptionOut:
        """Month end: redeem every voucher of the month that may be redeemed; the others are listed with the reason."""
        redeemed, refused = await service.redeem_month(db, principal, Month.parse(month, "month"))
        return schemas.MonthRedemptionOut(
            month=month, redeemed=[v.code for v in redeemed],
            refused=[schemas.RefusedVoucherOut(code=v.code, reason=e.message_zh, detail=e.detail) for v, e in refused],
        )


ROUTES = [CareController]
