"""What each principal may see of the evidence, as SQL conditions (one place, used by every query)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true

from inspections.tables import Attachment, Defect, DefectEventPhoto, InspectionRecord, RecordPhoto
from supervision.core.access import Principal, Role, ScopeKind


def owner_key(p: Principal) -> str:
    """Who owns an upload: a firm's photos belong to the firm (its API keys and inspectors share them)."""
    if p.role is Role.INSPECTOR and p.organisation_id is not None:
        return f"organisation:{p.organisation_id}"
    return f"user:{p.user_id}"


def visible_records(p: Principal) -> ColumnElement[bool]:
    """Staff by district, street or community; a company the records of the estates it managed that day; a firm
    the records it filed."""
    match p.scope:
        case ScopeKind.DISTRICT:
            return true()
        case ScopeKind.STREET:
            return InspectionRecord.street_id == p.street_id
        case ScopeKind.COMMUNITY:
            return InspectionRecord.community_id == p.community_id
        case ScopeKind.COMPANY:
            return InspectionRecord.company_id == p.company_id
        case ScopeKind.ORGANISATION if p.role is Role.INSPECTOR:
            return InspectionRecord.organisation_id == p.organisation_id
        case _:
            return false()


def visible_defects(p: Principal) -> ColumnElement[bool]:
    match p.scope:
        case ScopeKind.DISTRICT:
            return true()
        case ScopeKind.STREET:
            return Defect.street_id == p.street_id
        case ScopeKind.COMMUNITY:
            return Defect.community_id == p.community_id
        case ScopeKind.COMPANY:
            return Defect.company_id == p.company_id
        case ScopeKind.ORGANISATION if p.role is Role.INSPECTOR:
            return Defect.organisation_id == p.organisation_id
        case _:
            return false()


def visible_attachments(p: Principal) -> ColumnElement[bool]:
    """Your own uploads, and the photos of records and defects you can see; nothing else."""
    on_records = select(RecordPhoto.attachment_id).join(InspectionRecord, InspectionRecord.id == RecordPhoto.record_id)
    on_defects = select(DefectEventPhoto.attachment_id).join(Defect, Defect.id == DefectEventPhoto.defect_id)
    return or_(
        Attachment.owner == owner_key(p),
        Attachment.id.in_(on_records.where(visible_records(p))),  # type: ignore[union-attr]
        Attachment.id.in_(on_defects.where(visible_defects(p))),  # type: ignore[union-attr]
    )
