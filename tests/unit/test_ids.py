"""ObjectIDs: shape, time prefix, uniqueness, validation."""

import time

from simrelay.ids import is_object_id, new_object_id, object_id_floor


def test_new_ids_are_24_lowercase_hex_and_unique() -> None:
    ids = [new_object_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 24 and i == i.lower() and is_object_id(i) for i in ids)


def test_id_starts_with_the_unix_time() -> None:
    before = int(time.time())
    stamp = int(new_object_id()[:8], 16)
    assert before <= stamp <= int(time.time())


def test_ids_of_one_process_sort_in_creation_order() -> None:
    ids = [new_object_id() for _ in range(1000)]
    assert ids == sorted(ids)


def test_validation_accepts_upper_case_and_refuses_other_shapes() -> None:
    assert is_object_id("6654A4E8F1527149588C89F2")
    for bad in (
        "",
        "6654a4e8f1527149588c89f",
        "6654a4e8f1527149588c89f2a",
        "6654a4e8f1527149588c89fz",
        "6654a4e8f1527149588c89f2\n",
    ):
        assert not is_object_id(bad)


def test_the_floor_of_a_moment_sorts_between_the_ids_of_the_second_before_and_of_it() -> None:
    now = time.time()
    made = new_object_id()
    assert object_id_floor(now - 1) <= made
    assert object_id_floor(now + 2) > made
    assert is_object_id(object_id_floor(now)) and object_id_floor(-5) == "0" * 24
