"""What each principal may see of the evidence, as SQL conditions (one place, used by every query)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlmodel import col

from foundation.access import Principal, Role
from foundation.scoping import in_scope
from inspections.tables import Attachment, Defect, DefectEventPhoto, InspectionRecord, RecordPhoto


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


# Roles scoped to a community that have no part in the estates' supervision: a volunteer and the elderly-care
# social worker see no patrol record, order or finding photo (the worker's name and the estate's faults are not
# theirs to read), whatever their community.
OUTSIDE_THE_EVIDENCE = frozenset({Role.VOLUNTEER, Role.CARE_WORKER})


def visible_records(p: Principal) -> ColumnElement[bool]:
    """Staff by district, street or community; a company the records of the estates it managed that day; a firm
    the records it filed."""
    if p.role in OUTSIDE_THE_EVIDENCE:
        return false()
    return in_scope(
        p,
        street=InspectionRecord.street_id,
        community=InspectionRecord.community_id,
        company=InspectionRecord.company_id,
        organisation=InspectionRecord.organisation_id,
    )


def visible_defects(p: Principal) -> ColumnElement[bool]:
    if p.role in OUTSIDE_THE_EVIDENCE:
        return false()
    return in_scope(p, street=Defect.street_id, community=Defect.community_id, company=Defect.company_id, organisation=Defect.organisation_id)


# Records of the packages above the evidence (vetoes, appeals, ...) that show attachments: each registers how to
# select the attachment ids shown by the records of it a principal may see. The evidence cannot import them (imports
# go one way), so they declare themselves here, and visible_attachments() follows every record that shows a photo.
# A kind not declared (its module not imported) hides its photos: the rule fails closed.
AttachmentHolder = Callable[[Principal], Iterable[Select[Any]]]
_HOLDERS: list[AttachmentHolder] = []


def shows_attachments(holder: AttachmentHolder) -> AttachmentHolder:
    """Declare a kind of record that shows attachments (used as a decorator by the package that owns it)."""
    if holder not in _HOLDERS:
        _HOLDERS.append(holder)
    return holder


def defect_photo_ids(defect_ids: Select[Any]) -> list[Select[Any]]:
    """The photos the defects with ids in `defect_ids` show: their item's photos on the record (or amendment) that
    found them, and the photos of their events (the company's fixes)."""
    found = (
        select(col(RecordPhoto.attachment_id))
        .join(Defect, and_(col(Defect.record_id) == RecordPhoto.record_id, col(Defect.item_code) == RecordPhoto.item_code))
        .where(col(Defect.id).in_(defect_ids))
    )
    fixed = select(col(DefectEventPhoto.attachment_id)).where(col(DefectEventPhoto.defect_id).in_(defect_ids))
    return [found, fixed]


def visible_attachments(p: Principal) -> ColumnElement[bool]:
    """Who may see an attachment, one rule: its owner, and whoever may see a record that shows it (a filed record, a
    rectification order, and every kind declared with shows_attachments: vetoes, appeals); nothing else."""
    on_records = select(col(RecordPhoto.attachment_id)).join(InspectionRecord, col(InspectionRecord.id) == RecordPhoto.record_id)
    on_defects = select(col(DefectEventPhoto.attachment_id)).join(Defect, col(Defect.id) == DefectEventPhoto.defect_id)
    shown = [on_records.where(visible_records(p)), on_defects.where(visible_defects(p))]
    shown += [query for holder in _HOLDERS for query in holder(p)]
    return or_(col(Attachment.owner) == owner_key(p), *(col(Attachment.id).in_(query) for query in shown))
