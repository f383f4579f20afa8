"""The locust users of bench/city_morning.py (read its docstring): a city morning on the served system. Social
workers file their morning patrols, some with a photo of what failed; street officers open the month table page,
an estate's score breakdown and the record list; inspectors file the spot checks drawn for their firm this month;
finance downloads an issued batch's pack (summary PDF, treasury spreadsheet, a payment notice).
Every answer other than the expected one counts as a failure named by its status ("HTTP 503"), so 5xx are counted.

Run by bench/city_morning.py; on its own: locust -f bench/city_morning_locust.py --headless --host http://127.0.0.1:8000"""

from __future__ import annotations

import itertools
import os
import random
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from gevent.lock import Semaphore
from locust import HttpUser, between, task
from locust.exception import StopUser

PASSWORD = os.environ.get("BENCH_PASSWORD", "demo-pass-2026")
ITEMS = ("M01", "C01", "C02", "G01", "G02", "P01", "O01")
DISTRICT: dict[str, Any] = {}
_NUMBERS = itertools.count()


_LOADING = Semaphore()


def district(base: str) -> dict[str, Any]:
    """Who files where (every community's estates, last month's scored estates), read once by the first user to
    start while the others wait (users start while test_start listeners still run, so it is not one of those)."""
    with _LOADING:
        if not DISTRICT:
            load_district(base)
    return DISTRICT


def load_district(base: str) -> None:
    token = requests.post(f"{base}/api/auth/login", json={"username": "admin", "password": PASSWORD}, timeout=60).json()["token"]
    admin = {"Authorization": f"Bearer {token}"}
    communities = requests.get(f"{base}/api/registry/communities?page_size=200", headers=admin, timeout=60).json()["items"]
    estates_of: dict[int, list[int]] = defaultdict(list)
    page = 1
    while True:
        answer = requests.get(f"{base}/api/registry/estates?page_size=200&page={page}", headers=admin, timeout=60).json()
        for estate in answer["items"]:
            estates_of[estate["community_id"]].append(estate["id"])
        if page * 200 >= answer["total"]:
            break
        page += 1
    today = datetime.now(UTC) + timedelta(hours=8)
    previous = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    xbl = [c for c in communities if c["code"].lower().startswith("xbl")]
    DISTRICT.update(
        communities=[(c["code"].lower(), estates_of[c["id"]]) for c in communities if estates_of[c["id"]]],
        scored=[e for c in xbl for e in estates_of[c["id"]]],
        previous=previous,
        photo=Path(os.environ["BENCH_PHOTO"]).read_bytes(),  # a phone-sized JPEG the driver made
    )


class Citizen(HttpUser):
    abstract = True
    wait_time = between(0.1, 0.5)  # people at work: a short pause between one request and the next

    def login(self, username: str) -> None:
        """Log in as a phone does: told to wait (429, the login throttle), wait as told and try again, up to three
        times; a user left without a login sends no requests that would only be refused."""
        district(self.host)
        self.headers: dict[str, str] = {}
        for _ in range(3):
            with self.client.post("/api/auth/login", json={"username": username, "password": PASSWORD}, name="login", catch_response=True) as answer:
                if answer.status_code == 200:
                    self.headers = {"Authorization": f"Bearer {answer.json()['token']}"}
                    return
                answer.failure(f"HTTP {answer.status_code}")
                if answer.status_code != 429:
                    break
                wait = min(30.0, float(answer.headers.get("Retry-After") or 5))
            time.sleep(wait)
        raise StopUser

    def expect(self, method: str, path: str, name: str, status: int, **kwargs: Any) -> Any:
        with self.client.request(method, path, name=name, headers=self.headers, catch_response=True, **kwargs) as answer:
            if answer.status_code != status:
                answer.failure(f"HTTP {answer.status_code}")
                return None
            answer.success()
            return answer


