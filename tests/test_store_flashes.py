"""How a store keeps flash messages in a session's hash (cookie_session._store_flashes): a field
per message, put together as the session's one ``_cs.flashes`` list when loaded, and split again
when saved so that a message keeps its field for as long as it waits. (Through Redis and
concurrent requests: tests/store/test_store_flash.py.)"""

from __future__ import annotations

import json

from cookie_session._store_flashes import FLASH_FIELD_PREFIX, flash_fields, session_fields
from cookie_session.codec import encode_json_value
from cookie_session.flash import FLASHES_KEY

USER = {"user": '"ada"'}


def field(tag: str) -> str:
    return FLASH_FIELD_PREFIX + tag


def pair(category: str, message: str) -> str:
    return encode_json_value([category, message])


def flashes(*pairs: tuple[str, str]) -> str:
    return encode_json_value([list(each) for each in pairs])


def test_a_hash_without_message_fields_is_the_session_itself() -> None:
    fields = {**USER, "cart": "[1]"}

    session, entries = session_fields(fields)

    assert session is fields
    assert entries == []


def test_message_fields_are_read_in_tag_order_as_one_list() -> None:
    fields = {field("02"): pair("b", "second"), **USER, field("01"): pair("a", "first")}

    session, entries = session_fields(fields)

    assert session == {**USER, FLASHES_KEY: flashes(("a", "first"), ("b", "second"))}
    assert entries == [(field("01"), pair("a", "first")), (field("02"), pair("b", "second"))]
    assert fields[field("01")] == pair("a", "first")  # the loaded hash itself is left whole


def test_a_list_field_s_messages_come_before_the_message_fields() -> None:
    fields = {FLASHES_KEY: flashes(("old", "older")), field("01"): pair("new", "newer")}

    session, _ = session_fields(fields)

    assert json.loads(session[FLASHES_KEY]) == [["old", "older"], ["new", "newer"]]


def test_a_list_field_that_is_no_list_gives_way_to_the_message_fields() -> None:
    fields = {FLASHES_KEY: '"not a list"', field("01"): pair("new", "newer")}

    session, _ = session_fields(fields)

    assert json.loads(session[FLASHES_KEY]) == [["new", "newer"]]


def test_a_waiting_message_keeps_its_field_and_a_new_one_gets_a_later_one() -> None:
    loaded = [(field("01"), pair("a", "first"))]
    fields = {**USER, FLASHES_KEY: flashes(("a", "first"), ("b", "second"), ("c", "third"))}

    flash_fields(fields, loaded)

    assert FLASHES_KEY not in fields
    assert fields[field("01")] == pair("a", "first")
    new = sorted(name for name in fields if name.startswith(FLASH_FIELD_PREFIX))[1:]
    assert [fields[name] for name in new] == [pair("b", "second"), pair("c", "third")]
    assert all(name > field("01") for name in new)  # a tag of now sorts after the test's "01"
    assert fields["user"] == USER["user"]


def test_popped_messages_lose_their_fields_and_the_others_keep_theirs() -> None:
    loaded = [
        (field("01"), pair("error", "one")),
        (field("02"), pair("info", "two")),
        (field("03"), pair("error", "three")),
    ]
    fields = {FLASHES_KEY: flashes(("info", "two"))}  # pop_flashes(session, "error")

    flash_fields(fields, loaded)

    assert fields == {field("02"): pair("info", "two")}


def test_the_same_message_twice_is_matched_once_each_in_order() -> None:
    loaded = [(field("01"), pair("a", "same")), (field("02"), pair("a", "same"))]
    fields = {FLASHES_KEY: flashes(("a", "same"), ("a", "same"), ("a", "same"))}

    flash_fields(fields, loaded)

    names = sorted(fields)
    assert names[:2] == [field("01"), field("02")]
    assert len(names) == 3  # the third is new: a field of its own
    assert all(fields[name] == pair("a", "same") for name in names)


def test_new_messages_of_one_save_get_distinct_fields_in_their_order() -> None:
    messages = [("m", str(number)) for number in range(20)]
    fields = {FLASHES_KEY: flashes(*messages)}

    flash_fields(fields, [])

    assert [json.loads(fields[name]) for name in sorted(fields)] == [list(m) for m in messages]


def test_a_flashes_value_that_is_no_list_is_saved_as_it_is() -> None:
    fields = {FLASHES_KEY: '"not a list"'}

    flash_fields(fields, [(field("01"), pair("a", "first"))])

    assert fields == {FLASHES_KEY: '"not a list"'}


def test_a_session_with_no_flashes_gets_no_message_field() -> None:
    fields = dict(USER)

    flash_fields(fields, [(field("01"), pair("a", "first"))])

    assert fields == USER  # the loaded message field is left out: the save deletes it
