"""Check digits of Japanese public identifiers."""

from __future__ import annotations


def municipality_check_digit(first_five: str) -> str:
    """JIS X 0402: weights 6,5,4,3,2 on digits 1-5, r = sum mod 11, check = (11 - r) mod 10."""
    if len(first_five) != 5 or not first_five.isdigit():
        raise ValueError(f"need 5 digits, got {first_five!r}")
    remainder = sum(int(d) * w for d, w in zip(first_five, (6, 5, 4, 3, 2))) % 11
    return str((11 - remainder) % 10)


def is_valid_municipality_code(code: str) -> bool:
    return len(code) == 6 and code.isdigit() and municipality_check_digit(code[:5]) == code[5]


def corporate_number_check_digit(base12: str) -> str:
    """法人番号 (National Tax Agency): the leading digit checks the 12 that follow.
    check = 9 - (Σ Pn × Qn mod 9), Pn the n-th digit counted from the right, Qn = 1 (n odd) or 2 (n even)."""
    if len(base12) != 12 or not base12.isdigit():
        raise ValueError(f"need 12 digits, got {base12!r}")
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base12), start=1))
    return str(9 - total % 9)


def is_valid_corporate_number(number: str) -> bool:
    return len(number) == 13 and number.isdigit() and corporate_number_check_digit(number[1:]) == number[0]
