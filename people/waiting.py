"""Steps that wait on someone (a veto on the street's review, a rectification order on the company, a reported fix on
its verification, an appeal on its answer, a late record on its approval, a run on its next approval, a locked
month's scores on the company, a month's spot checks on their firm): one
rule for all of them. When a step starts waiting, the people whose turn it is are told in-app
(foundation.notifications, keyed by the step and its subject, so nobody is told twice); when it is done, whoever
did it, every notice of it (its reminders too) is settled and leaves their list of what waits on them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Role
from foundation.notifications import notify, settle
from people.queries import recipients


@dataclass(frozen=True)
class Turn:
    """Whose turn it is: the active accounts of `role`, within a street, community, company or organisation."""

    role: Role
    street_id: int | None = None
    community_id: int | None = None
    company_id: int | None = None
    organisation_id: int | None = None


async def whose_turn(session: AsyncSession, *turns: Turn) -> list[int]:
    ids: set[int] = set()
    for turn in turns:
        ids.update(await recipients(session, turn.role, turn.street_id, turn.community_id, turn.company_id, turn.organisation_id))
    return sorted(ids)


def step_key(step: str, subject: object) -> str:
    """The key of a step's notices: `step|subject`; a reminder of the same step keys itself `step|subject|...`."""
    return f"{step}|{subject}"


async def waits(session: AsyncSession, step: str, subject: object, user_ids: list[int], title: str, body: str, link: str, *, round_: object = None) -> int:
    """`subject` waits on `user_ids` at `step`: tell them (once; a new `round_`, such as a fix reported again after a
    rejection, tells them again). Returns how many were told."""
    key = step_key(step, subject) + (f"|{round_}" if round_ is not None else "")
    return await notify(session, key, user_ids, title, body, link)


async def done(session: AsyncSession, step: str, subject: object) -> int:
    """`subject` no longer waits at `step` (whoever did it): its notices and reminders are settled for everyone told."""
    return await settle(session, step_key(step, subject))