class SocialWorker(Citizen):
    """A community's property social worker on the morning round (11 of every 19 users)."""

    weight = 11

    def on_start(self) -> None:
        self.rng = random.Random()
        communities = district(self.host)["communities"]
        code, self.estates = communities[next(_NUMBERS) % len(communities)]
        self.login(f"{code}-worker")

    def patrol(self, results: list[dict[str, Any]], name: str) -> None:
        body = {
            "client_id": str(uuid.uuid4()),
            "estate_id": self.rng.choice(self.estates),
            "inspected_at": (datetime.now(UTC) - timedelta(minutes=self.rng.randrange(1, 120))).isoformat(),
            "results": results,
            "note": "日常巡查",
        }
        self.expect("POST", "/api/patrols", name, 201, json=body)

    @task(2)
    def file_patrol(self) -> None:
        self.patrol([{"item": code, "passed": True} for code in ITEMS], "patrol")

    @task(1)
    def file_patrol_with_photo(self) -> None:
        photo = DISTRICT["photo"]
        comment = uuid.uuid4().hex.encode()  # a comment segment: every upload a photo of its own
        distinct = photo[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + photo[2:]
        uploaded = self.expect("POST", "/api/attachments", "photo upload", 201, files={"file": ("photo.jpg", distinct, "image/jpeg")})
        if uploaded is None:
            return
        results: list[dict[str, Any]] = [{"item": code, "passed": True} for code in ITEMS]
        results[3] = {"item": "G01", "passed": False, "note": "楼道堆物", "defects": 1, "photo_ids": [uploaded.json()["id"]]}
        self.patrol(results, "patrol with a photo")


class StreetOfficer(Citizen):
    """A street's property specialist at the desk: the month table, breakdowns, the records (5 of every 19)."""

    weight = 5

    # The street with last month's evidence; several accounts, as a street has several people at the desk (the login
    # throttle answers 429 to more than five logins of one account at the same moment, by design).
    READERS = ("xbl-officer", "xbl-worker1", "xbl-worker2")

    def on_start(self) -> None:
        self.rng = random.Random()
        username = self.READERS[next(_NUMBERS) % len(self.READERS)]
        self.login(username)
        form = self.client.get("/login", name="login page")
        start = form.text.find('name="_csrf_token" value="')
        token = form.text[start + 26 : form.text.find('"', start + 26)]
        self.client.post("/login", data={"username": username, "password": PASSWORD, "_csrf_token": token}, name="login", allow_redirects=False)

    @task(2)
    def month_table(self) -> None:
        self.expect("GET", f"/assessment?month={DISTRICT['previous']}", "month table page", 200)

    @task(2)
    def breakdown(self) -> None:
        estate = self.rng.choice(DISTRICT["scored"])
        self.expect("GET", f"/api/assessment/scores/{estate}/{DISTRICT['previous']}", "score breakdown", 200)

    @task(1)
    def records(self) -> None:
        self.expect("GET", "/api/inspections?page_size=50", "record list", 200)


class Inspector(Citizen):
    """A third-party firm's inspector filing this month's drawn spot checks, then reading the assignments (1 of 19)."""

    weight = 1

    def on_start(self) -> None:
        self.login(f"inspector{1 + next(_NUMBERS) % 3}")
        self.waiting: list[int] = []
        listed = self.expect("GET", "/api/spot-checks/assignments?page_size=200", "spot-check assignments", 200)
        if listed is not None:
            items = listed.json()
            items = items["items"] if isinstance(items, dict) else items
            self.waiting = [a["estate_id"] for a in items if a["filed_record_id"] is None]
            random.shuffle(self.waiting)

    @task
    def spot_check(self) -> None:
        if not self.waiting:
            self.expect("GET", "/api/spot-checks/assignments?page_size=200", "spot-check assignments", 200)
            return
        estate = self.waiting.pop()
        body = {
            "client_id": str(uuid.uuid4()),
            "estate_id": estate,
            "inspected_at": (datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
            "results": [{"item": code, "passed": True} for code in ITEMS],
            "note": "暗访",
        }
        with self.client.post("/api/spot-checks", json=body, name="spot check", headers=self.headers, catch_response=True) as answer:
            # Another inspector of the same firm may have filed this assignment first: 409 is the system being right.
            if answer.status_code in (201, 409):
                answer.success()
            else:
                answer.failure(f"HTTP {answer.status_code}")


class Finance(Citizen):
    """District finance downloading the pack of an issued batch, as it was issued (1 of every 19 users). The batches
    (BENCH_PACKS, "batch:payee_kind:payee_id,...") are the driver's: it made their documents before the load."""

    weight = 1

    def on_start(self) -> None:
        self.rng = random.Random()
        self.batches = [(int(b), kind, int(payee)) for b, kind, payee in (part.split(":") for part in os.environ["BENCH_PACKS"].split(","))]
        self.login(("finance", "finance2")[next(_NUMBERS) % 2])

    @task
    def pack(self) -> None:
        batch, kind, payee = self.rng.choice(self.batches)
        self.expect("GET", f"/api/programmes/batches/{batch}/summary.pdf", "pack summary", 200)
        self.expect("GET", f"/api/programmes/batches/{batch}/lines.xlsx", "pack lines", 200)
        self.expect("GET", f"/api/programmes/batches/{batch}/notices/{kind}/{payee}", "pack notice", 200)
