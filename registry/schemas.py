"""Request and response bodies of the registry API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from foundation.schemas import Id, Reason, Strict
from foundation.text import ONE_LINE_NONBLANK, ONE_LINE_OPTIONAL
from registry.boundaries import Datum
from registry.tables import ManagementMode, OrganisationKind, Standing

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_\-]+$")]
EstateCode = Annotated[str, msgspec.Meta(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9_\-]+$")]
# Names, addresses, codes, phone numbers and banks are one line: they print in a table cell, on a notice, a PDF.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=ONE_LINE_NONBLANK)]
LongName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=ONE_LINE_NONBLANK)]
Text200 = Annotated[str, msgspec.Meta(max_length=200, pattern=ONE_LINE_OPTIONAL)]  # empty, or something to read
Count = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
# Floor area in 0.01 m²: positive, below 100 km² for one estate.
AreaCentiM2 = Annotated[int, msgspec.Meta(ge=1, le=10_000_000_000)]
CreditCode = Annotated[str, msgspec.Meta(min_length=18, max_length=18, pattern=ONE_LINE_NONBLANK)]
Phone = Annotated[str, msgspec.Meta(max_length=30, pattern=ONE_LINE_OPTIONAL)]
# A payee's bank (开户行) and account number (digits, 8 to 32 of them, spaces allowed between groups as printed).
BankName = Annotated[str, msgspec.Meta(max_length=100, pattern=ONE_LINE_OPTIONAL)]
BankAccount = Annotated[str, msgspec.Meta(max_length=40, pattern=r"^$|^[0-9][0-9 ]{6,38}[0-9]$")]
Household = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=ONE_LINE_NONBLANK)]
Title = Annotated[str, msgspec.Meta(min_length=2, max_length=200, pattern=ONE_LINE_NONBLANK)]
Number = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=ONE_LINE_NONBLANK)]
Day = Annotated[date, msgspec.Meta(extra_json_schema={"minimum": "2000-01-01"})]


# Streets and communities


class StreetCreate(Strict):
    code: Code
    name: Name


class StreetUpdate(Strict):
    name: Name | None = None


class StreetOut(msgspec.Struct):
    id: int
    code: str
    name: str


class CommunityCreate(Strict):
    code: Code
    name: Name
    street_id: Id
    households: Count = 0


class CommunityUpdate(Strict):
    name: Name | None = None
    households: Count | None = None


class CommunityOut(msgspec.Struct):
    id: int
    code: str
    name: str
    street_id: int
    street_name: str
    households: int


# Estates


class EstateCreate(Strict):
    code: EstateCode
    name: LongName
    address: Text200
    community_id: Id
    floor_area_centi_m2: AreaCentiM2
    management_mode: ManagementMode
    entered_on: date
    households: Count = 0
    buildings: Count = 0
    left_on: date | None = None


class EstateUpdate(Strict):
    name: LongName | None = None
    address: Text200 | None = None
    floor_area_centi_m2: AreaCentiM2 | None = None
    households: Count | None = None
    buildings: Count | None = None
    management_mode: ManagementMode | None = None
    entered_on: date | None = None
    left_on: date | None = None
    reason: Reason | None = None  # why a registered fact changed; required when the floor area changes


# An estate's boundary: GeoJSON (RFC 7946), longitude first, in WGS 84 degrees. The document states the nesting only:
# what makes a polygon (closed rings of at least 4 positions that do not cross, within the ranges) is checked by
# registry/boundaries.py and refused with 422, saying what is wrong.
Rings = Annotated[list[list[list[float]]], msgspec.Meta(max_length=100, description="rings of [longitude, latitude] positions, each closed")]


class PolygonIn(Strict, tag_field="type", tag="Polygon"):
    coordinates: Rings


class MultiPolygonIn(Strict, tag_field="type", tag="MultiPolygon"):
    coordinates: Annotated[list[Rings], msgspec.Meta(max_length=100)]


class BoundaryIn(Strict):
    """The estate's outline as a GeoJSON Polygon or MultiPolygon in WGS 84 (what a GPS or phone reports), or in
    GCJ-02 (a Chinese web map's coordinates, `datum: "gcj02"`), converted to WGS 84 before it is kept. BD-09 (Baidu)
    is not accepted: convert it first."""

    geometry: PolygonIn | MultiPolygonIn
    datum: Datum = Datum.WGS84


class BoundaryOut(msgspec.Struct):
    estate_id: int
    geometry: dict[str, object] | None  # GeoJSON Polygon or MultiPolygon; null: no boundary recorded
    vertices: int | None
    area_m2: int | None
    set_at: datetime | None
    set_by: str | None


class EstateOut(msgspec.Struct):
    id: int
    code: str
    name: str
    address: str
    community_id: int
    community_name: str
    street_id: int
    street_name: str
    floor_area_centi_m2: int
    floor_area_m2: str
    households: int
    buildings: int
    management_mode: ManagementMode
    entered_on: date
    left_on: date | None
    company_id: int | None  # company under the contract in force today
    contract_id: int | None


# Companies and organisations


class CompanyCreate(Strict):
    name: LongName
    credit_code: CreditCode
    legal_representative: Name | None = None
    phone: Phone = ""
    address: Text200 = ""
    bank_name: BankName = ""  # 开户银行: printed on payment notices and the treasury spreadsheet
    bank_account: BankAccount = ""  # 银行账号


class CompanyUpdate(Strict):
    name: LongName | None = None
    legal_representative: Name | None = None
    phone: Phone | None = None
    address: Text200 | None = None
    bank_name: BankName | None = None
    bank_account: BankAccount | None = None


class CompanyOut(msgspec.Struct):
    id: int
    name: str
    credit_code: str
    legal_representative: str
    phone: str
    address: str
    bank_name: str
    bank_account: str


class StaffIn(Strict):
    name: Name
    position: Annotated[str, msgspec.Meta(max_length=50, pattern=ONE_LINE_OPTIONAL)] = ""
    user_id: Id | None = None  # the staff member's account, when they have one


class OrganisationCreate(Strict):
    """A social organisation also gives its standing (登记 or 备案), legal representative, address and the streets
    it serves; an inspection or evaluation firm gives none of them."""

    name: LongName
    kind: OrganisationKind
    credit_code: CreditCode
    phone: Phone = ""
    standing: Standing | None = None
    legal_representative: Name | None = None
    address: Text200 = ""
    street_ids: Annotated[list[Id], msgspec.Meta(max_length=50)] = []
    staff: Annotated[list[StaffIn], msgspec.Meta(max_length=200)] = []


class OrganisationUpdate(Strict):
    name: LongName | None = None
    phone: Phone | None = None
    legal_representative: Name | None = None
    address: Text200 | None = None
    street_ids: Annotated[list[Id], msgspec.Meta(max_length=50)] | None = None
    staff: Annotated[list[StaffIn], msgspec.Meta(max_length=200)] | None = None


class OrganisationOut(msgspec.Struct):
    id: int
    name: str
    kind: OrganisationKind
    credit_code: str
    phone: str
    standing: Standing | None = None
    legal_representative: str = ""
    address: str = ""
    street_ids: list[int] = []


class StaffOut(msgspec.Struct):
    id: int
    name: str
    position: str
    user_id: int | None


# Selection votes (居民选)


class VoteCreate(Strict):
    community_id: Id
    title: Title
    estate_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=100)]
    candidate_company_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=20)]
    opens_on: date
    closes_on: date


class PaperVoteIn(Strict):
    """A vote held and counted on paper (纸质表决), recorded from its archived count sheet: the households that took
    part and those that chose the company. Its households with a vote are the estates' registered households."""

    community_id: Id
    reference: Number  # archive number (档案编号)
    estate_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=100)]
    company_id: Id
    voted_on: date
    households_voting: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
    households_for_company: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


