"""The publishers that hear of every published moment of the community-service pipeline (community/records.py):
subscribed once per process by each entry point that runs use cases (the app, the scheduler, the demo loader)."""

from __future__ import annotations

from community.evaluation.service import listen as listen_evaluation
from community.ocds.service import subscribe_publisher as subscribe_ocds


def subscribe_all() -> None:
    subscribe_ocds()
    listen_evaluation()
