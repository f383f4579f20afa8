"""The unified social credit code (GB 32100-2015) is checked, check character included."""

from hypothesis import given
from hypothesis import strategies as st

from registry.rules import CREDIT_CODE_ALPHABET, credit_code_check_char, credit_code_problem

# A published code (the State Council's General Office's example structure): check character computed by the standard.
KNOWN_VALID = "91350100M000100Y43"


def test_a_published_code_passes() -> None:
    assert credit_code_problem(KNOWN_VALID) is None


def test_a_changed_check_character_is_refused_and_the_right_one_named() -> None:
    wrong = KNOWN_VALID[:17] + ("4" if KNOWN_VALID[17] != "4" else "5")
    problem = credit_code_problem(wrong)
    assert problem is not None and f"require {KNOWN_VALID[17]}" in problem


def test_wrong_length_letters_and_division_code_are_refused() -> None:
    assert "18 characters" in (credit_code_problem("91350100M000100Y4") or "")
    assert "not allowed" in (credit_code_problem("91350100M000100YI3") or "")
    assert "division" in (credit_code_problem("91A50100M000100Y43") or "")


body = st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=9, max_size=9)


@given(prefix=st.sampled_from(["91", "52", "12"]), division=st.from_regex(r"\A[0-9]{6}\Z"), rest=body)
def test_every_code_with_its_check_character_passes_and_any_single_change_of_it_fails(prefix: str, division: str, rest: str) -> None:
    first17 = prefix + division + rest
    check = credit_code_check_char(first17)
    assert credit_code_problem(first17 + check) is None
    for other in CREDIT_CODE_ALPHABET:
        if other != check:
            assert credit_code_problem(first17 + other) is not None
