"""The wristbands' pure rules and the channels' signing and back-off."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from community.wristbands import rules
from community.wristbands.rules import AlertState
from foundation.channels import DispatchSettings, Payload, backoff, signature, wecom_body
from foundation.settings import config_dir


def test_tokens_are_unguessable_and_found_again_in_a_scanned_address() -> None:
    tokens = {rules.new_token() for _ in range(1000)}
    assert len(tokens) == 1000 and all(len(t) == 22 for t in tokens)
    token = next(iter(tokens))
    assert rules.token_in(f"https://supervision.example/b/{token}") == token and rules.token_in(token) == token
    assert rules.token_in("XBL01-7KQ2M9") is None and rules.token_in("https://x/b/short") is None
    assert rules.token_digest(token) != token and len(rules.token_digest(token)) == 64


def test_short_codes_are_read_out_without_ambiguous_letters() -> None:
    code = rules.new_short_code("XBL01")
    assert code.startswith("XBL01-") and len(code) == 12 and not set(code[6:]) & set("01IO")


def test_phones_are_mainland_mobiles_or_landlines() -> None:
    assert rules.normal_phone("139 1234 5678") == "13912345678"
    assert rules.normal_phone("022-23300101") == "022-23300101"
    assert rules.normal_phone("1391234567X") is None and rules.normal_phone("12345678901") is None


def test_an_alert_only_moves_forward() -> None:
    assert rules.next_alert_state(AlertState.RAISED, AlertState.ACKNOWLEDGED)
    assert rules.next_alert_state(AlertState.RAISED, AlertState.FOUND)
    assert not rules.next_alert_state(AlertState.FOUND, AlertState.ACKNOWLEDGED)
    assert not rules.next_alert_state(AlertState.ACKNOWLEDGED, AlertState.ACKNOWLEDGED)


def test_the_shipped_rules_parse_and_name_the_pilot_offices() -> None:
    parsed = rules.parse_wristband_rules((config_dir() / "wristbands.toml").read_text(encoding="utf-8"))
    assert parsed.max_guardians == 3 and parsed.office_phone("XBL01") != parsed.office_phone("NOPE") == parsed.office_phones["default"]


def test_a_webhook_signature_is_the_hmac_of_timestamp_and_body() -> None:
    body = b'{"id": "x"}'
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("k", "1700000000", body) == f"sha256={expected}"
    assert signature("k", "1700000001", body) != signature("k", "1700000000", body)


def test_retries_back_off_doubling() -> None:
    settings = DispatchSettings(timeout_seconds=5, max_attempts=5, backoff_seconds=30)
    assert [backoff(settings, n) for n in (1, 2, 3, 4)] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]


def test_the_wecom_message_is_markdown_with_the_facts_and_the_link() -> None:
    body = wecom_body(Payload("爱洒回家路求助提醒", "有老人需要帮助", "https://x/wristbands/alerts/1", facts=(("腕带编号", "XBL01-7KQ2M9"),)))
    assert b'"msgtype": "markdown"' in body and "XBL01-7KQ2M9".encode() in body and b"https://x/wristbands/alerts/1" in body
