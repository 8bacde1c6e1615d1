import csv

import pytest
from hypothesis import given, strategies as st

from govcloud.tenants.codes import (
    corporate_number_check_digit,
    is_valid_corporate_number,
    is_valid_municipality_code,
    municipality_check_digit,
)
from tests.conftest import SHARED_DATA


@pytest.mark.parametrize("code", ["131016", "011002", "130001", "141003"])
def test_design_examples_are_valid(code):
    assert is_valid_municipality_code(code)


@pytest.mark.parametrize("code", ["131017", "011003", "13101", "1310160", "13101a"])
def test_wrong_codes_are_refused(code):
    assert not is_valid_municipality_code(code)


def test_every_code_of_the_national_list_checks():
    path = SHARED_DATA / "municipalities.csv"
    if not path.exists():
        pytest.skip("shared reference data not present")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == 1959
    assert all(is_valid_municipality_code(r["code"]) for r in rows)


@given(st.from_regex(r"[0-9]{5}", fullmatch=True))
def test_exactly_one_check_digit_per_code(first_five):
    valid = [d for d in "0123456789" if is_valid_municipality_code(first_five + d)]
    assert valid == [municipality_check_digit(first_five)]


@pytest.mark.parametrize("number", ["7000012050002", "1180301018771"])  # 国税庁, トヨタ自動車
def test_real_corporate_numbers(number):
    assert is_valid_corporate_number(number)


@given(st.from_regex(r"[0-9]{12}", fullmatch=True), st.integers(1, 9))
def test_corporate_number_single_digit_error_is_caught(base, delta):
    good = corporate_number_check_digit(base) + base
    assert is_valid_corporate_number(good)
    bad = str((int(good[0]) + delta) % 10) + base
    assert not is_valid_corporate_number(bad)
