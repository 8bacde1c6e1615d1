"""The dev cloud's account ids: a pure function of the e-mail address (see live/devserver.py)."""

from hypothesis import given, strategies as st

from govcloud.live.devserver import MANAGEMENT_ACCOUNT_ID, stable_account_id


def test_same_email_same_id_and_twelve_digits():
    first = stable_account_id("aws+131016-juki-prod@gc.example.lg.jp")
    assert first == stable_account_id("aws+131016-juki-prod@gc.example.lg.jp")
    assert first == stable_account_id(" AWS+131016-juki-prod@GC.example.lg.jp ")   # addresses are case-insensitive
    assert len(first) == 12 and first.isdigit()
    assert first != stable_account_id("aws+131016-juki-staging@gc.example.lg.jp")


@given(st.lists(st.emails(), min_size=1, max_size=30, unique_by=str.lower))
def test_ids_never_collide_with_each_other_or_the_management_account(emails):
    taken: set[str] = set()
    for email in emails:
        account = stable_account_id(email, taken)
        assert account not in taken and account != MANAGEMENT_ACCOUNT_ID and len(account) == 12
        taken.add(account)


def test_a_taken_id_moves_on_deterministically():
    first = stable_account_id("a@example.jp")
    second = stable_account_id("a@example.jp", {first})
    assert second != first and second == stable_account_id("a@example.jp", {first})
