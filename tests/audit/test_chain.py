"""The hash chain alone: canonical JSON, record hashes and verify_chain, without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from service.audit.chain import (
    GENESIS_HASH,
    ChainRow,
    canonical_json,
    content_hash,
    link_hash,
    utc_instant,
    verify_chain,
)


def _chain(n: int) -> list[ChainRow]:
    rows, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        content = {"seq": seq, "category": "HSC-1", "outputs": {"b": [1, 2], "a": 1.5}}
        record_hash = link_hash(prev, content_hash(content))
        rows.append(ChainRow(seq, content, record_hash, prev))
        prev = record_hash
    return rows


def test_canonical_json_sorts_keys_at_every_level_and_drops_whitespace() -> None:
    assert canonical_json({"b": {"d": 1, "c": 2}, "a": []}) == b'{"a":[],"b":{"c":2,"d":1}}'


def test_equal_content_in_another_key_order_has_the_same_hash() -> None:
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})


def test_times_are_hashed_as_the_same_utc_instant_whatever_their_zone() -> None:
    moment = datetime(2026, 3, 1, 8, 0, 0, 120000, tzinfo=UTC)
    plus_two = moment.astimezone(timezone(timedelta(hours=2)))
    assert utc_instant(moment) == utc_instant(plus_two) == "2026-03-01T08:00:00.120000Z"
    assert utc_instant(moment.replace(tzinfo=None)) == utc_instant(moment)


def test_an_intact_chain_verifies_and_counts_its_records() -> None:
    result = verify_chain(_chain(5))
    assert (result.ok, result.first_broken_seq, result.count) == (True, None, 5)


def test_an_empty_chain_verifies() -> None:
    assert verify_chain([]).ok


def test_altered_content_breaks_the_chain_at_that_record() -> None:
    rows = _chain(5)
    rows[2] = replace(rows[2], content={**rows[2].content, "category": "HSC-4"})
    result = verify_chain(rows)
    assert (result.ok, result.first_broken_seq, result.count) == (False, 3, 2)
    assert "record 3" in result.reason


def test_a_deleted_record_breaks_the_chain_at_the_gap() -> None:
    rows = _chain(5)
    del rows[1]
    result = verify_chain(rows)
    assert (result.ok, result.first_broken_seq) == (False, 2)
    assert "missing" in result.reason


def test_a_rehashed_record_still_breaks_the_link_of_the_next_one() -> None:
    rows = _chain(4)
    forged = {**rows[1].content, "category": "HSC-4"}
    rows[1] = replace(
        rows[1], content=forged, record_hash=link_hash(rows[0].record_hash, content_hash(forged))
    )
    result = verify_chain(rows)
    assert (result.ok, result.first_broken_seq) == (False, 3)


def test_records_deleted_from_the_end_are_caught_by_the_chain_head() -> None:
    rows = _chain(5)
    result = verify_chain(rows[:3], head=(5, rows[4].record_hash))
    assert (result.ok, result.first_broken_seq) == (False, 4)


def test_a_defect_found_outside_the_content_names_its_record() -> None:
    rows = _chain(3)
    rows[1] = replace(rows[1], defect="its stored FHIR resources differ")
    result = verify_chain(rows)
    assert (result.ok, result.first_broken_seq) == (False, 2)
    assert "resources" in result.reason
