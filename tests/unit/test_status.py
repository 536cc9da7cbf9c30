"""The contract's status machine and status texts."""

import itertools

from simrelay.sms.status import STATUS_TEXT, Status, can_move, statuses_matching


def test_only_the_contract_moves_and_server_failures_are_allowed() -> None:
    # (0, 3): expired, opted out or out of attempts before a device took it (issue 3).
    allowed = {(0, 1), (1, 2), (1, 3), (2, 4), (2, 5), (1, 0), (0, 3)}
    for old, new in itertools.product(Status, Status):
        assert can_move(old, new) == ((int(old), int(new)) in allowed), (old, new)


def test_status_texts_are_the_documented_strings() -> None:
    assert [STATUS_TEXT[s] for s in Status] == [
        "Ждет обработки",
        "Взято в обработку",
        "Отправлено",
        "Ошибка отправки",
        "Доставлено",
        "Ошибка доставки",
    ]


def test_search_over_status_text_is_case_insensitive_substring() -> None:
    assert statuses_matching("доставлено".casefold()) == [Status.DELIVERED]
    assert statuses_matching("ДОСТАВ".casefold()) == [Status.DELIVERED, Status.NOT_DELIVERED]
    assert statuses_matching("ошибка") == [Status.SEND_FAILED, Status.NOT_DELIVERED]
    assert statuses_matching("hello") == []
