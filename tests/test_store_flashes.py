"""How a store keeps flash messages in a session's hash (cookie_session._store_flashes): a field
per message, put together as the session's one ``_cs.flashes`` list when loaded, and split again
when saved so that a message keeps its field for as long as it waits. (Through Redis and
concurrent requests: tests/store/test_store_flash.py.)"""

from __future__ import annotations

import json
import time

from cookie_session._store_flashes import (
    FLASH_FIELD_PREFIX,
    LoadedFlashes,
    flash_fields,
    session_fields,
)
from cookie_session.codec import encode_json_value
from cookie_session.flash import FLASHES_KEY

USER = {"user": '"ada"'}


def field(tag: str) -> str:
    return FLASH_FIELD_PREFIX + tag


def pair(category: str, message: str) -> str:
    return encode_json_value([category, message])


def flashes(*pairs: tuple[str, str]) -> str:
    return encode_json_value([list(each) for each in pairs])


def loaded(*entries: tuple[str, str]) -> LoadedFlashes:
    """What a load of these message fields (and no ``_cs.flashes`` field) found."""
    return LoadedFlashes(list(entries), None, [json.loads(text) for _, text in entries])


def test_a_hash_without_messages_is_the_session_itself() -> None:
    fields = {**USER, "cart": "[1]"}

    session, found = session_fields(fields)

    assert session is fields
    assert found is None


def test_message_fields_are_read_in_tag_order_as_one_list() -> None:
    fields = {field("02"): pair("b", "second"), **USER, field("01"): pair("a", "first")}

    session, found = session_fields(fields)

    assert session == {**USER, FLASHES_KEY: flashes(("a", "first"), ("b", "second"))}
    assert found == loaded((field("01"), pair("a", "first")), (field("02"), pair("b", "second")))
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
    fields = {**USER, FLASHES_KEY: flashes(("a", "first"), ("b", "second"), ("c", "third"))}

    flash_fields(fields, loaded((field("01"), pair("a", "first"))))

    assert FLASHES_KEY not in fields
    assert fields[field("01")] == pair("a", "first")
    new = sorted(name for name in fields if name.startswith(FLASH_FIELD_PREFIX))[1:]
    assert [fields[name] for name in new] == [pair("b", "second"), pair("c", "third")]
    assert all(name > field("01") for name in new)  # a tag of now sorts after the test's "01"
    assert fields["user"] == USER["user"]


def test_popped_messages_lose_their_fields_and_the_others_keep_theirs() -> None:
    waiting = loaded(
        (field("01"), pair("error", "one")),
        (field("02"), pair("info", "two")),
        (field("03"), pair("error", "three")),
    )
    fields = {FLASHES_KEY: flashes(("info", "two"))}  # pop_flashes(session, "error")

    flash_fields(fields, waiting)

    assert fields == {field("02"): pair("info", "two")}


def test_the_same_message_twice_is_matched_once_each_in_order() -> None:
    waiting = loaded((field("01"), pair("a", "same")), (field("02"), pair("a", "same")))
    fields = {FLASHES_KEY: flashes(("a", "same"), ("a", "same"), ("a", "same"))}

    flash_fields(fields, waiting)

    names = sorted(fields)
    assert names[:2] == [field("01"), field("02")]
    assert len(names) == 3  # the third is new: a field of its own
    assert all(fields[name] == pair("a", "same") for name in names)


def test_new_messages_of_one_save_get_distinct_fields_in_their_order() -> None:
    messages = [("m", str(number)) for number in range(20)]
    fields = {FLASHES_KEY: flashes(*messages)}

    flash_fields(fields, None)

    assert [json.loads(fields[name]) for name in sorted(fields)] == [list(m) for m in messages]


def test_a_flashes_value_that_is_no_list_is_saved_as_it_is() -> None:
    fields = {FLASHES_KEY: '"not a list"'}

    flash_fields(fields, loaded((field("01"), pair("a", "first"))))

    assert fields == {FLASHES_KEY: '"not a list"'}


def test_a_session_with_no_flashes_gets_no_message_field() -> None:
    fields = dict(USER)

    flash_fields(fields, loaded((field("01"), pair("a", "first"))))

    assert fields == USER  # the loaded message field is left out: the save deletes it


def test_a_list_left_as_loaded_is_saved_as_loaded_a_flashes_field_included() -> None:
    fields = {FLASHES_KEY: flashes(("old", "older")), field("01"): pair("new", "newer")}
    session, found = session_fields(fields)
    saved = {**USER, FLASHES_KEY: session[FLASHES_KEY]}  # a request that wrote another key

    flash_fields(saved, found)

    assert saved == {**USER, **fields}  # nothing of the messages to write


def test_a_new_message_put_ahead_of_waiting_ones_renames_those_after_it_in_order() -> None:
    waiting = loaded((field("01"), pair("a", "first")), (field("02"), pair("b", "second")))
    fields = {FLASHES_KEY: flashes(("z", "ahead"), ("a", "first"), ("b", "second"))}

    flash_fields(fields, waiting)

    assert field("01") not in fields
    assert field("02") not in fields
    assert [json.loads(fields[name]) for name in sorted(fields)] == [
        ["z", "ahead"],
        ["a", "first"],
        ["b", "second"],
    ]


def test_a_flashes_field_s_messages_stay_first_once_replaced_by_message_fields() -> None:
    fields = {FLASHES_KEY: flashes(("old", "older")), field("01"): pair("new", "newer")}
    session, found = session_fields(fields)
    changed = [*json.loads(session[FLASHES_KEY]), ["newest", "now"]]
    saved = {FLASHES_KEY: encode_json_value(changed)}

    flash_fields(saved, found)

    assert FLASHES_KEY not in saved
    reloaded, _ = session_fields(saved)
    assert json.loads(reloaded[FLASHES_KEY]) == [
        ["old", "older"],
        ["new", "newer"],
        ["newest", "now"],
    ]


def test_two_conversions_of_one_flashes_field_name_its_messages_alike() -> None:
    hash_fields = {FLASHES_KEY: flashes(("old", "one"), ("old", "two"))}
    names = []
    for added in ("first request", "second request"):
        _, found = session_fields(hash_fields)
        saved = {FLASHES_KEY: flashes(("old", "one"), ("old", "two"), ("new", added))}
        flash_fields(saved, found)
        names.append(sorted(saved)[:2])

    assert names[0] == names[1]
    assert all(name.startswith(FLASH_FIELD_PREFIX + "0" * 16) for name in names[0])


def test_a_new_message_sorts_after_one_tagged_by_a_clock_ahead_of_this_one() -> None:
    ahead = f"{time.time_ns() + 3_600 * 10**9:016x}00000000abcd1234"  # an hour ahead
    waiting = loaded((field(ahead), pair("a", "first")))
    fields = {FLASHES_KEY: flashes(("a", "first"), ("b", "second"))}

    flash_fields(fields, waiting)

    assert [json.loads(fields[name]) for name in sorted(fields)] == [
        ["a", "first"],
        ["b", "second"],
    ]
