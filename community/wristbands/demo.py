"""The wristband pilot (爱洒回家路) in the demo district, registered through the same use cases as the elderly-care
social workers use: 树德里 and 长春道 register their elders with consent and guardians, bind 615 bands in all (a few
replaced after a loss, so issued counts the revoked ones too), keep a few printed labels in hand, send guardians'
texts through the recording SMS provider, and one elder who wandered off in 树德里 was found through the band."""

from __future__ import annotations

import io
import random
import secrets
from datetime import timedelta

from reportlab.pdfgen import canvas
from sqlalchemy.ext.asyncio import AsyncSession

from community.wristbands import schemas, service
from community.wristbands.rules import RELATIONS, LabelState, token_digest
from community.wristbands.tables import WristbandElder, WristbandGuardian
from foundation.access import Principal
from foundation.audit import record_change
from foundation.channels import ChannelKind, Topic, add_channel
from foundation.clock import business_today, utc_now
from foundation.sealing import Sealer
from foundation.settings import get_settings
from foundation.storage import BlobStore, open_blob_store
from people.queries import principal_named
from registry import queries as registry_queries

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
ELDER_GIVEN = ["淑珍", "桂兰", "秀英", "玉兰", "凤英", "德顺", "宝山", "振华", "永福", "国庆", "文斌", "长林"]
GIVEN = ["丽华", "建军", "淑敏", "志刚", "海燕", "春生", "雅琴", "德明", "晓梅", "国强", "秀兰", "立军"]
# The pilot's figure: 615 bands issued in the two communities (config/RULES.md, "The wristbands").
PILOT = {"XBL01": (315, 5), "XBL02": (290, 5)}  # community: elders registered, bands replaced after a loss
SPARE_LABELS = 30
VISITS = 3  # home visits entered through the use cases one by one


def _consent_form() -> bytes:
    """A one-page PDF standing for the consent form signed on paper and scanned (uploads are judged by content)."""
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, invariant=True)
    sheet.drawString(72, 720, "demo consent form (signed on paper, scanned)")
    sheet.save()
    return buffer.getvalue()


CONSENT_FORM = _consent_form()


def _elder(rng: random.Random) -> schemas.ElderIn:
    guardians = [
        schemas.GuardianIn(name=rng.choice(SURNAMES) + rng.choice(GIVEN), phone=f"13{rng.randint(5, 9)}{rng.randint(10_000_000, 99_999_999)}", relation=rng.choice(RELATIONS[:4]))
        for _ in range(rng.choice([1, 2, 2, 3]))
    ]
    return schemas.ElderIn(
        name=rng.choice(SURNAMES) + rng.choice(ELDER_GIVEN), consent_by=rng.choice(["elder", "guardian", "guardian"]),
        consent_on=business_today() - timedelta(days=rng.randint(0, 80)), guardians=guardians, care_notes=rng.choice(["", "", "需按时服药", "听力较弱，请大声说话", "喜欢去附近公园"]),
    )


async def load(db: AsyncSession, rng: random.Random) -> None:
    seal = service.sealer()
    store = open_blob_store(get_settings())  # the system's store, as the pages use
    for code, (elders, replaced) in PILOT.items():
        worker = await principal_named(db, f"{code.lower()}-care")
        if worker is None:
            continue
        labels: list[service.MadeLabel] = []
        while len(labels) < elders + replaced + SPARE_LABELS:
            labels += await service.make_labels(db, worker, min(service.wristband_rules().max_labels_per_print, elders + replaced + SPARE_LABELS - len(labels)))
        # A few home visits through the use cases, step by step; the rest of the pilot's register in bulk (the same
        # rows, sealed the same way), so the demo loads in a moment.
        visited = [await service.register_elder(db, worker, seal, store, _elder(rng), CONSENT_FORM) for _ in range(VISITS)]
        for registered, label in zip(visited, labels, strict=False):
            await service.bind_label(db, worker, registered.elder.id, label.label.short_code)
        await service.replace_label(db, worker, visited[-1].elder.id, labels[elders].label.short_code, "lost")
        bulk = await _register_in_bulk(db, worker, seal, store, rng, elders - VISITS, labels[VISITS:elders])
        for elder_id, label in zip(rng.sample(bulk, replaced - 1), labels[elders + 1 : elders + replaced], strict=True):
            await service.replace_label(db, worker, elder_id, label.label.short_code, "lost")
        if code == "XBL01":
            await _found_once(db, worker, visited[0].elder.id, labels[0].token, f"demo-{rng.getrandbits(64):016x}")
        await add_channel(db, seal, community_id=worker.community_id, kind=ChannelKind.SMS, name="监护人短信（演示：只记录不发送）", target="", secret="", topics=[Topic.WRISTBAND_ALERT], created_by=worker.label)


async def _register_in_bulk(db: AsyncSession, worker: Principal, seal: Sealer, store: BlobStore, rng: random.Random, count: int, labels: list[service.MadeLabel]) -> list[int]:
    """The pilot's paper register entered at once: elders, guardians and their bound bands."""
    now = utc_now()
    community = await registry_queries.community(db, worker.community_id)
    assert community is not None
    consent = await service.put_sealed(store, seal, CONSENT_FORM)
    elders = []
    for _ in range(count):
        data = _elder(rng)
        elders.append((data, WristbandElder(
            community_id=community.id, street_id=community.street_id, name_sealed=seal.seal(data.name), care_notes_sealed=seal.seal(data.care_notes) if data.care_notes else "",
            consent_by=data.consent_by, consent_on=data.consent_on, consent_form_sha256=consent, registered_by=worker.label, registered_at=now,
        )))
    db.add_all(e for _, e in elders)
    await db.flush()
    db.add_all(
        WristbandGuardian(elder_id=e.id, position=n, name_sealed=seal.seal(g.name), phone_sealed=seal.seal(g.phone), phone_tail=g.phone[-4:], relation=g.relation, link_digest=token_digest(link), link_sealed=seal.seal(link))
        for data, e in elders for n, g in enumerate(data.guardians, start=1) for link in [secrets.token_urlsafe(16)]
    )
    for (_, elder), made in zip(elders, labels, strict=True):
        made.label.state, made.label.elder_id, made.label.bound_at, made.label.bound_by = LabelState.BOUND, elder.id, now, worker.label
    await db.flush()
    record_change(db, worker, "wristband.register_entered", "community", community.id, after={"elders": count, "bands": len(labels)})
    return [e.id for _, e in elders]


async def _found_once(db: AsyncSession, worker: Principal, elder_id: int, token: str, client_id: str) -> None:
    label = await service.active_label(db, elder_id)
    if label is None or label.token_digest != token_digest(token):
        return
    await service.log_scan(db, token)
    raised = await service.raise_alert(db, service.sealer(), token, schemas.AlertIn(client_id=client_id, message="老人在南京路公交站，说找不到家了", latitude=39.1189, longitude=117.2006, accuracy_m=25))
    await service.acknowledge(db, worker, raised.alert.id)
    await service.mark_found(db, worker, raised.alert.id, "社工陪同老人回家")
