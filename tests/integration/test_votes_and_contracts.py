"""Residents choose (居民选) and the community signs (社区签): votes with quorum and majority, contracts without overlap."""

from __future__ import annotations

from sqlalchemy import select

from foundation.audit import AuditEntry
from registry.tables import Ballot, ContractEstate, Estate, SelectionVote, ServiceContract
from tests.integration.helpers import assert_problem, community_id, count, estate_ids_of


async def add_estate(client, admin, community: int, code: str, households: int) -> int:
    response = await client.post(
        "/api/registry/estates",
        json={
            "code": code,
            "name": f"新区片{code}",
            "address": "和平区",
            "community_id": community,
            "floor_area_centi_m2": 500000,
            "management_mode": "company",
            "entered_on": "2026-01-01",
            "households": households,
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def open_vote(client, director, community: int, estates: list[int], candidates: list[int]) -> dict:
    response = await client.post(
        "/api/registry/votes",
        json={
            "community_id": community,
            "title": "物业服务企业选聘",
            "estate_ids": estates,
            "candidate_company_ids": candidates,
            "opens_on": "2026-11-01",
            "closes_on": "2026-11-15",
        },
        headers=director,
    )
    assert response.status_code == 201, response.text
    return response.json()


def ballots(choices: list[int | None], start: int = 0) -> dict:
    return {"ballots": [{"household": f"1-1-{start + i + 101}", "company_id": c} for i, c in enumerate(choices)]}


async def setup_vote(client, as_user, db, households: int = 30) -> tuple[dict, dict, list[int]]:
    """A new estate of 树德里 with `households` households, and an open vote on it between two companies."""
    admin, director = await as_user("admin"), await as_user("xbl01-director")
    shude = await community_id(db, "XBL01")
    estate = await add_estate(client, admin, shude, "HP-VOTE-1", households)
    vote = await open_vote(client, director, shude, [estate], [1, 2])
    return vote, director, [estate]


async def test_a_vote_with_quorum_and_majority_elects_and_the_committee_signs_with_the_winner(client, as_user, db) -> None:
    vote, director, estates = await setup_vote(client, as_user, db)
    assert vote["eligible_households"] == 30 and vote["status"] == "open"
    recorded = await client.post(f"/api/registry/votes/{vote['id']}/ballots", json=ballots([1] * 11 + [2] * 5 + [None] * 4), headers=director)
    assert recorded.json() == {"recorded": 20, "already_recorded": 0, "ballots_cast": 20, "eligible_households": 30}
    closed = (await client.post(f"/api/registry/votes/{vote['id']}/close", headers=director)).json()
    assert closed["outcome"] == "elected" and closed["winner_company_id"] == 1 and closed["turnout_percent"] == "66.67"
    assert {c["company_id"]: c["ballots_received"] for c in closed["candidates"]} == {1: 11, 2: 5}
    contract = await client.post(
        "/api/registry/contracts",
        json={"vote_id": vote["id"], "contract_number": "T-2026-1", "signed_on": "2026-11-20", "starts_on": "2026-11-21", "ends_on": "2029-11-20"},
        headers=director,
    )
    assert contract.status_code == 201, contract.text
    assert contract.json()["company_id"] == 1 and contract.json()["estate_ids"] == estates and contract.json()["state"] == "active"


async def test_a_vote_without_two_thirds_of_households_elects_nobody_and_no_contract_follows(client, as_user, db) -> None:
    vote, director, _ = await setup_vote(client, as_user, db)
    await client.post(f"/api/registry/votes/{vote['id']}/ballots", json=ballots([1] * 19), headers=director)
    closed = (await client.post(f"/api/registry/votes/{vote['id']}/close", headers=director)).json()
    assert closed["outcome"] == "failed_quorum" and closed["winner_company_id"] is None
    before = await count(db, ServiceContract)
    assert_problem(
        await client.post(
            "/api/registry/contracts",
            json={"vote_id": vote["id"], "contract_number": "T-2026-2", "signed_on": "2026-11-20", "starts_on": "2026-12-01", "ends_on": "2027-11-30"},
            headers=director,
        ),
        422,
        "failed_quorum",
    )
    assert await count(db, ServiceContract) == before


async def test_a_tie_is_an_explicit_outcome(client, as_user, db) -> None:
    vote, director, _ = await setup_vote(client, as_user, db)
    await client.post(f"/api/registry/votes/{vote['id']}/ballots", json=ballots([1] * 10 + [2] * 10), headers=director)
    assert (await client.post(f"/api/registry/votes/{vote['id']}/close", headers=director)).json()["outcome"] == "tie"


async def test_a_resent_ballot_batch_is_not_counted_twice_and_a_changed_vote_is_refused(client, as_user, db) -> None:
    vote, director, _ = await setup_vote(client, as_user, db)
    batch = ballots([1, 2, None])
    await client.post(f"/api/registry/votes/{vote['id']}/ballots", json=batch, headers=director)
    again = (await client.post(f"/api/registry/votes/{vote['id']}/ballots", json=batch, headers=director)).json()
    assert again["recorded"] == 0 and again["already_recorded"] == 3 and again["ballots_cast"] == 3
    changed = ballots([2, 2, None])
    assert_problem(await client.post(f"/api/registry/votes/{vote['id']}/ballots", json=changed, headers=director), 409, "1-1-101")
    assert await count(db, Ballot, Ballot.vote_id == vote["id"]) == 3


async def test_ballots_beyond_the_households_twice_in_a_batch_or_for_a_non_candidate_are_refused_whole(client, as_user, db) -> None:
    vote, director, _ = await setup_vote(client, as_user, db, households=3)
    url = f"/api/registry/votes/{vote['id']}/ballots"
    assert_problem(await client.post(url, json=ballots([1, 1, 1, 1]), headers=director), 422, "exceed")
    assert_problem(
        await client.post(url, json={"ballots": [{"household": "1", "company_id": 1}, {"household": "1", "company_id": 2}]}, headers=director),
        422,
        "twice",
    )
    assert_problem(await client.post(url, json=ballots([1, 7]), headers=director), 422, "not a candidate")
    assert_problem(await client.post(url, json={"ballots": [{"household": "1", "company_id": "1"}]}, headers=director), 400)
    assert await count(db, Ballot, Ballot.vote_id == vote["id"]) == 0


async def test_a_closed_vote_takes_no_more_ballots(client, as_user, db) -> None:
    vote, director, _ = await setup_vote(client, as_user, db)
    await client.post(f"/api/registry/votes/{vote['id']}/close", headers=director)
    assert_problem(await client.post(f"/api/registry/votes/{vote['id']}/ballots", json=ballots([1]), headers=director), 409, "closed")
    assert_problem(await client.post(f"/api/registry/votes/{vote['id']}/close", headers=director), 409)


async def test_only_the_communitys_own_director_runs_its_vote(client, as_user, db) -> None:
    vote, _, estates = await setup_vote(client, as_user, db)
    shude = await community_id(db, "XBL01")
    for username in ["xx01-director", "xbl01-worker", "xbl-officer", "admin", "company01"]:
        headers = await as_user(username)
        response = await client.post(f"/api/registry/votes/{vote['id']}/ballots", json=ballots([1]), headers=headers)
        assert response.status_code in (403, 404), response.text
        assert_problem(
            await client.post(
                "/api/registry/votes",
                json={"community_id": shude, "title": "越权选聘", "estate_ids": estates, "candidate_company_ids": [1],
                      "opens_on": "2026-11-01", "closes_on": "2026-11-02"},
                headers=headers,
            ),
            403,
        )
    assert await count(db, Ballot, Ballot.vote_id == vote["id"]) == 0


async def test_a_vote_only_covers_estates_of_its_community_that_are_not_in_another_open_vote(client, as_user, db) -> None:
    vote, director, estates = await setup_vote(client, as_user, db)
    shude = await community_id(db, "XBL01")
    body = {"community_id": shude, "title": "第二次选聘", "candidate_company_ids": [1], "opens_on": "2026-11-01", "closes_on": "2026-11-10"}
    assert_problem(await client.post("/api/registry/votes", json={**body, "estate_ids": estates}, headers=director), 409, "open vote")
    chaoyang_estate = (await estate_ids_of(db, "XX01"))[0]
    assert_problem(await client.post("/api/registry/votes", json={**body, "estate_ids": [chaoyang_estate]}, headers=director), 404)
    assert_problem(
        await client.post("/api/registry/votes", json={**body, "estate_ids": [estates[0], estates[0]]}, headers=director), 422, "twice"
    )
    assert_problem(
        await client.post("/api/registry/votes", json={**body, "closes_on": "2026-10-01", "estate_ids": estates}, headers=director), 422
    )


async def test_an_estate_cannot_have_two_contracts_in_force_on_one_day(client, as_user, db) -> None:
    director = await as_user("xbl01-director")
    shude_estates = await estate_ids_of(db, "XBL01")
    async with db() as session:
        vote_id = (
            await session.execute(select(SelectionVote.id).where(SelectionVote.outcome == "elected", SelectionVote.community_id == await community_id(db, "XBL01")))
        ).scalar_one()
    before = await count(db, ContractEstate)
    overlapping = await client.post(
        "/api/registry/contracts",
        json={"vote_id": vote_id, "contract_number": "T-OVERLAP", "signed_on": "2026-11-20", "starts_on": "2028-12-01", "ends_on": "2029-11-30"},
        headers=director,
    )
    assert_problem(overlapping, 409, "HPWY-2025-XBL01", "overlap")
    after_term = await client.post(
        "/api/registry/contracts",
        json={"vote_id": vote_id, "contract_number": "T-NEXT", "signed_on": "2028-11-20", "starts_on": "2029-01-01", "ends_on": "2031-12-31",
              "estate_ids": shude_estates[:1]},
        headers=director,
    )
    assert after_term.status_code == 201, after_term.text
    assert await count(db, ContractEstate) == before + 1


async def test_terminating_a_contract_keeps_the_reason_and_frees_the_estate_from_the_next_day(client, as_user, db) -> None:
    director = await as_user("xbl01-director")
    contract = (await client.get("/api/registry/contracts?community_id=" + str(await community_id(db, "XBL01")), headers=director)).json()["items"][0]
    url = f"/api/registry/contracts/{contract['id']}/terminate"
    assert_problem(await client.post(url, json={"terminated_on": "2030-01-01", "reason": "服务不达标"}, headers=director), 422, "within the term")
    assert_problem(await client.post(url, json={"terminated_on": "2026-06-30"}, headers=director), 400)
    assert_problem(await client.post(url, json={"terminated_on": "2026-06-30", "reason": "服务不达标"}, headers=await as_user("xx01-director")), 404)
    done = await client.post(url, json={"terminated_on": "2026-06-30", "reason": "一票否决两次，合同解除"}, headers=director)
    assert done.status_code == 200 and done.json()["state"] == "terminated"
    assert done.json()["termination_reason"] == "一票否决两次，合同解除"
    assert_problem(await client.post(url, json={"terminated_on": "2026-06-30", "reason": "再次"}, headers=director), 409, "already terminated")
    async with db() as session:
        entry = (await session.execute(select(AuditEntry).where(AuditEntry.action == "contract.terminated"))).scalars().one()
    assert entry.reason == "一票否决两次，合同解除" and entry.before["terminated_on"] is None
    estate = await client.get(f"/api/registry/estates/{contract['estate_ids'][0]}", headers=director)
    assert estate.json()["contract_id"] is None, "after its last day the contract is no longer in force"


async def test_a_contract_needs_the_estate_to_have_been_in_the_vote(client, as_user, db) -> None:
    vote, director, _ = await setup_vote(client, as_user, db)
    await client.post(f"/api/registry/votes/{vote['id']}/ballots", json=ballots([1] * 25), headers=director)
    await client.post(f"/api/registry/votes/{vote['id']}/close", headers=director)
    other_estate = (await estate_ids_of(db, "XBL01"))[0]
    assert_problem(
        await client.post(
            "/api/registry/contracts",
            json={"vote_id": vote["id"], "contract_number": "T-X", "signed_on": "2026-11-20", "starts_on": "2029-01-01", "ends_on": "2029-12-31",
                  "estate_ids": [other_estate]},
            headers=director,
        ),
        422,
        "not in vote",
    )
    assert await count(db, Estate) > 0
