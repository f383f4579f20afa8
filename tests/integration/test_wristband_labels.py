"""The label sheet: a PDF with the issued documents' verifiable footer, whose every QR code decodes (zbarimg) to the
finder's address of its own label, and whose labels are not yet in use until bound."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

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
    finder: list[str] = []
    verification: list[str] = []
    for image in sorted(tmp_path.glob("page*.png")):
        verification += [s for s in scan(image) if "/verify/" in s]  # the footer's code, read off the whole page
        for n, cell in enumerate(label_cells(Image.open(image))):
            # One label at a time, as a phone's camera sees a wristband: zbar alone reads every one of these, but
            # on a whole sheet of 24 alike codes it now and then misses one (its finder-pattern grouping; zbar #182).
            cell.save(tmp_path / f"{image.stem}-{n}.png")
            inside = scan(tmp_path / f"{image.stem}-{n}.png")
            assert len(inside) <= 1 and all("/b/" in s for s in inside), inside
            finder += inside
    assert len(finder) == 30 and len(set(finder)) == 30, finder
    assert verification and all(v.endswith(f"/verify/{genuine['code']}") for v in verification)
    client.cookies.clear()
    for url in finder:
        page = await client.get(url[url.index("/b/"):])
        assert page.status_code == 200 and "此腕带尚未启用" in page.text, url


def scan(image: Path) -> list[str]:
    return subprocess.run(["zbarimg", "--quiet", "--raw", str(image)], capture_output=True, text=True).stdout.split()


def label_cells(page: Image.Image) -> list[Image.Image]:
    """The cells of the sheet's grid, each cut inside its rules: found as the pixel rows (then columns) that hold no
    white pixel, which only a rule of the grid does."""
    gray = page.convert("L")
    width, height = gray.size
    rows = _rules(gray.crop((width // 10, y, width - width // 10, y + 1)) for y in range(height))
    if len(rows) < 2:
        return []
    columns = _rules(gray.crop((x, rows[0] + 2, x + 1, rows[-1] - 2)) for x in range(width))
    return [gray.crop((left + 3, top + 3, right - 2, bottom - 2)) for top, bottom in zip(rows, rows[1:]) for left, right in zip(columns, columns[1:])]


def _rules(strips: Iterable[Image.Image]) -> list[int]:
    dark = [n for n, strip in enumerate(strips) if strip.getextrema()[1] < 250]
    return [n for k, n in enumerate(dark) if k == 0 or n != dark[k - 1] + 1]