class VoteUpdate(Strict):
    title: Title | None = None
    closes_on: date | None = None


class BallotIn(Strict):
    household: Household
    company_id: Id | None  # None: a blank ballot (the household took part, chose nobody)


class BallotsIn(Strict):
    ballots: Annotated[list[BallotIn], msgspec.Meta(min_length=1, max_length=5000)]


class BallotsRecorded(msgspec.Struct):
    recorded: int  # new ballots stored by this request
    already_recorded: int  # identical ballots sent before (a retry), not stored twice
    ballots_cast: int  # all ballots of the vote so far
    eligible_households: int


class CandidateOut(msgspec.Struct):
    company_id: int
    company_name: str
    ballots_received: int | None


class VoteOut(msgspec.Struct):
    id: int
    community_id: int
    community_name: str
    title: str
    estate_ids: list[int]
    candidates: list[CandidateOut]
    eligible_households: int
    opens_on: date
    closes_on: date
    status: str
    opened_at: datetime
    closed_at: datetime | None
    ballots_cast: int
    outcome: str | None
    turnout_percent: str | None
    winner_company_id: int | None
    source: str  # ballots (counted here) or paper (纸质表决, counted on paper)
    reference: str | None  # a paper vote's archive number


# Service contracts (社区签)


class ContractCreate(Strict):
    vote_id: Id
    contract_number: Number
    signed_on: date
    starts_on: date
    ends_on: date
    estate_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=100)] | None = None  # default: the vote's


class ContractTerminate(Strict):
    terminated_on: date  # the last day the contract is in force
    reason: Reason


class ContractOut(msgspec.Struct):
    id: int
    contract_number: str
    community_id: int
    community_name: str
    company_id: int
    company_name: str
    vote_id: int
    estate_ids: list[int]
    signed_on: date
    starts_on: date
    ends_on: date
    signed_by_user_id: int | None
    state: str
    terminated_on: date | None
    termination_reason: str | None


class RegistrySummary(msgspec.Struct):
    streets: int
    communities: int
    estates: int
    companies: int
    active_contracts: int
    estates_under_contract: int
    floor_area_centi_m2: int
    floor_area_m2: str
    households: int
