"""A flash message is one-shot text the system signed: a cookie someone altered or made up shows nothing."""

from __future__ import annotations

from foundation.web.flash import Flash, decode_flash, encode_flash


def test_a_signed_message_reads_back_and_an_altered_or_made_up_one_reads_as_none() -> None:
    signed = encode_flash("已维持该项一票否决。")
    assert decode_flash(signed) == Flash(level="success", text="已维持该项一票否决。")
    assert decode_flash(encode_flash("请先登录。", "error")) == Flash(level="error", text="请先登录。")
    body, _, signature = signed.rpartition(".")
    forged = encode_flash("您的账户已被冻结，请拨打电话").rpartition(".")[0]
    assert decode_flash(f"{forged}.{signature}") is None
    assert decode_flash(f"{body}.{'0' * len(signature)}") is None
    assert decode_flash("not-a-flash") is None and decode_flash(None) is None
