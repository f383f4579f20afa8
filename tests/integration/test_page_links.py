"""No page sends its reader to a door that is shut to them: every link a role's pages show (the menu, the to-do
list, the links on the pages those lead to) opens for that role. A link to a refusal is a page that lies about what
its reader may do (a committee director's volunteer desk once linked the hours queue, which only social workers use).

The files a page links (receipts, supporting documents, bids' and evaluations' files, photos, PDFs) open too, and
none is an API address: the API takes a bearer token or an API key, never the page's session cookie, so a browser
following such a link was answered an English 401 (the activity desk's receipts, the relief queue's documents, the
panel's bids, an evaluation's evidence once were)."""

from __future__ import annotations

import re
from collections import deque

import pytest

from tests.integration.test_pages import page_login

ROLES = (
    "admin", "finance", "xbl-officer", "xbl-worker1", "xbl01-director", "xbl03-director", "xbl01-worker", "company01", "inspector1",
    "xbl01-care", "xbl-care", "xbl01-vol1", "expert1", "evaluator1", "org01",
)
LINK = re.compile(r'<a [^>]*href="(/[^"#?]*)(?:\?[^"#]*)?"')
ADDRESS = re.compile(r'(?:href|src)="(/[^"#]*)"')  # anything a page links or loads: pages, files, images
FILES = ("/documents/", "/photos/")
FILE_ENDINGS = (".pdf", ".xlsx", ".csv", ".json", ".png")
# Not pages: files, the API, and what leaves the session.
SKIPPED = ("/api/", *FILES, "/static/", "/schema", "/logout", "/b/", "/g/", "/verify")


@pytest.mark.parametrize("username", ROLES)
async def test_every_link_a_role_is_shown_opens_for_that_role(client, username) -> None:
    await page_login(client, username)
    queue, seen, shut = deque([("/", "")]), {"/"}, []
    api_links: list[str] = []
    files: dict[str, str] = {}
    while queue and len(seen) < 120:
        path, found_on = queue.popleft()
        answer = await client.get(path)
        if answer.status_code in (401, 403):
            shut.append(f"{path} ({answer.status_code}, linked from {found_on})")
            continue
        assert answer.status_code < 500, (path, answer.status_code)
        if not answer.headers.get("content-type", "").startswith("text/html"):
            continue
        for address in ADDRESS.findall(answer.text):
            if address.startswith("/api/"):
                api_links.append(f"{address} (on {path})")
            elif address.startswith(FILES) or address.split("?")[0].endswith(FILE_ENDINGS):
                files.setdefault(address, path)
        if path.count("/") > 3:
            continue  # a record's own page: its links lead to more records, not to new doors
        for link in LINK.findall(answer.text):
            if link not in seen and not link.startswith(SKIPPED) and not link.endswith(FILE_ENDINGS):
                seen.add(link)
                queue.append((link, path))
    assert shut == [], f"{username} is shown links it may not open: {shut}"
    assert api_links == [], f"{username}'s pages link to the API, which their session cannot open: {api_links}"
    refused = []
    for address, found_on in files.items():
        answer = await client.get(address)
        if answer.status_code != 200:
            refused.append(f"{address} ({answer.status_code}, linked from {found_on})")
    assert refused == [], f"{username} is shown files it may not open: {refused}"
