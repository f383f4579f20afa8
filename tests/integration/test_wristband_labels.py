"""The label sheet: a PDF with the issued documents' verifiable footer, whose every QR code decodes (zbarimg) to the
finder's address of its own label, and whose labels are not yet in use until bound."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.integration.helpers import pdf_text
from tests.integration.test_issued_documents import one_digit_changed, verify
from tests.integration.test_pages import page_login
from tests.integration.test_role_pages import csrf


async def test_every_qr_on_the_label_sheet_decodes_to_its_finder_address(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    await page_login(client, "xbl01-care")
    printed = await client.post("/wristbands/sheets", data={"_csrf_token": await csrf(client), "count": "30"})
    assert printed.status_code == 200 and printed.headers["content-type"] == "application/pdf", printed.text[:300]
    text = pdf_text(printed.content)
    codes = [word for word in text.split() if word.startswith("XBL01-") and len(word) == 12]
    assert len(codes) == 30 and "第 1 页 / 共 2 页" in text and "爱洒回家路" in text
    genuine = await verify(client, printed.content)
    assert genuine["genuine"] and genuine["issuer"] == "社区居委会"
    assert await verify(client, one_digit_changed(printed.content)) == {"genuine": False}
    (tmp_path / "labels.pdf").write_bytes(printed.content)
    subprocess.run(["pdftoppm", "-png", "-r", "300", str(tmp_path / "labels.pdf"), str(tmp_path / "page")], check=True, capture_output=True)
    scanned: list[str] = []
    for image in sorted(tmp_path.glob("page*.png")):
        found = subprocess.run(["zbarimg", "--quiet", "--raw", str(image)], capture_output=True, text=True)
        scanned += found.stdout.split()
    finder = [s for s in scanned if "/b/" in s]
    verification = [s for s in scanned if "/verify/" in s]
    assert len(finder) == 30 and len(set(finder)) == 30, scanned
    assert verification and all(v.endswith(f"/verify/{genuine['code']}") for v in verification)
    client.cookies.clear()
    for url in finder:
        page = await client.get(url[url.index("/b/"):])
        assert page.status_code == 200 and "此腕带尚未启用" in page.text, url
