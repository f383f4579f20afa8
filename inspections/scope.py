"""What each principal may see of the evidence, as SQL conditions (one place, used by every query)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select

from inspections.tables import Attachment, Defect, DefectEventPhoto, InspectionRecord, RecordPhoto
from supervision.core.access import Principal, Role
from supervision.core.scoping import in_scope


def owner_key(p: Principal) -> str:
    """Who owns an upload (and may show it on a record, an order or a veto): an inspection firm's photos belong to
    the firm (its inspectors and API keys file its spot checks together); any other API key owns its own; a user
    their own. A principal that is none of these (the system) owns nothing anyone else can match."""
    if p.role is Role.INSPECTOR and p.organisation_id is not None:
        return f"organisation:{p.organisation_id}"
    if p.api_key_id is not None:
        return f"api_key:{p.api_key_id}"
    if p.user_id is not None:
        return f"user:{p.user_id}"
    return "system"


def visible_records(p: Principal) -> ColumnElement[bool]:
    """Staff by district, street or community; a company the records of the estates it managed that day; a firm
    the records it filed."""
    return in_scope(
        p,
        street=InspectionRecord.street_id,
        community=InspectionRecord.community_id,
        company=InspectionRecord.company_id,
        organisation=InspectionRecord.organisation_id,
    )


def visible_defects(p: Principal) -> ColumnElement[bool]:
    return in_scope(p, street=Defect.street_id, community=Defect.community_id, company=Defect.company_id, organisation=Defect.organisation_id)


def visible_attachments(p: Principal) -> ColumnElement[bool]:
    """Your own uploads, and the photos of records and defects you can see; nothing else."""
    on_records = select(RecordPhoto.attachment_id).join(InspectionRecord, InspectionRecord.id == RecordPhoto.record_id)
    on_defects = select(DefectEventPhoto.attachment_id).join(Defect, Defect.id == DefectEventPhoto.defect_id)
    return or_(
        Attachment.owner == owner_key(p),
        Attachment.id.in_(on_records.where(visible_records(p))),  # type: ignore[union-attr]
        Attachment.id.in_(on_defects.where(visible_defects(p))),  # type: ignore[union-attr]
    )
