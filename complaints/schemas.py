"""Request and response bodies of complaints: the Open311 GeoReport v2 shapes (field names as the specification
writes them) and the social worker's API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from foundation.schemas import Id, Strict
from foundation.text import NONBLANK, ONE_LINE, ONE_LINE_NONBLANK, PRINTABLE

Text = Annotated[str, msgspec.Meta(max_length=2000, pattern=PRINTABLE)]
ShortText = Annotated[str, msgspec.Meta(max_length=200, pattern=PRINTABLE)]
Description = Annotated[str, msgspec.Meta(min_length=2, max_length=2000, pattern=NONBLANK)]
Outcome = Literal["", "agreed", "failed"]  # '' the mediation goes on; agreed or failed ends it
ItemCode = Annotated[str, msgspec.Meta(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_\-]+$")]


# Open311 GeoReport v2


class Open311Service(msgspec.Struct):
    """GET services: one service a request can be filed under."""

    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str
    group: str


class Open311RequestIn(msgspec.Struct, forbid_unknown_fields=True):
    """POST requests, form-encoded as GeoReport v2 sends it. `address_id` is the estate's code (printed on its QR
    posters). Names and e-mail are accepted and not stored (personal data kept to the minimum); a phone is kept for
    the reply and shown only to the community's and street's staff."""

    service_code: Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]
    address_id: Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=ONE_LINE_NONBLANK)]
    description: Description
    lat: Annotated[str, msgspec.Meta(max_length=20, pattern=r"^(-?[0-9]{1,3}(\.[0-9]{1,8})?)?$")] = ""
    long: Annotated[str, msgspec.Meta(max_length=20, pattern=r"^(-?[0-9]{1,3}(\.[0-9]{1,8})?)?$")] = ""
    address_string: ShortText = ""
    phone: Annotated[str, msgspec.Meta(max_length=20, pattern=r"^(\+?[0-9\- ]{5,20})?$")] = ""
    device_id: ShortText = ""
    # GeoReport's jurisdiction, for an endpoint serving several: this one serves one district, so any is this one.
    jurisdiction_id: ShortText = ""
    api_key: ShortText = ""
    account_id: ShortText = ""
    email: ShortText = ""
    first_name: ShortText = ""
    last_name: ShortText = ""
    # A link to a photo the caller keeps elsewhere: stored as a reference shown to the community's staff, never
    # fetched by this system (config/RULES.md).
    media_url: Annotated[str, msgspec.Meta(max_length=500, pattern=r"^(https?://[^\s/?#]+[^\s]*)?$")] = ""


class Open311Created(msgspec.Struct, omit_defaults=True):
    """POST requests' answer: the request's id (the resident's tracking code) and a notice."""

    service_request_id: str
    service_notice: str
    account_id: str | None = None


class Open311Request(msgspec.Struct, omit_defaults=True):
    """GET requests: one request as GeoReport v2 names its fields (no personal data); fields with nothing to say
    are left out, as the specification allows."""

    service_request_id: str
    status: Literal["open", "closed"]
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime
    address: str
    address_id: str
    status_notes: str = ""
    lat: float | None = None
    long: float | None = None
    media_url: str = ""  # the display copy of the resident's first photo (no EXIF), when the request has one


# The social worker's API


class ComplaintOut(msgspec.Struct):
    id: Id
    channel: str
    service_code: str
    service_name: str
    estate_id: int
    estate_name: str
    community_id: int
    place: str
    description: str
    phone: str  # in full to the community's social worker and director, masked to others
    reported_at: datetime
    state: str
    state_name: str
    first_response_due_at: datetime
    resolution_due_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    first_response_late: bool
    resolution_late: bool
    defect_id: int | None
    answer: str
    closure_reason: str
    referred_to: str
    photo_ids: list[int]
    media_url: str  # an Open311 caller's link to a photo elsewhere: a reference, never fetched ('' none)


class OrderIn(Strict):
    """Turn a complaint into a rectification order: the checklist item at fault and what was found on site. Photos are
    the social worker's own uploads (POST /api/attachments); none: the resident's photos are shown on the order."""

    item: ItemCode
    finding: Description
    answer: Description
    # Ids of the social worker's own uploads (any other id is refused with 422).
    photo_ids: Annotated[list[int], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)


class MediationIn(Strict):
    """Open a mediation case (矛盾调处): a dispute between residents and the company, or among residents."""

    answer: Description


class MediationMeetingIn(Strict):
    held_at: Annotated[datetime, msgspec.Meta(tz=True)]
    attendees: Annotated[str, msgspec.Meta(min_length=2, max_length=600, pattern=NONBLANK)]
    summary: Description
    outcome: Outcome = ""
    follow_up: Annotated[str, msgspec.Meta(max_length=1000, pattern=PRINTABLE)] = ""
    answer: Text = ""  # what the resident reads once the mediation ends


class ClosureIn(Strict):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern=ONE_LINE_NONBLANK)]
    answer: Description
    referred_to: Annotated[str, msgspec.Meta(max_length=60, pattern=ONE_LINE)] = ""
    duplicate_of: Id | None = None


class MediationMeetingOut(msgspec.Struct):
    id: int
    held_at: datetime
    attendees: str
    summary: str
    outcome: str
    follow_up: str
    recorded_by: str


class TrackingOut(msgspec.Struct):
    """What the tracking code shows: the complaint's own state and answer, nothing of anyone else."""

    state: str
    state_name: str
    service_name: str
    reported_at: datetime
    answer: str
    updated_at: datetime

