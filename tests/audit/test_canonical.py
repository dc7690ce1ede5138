"""The append's canonical JSON and hashes are the old ones, byte for byte (issue 14 item 3).

service.audit.append serialises each JSON value once and builds the hashed content from those
bytes; the old append (tests/audit/legacy.py) serialised, parsed back and serialised again.
Same bytes for every example's record and for the awkward values a record can hold, so every
existing chain still verifies and old and new records chain onto each other.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from service.audit import tables as t
from service.audit.append import content_bytes, prepare
from service.audit.chain import link_hash, sha256_hex
from service.audit.cli import audit
from service.audit.port import EvaluationRecord
from service.audit.store import SqlAuditStore
from tests.audit.legacy import legacy_content_bytes, legacy_record_evaluation, legacy_row
from tests.audit.records import BASE_TIME, example_records, make_record


class Side(enum.StrEnum):
    LEFT = "left"


class Level(enum.IntEnum):
    HIGH = 3


class Bag(dict[str, Any]):
    pass


@dataclass
class Point:
    x: float
    label: str
    inner: Any = None


UNICODE = 'Hüfte – Wirbelsäule ✓ 髋关节 😀 \u2028\u2029 \x00\x1f "quoted" \\ back/slash \ufeff'
TEXT = UNICODE.replace("\x00", "")  # what a text column can hold (PostgreSQL refuses NUL)
FLOATS = [0.1, 0.1 + 0.2, 1e-300, 5e-324, 1.7976931348623157e308, -0.0, 0.0, 1.5, 2.0**53 + 1,
          123456789.123456789, 1e16, 1e15 + 0.3, -2.5e-7, 100.0, 3.0]  # fmt: skip
INTS = [0, -1, 1, 2**31, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1]


def _nested(depth: int) -> Any:
    value: Any = {"leaf": [1, "x", None]}
    for level in range(depth):
        value = {f"k{level}": [value, {}], "a": level}
    return value


EDGE_OUTPUTS: dict[str, Any] = {
    "unicode": {"text": UNICODE, "é": 1, "e": 2, "Z": 3, "z": 4, "ä": {"ü": [], "": {}}},
    "floats": {"values": FLOATS, "not-finite": [math.nan, math.inf, -math.inf]},
    "ints": {"values": INTS, "bool": [True, False]},
    "nested": _nested(60),
    "empty": {"dict": {}, "list": [], "str": "", "null": None, "tuple": ()},
    "tuples": {"pairs": (("a", 1), ("b", (2, (3,))))},
    "python": {
        "enum": Side.LEFT,
        "int-enum": Level.HIGH,
        "dict-subclass": Bag(b=1, a=2),
        "dataclass": Point(0.1, "p", [Point(2.0, "q", {"z": 1, "b": Point(1, "r")})]),
        "aware": datetime(2026, 3, 1, 8, 0, 0, 120, tzinfo=timezone(timedelta(hours=2))),
        "naive": datetime(2026, 3, 1, 8, 0),
    },  # fmt: skip
}


def _edge_records() -> list[tuple[str, EvaluationRecord]]:
    base = make_record(5)
    cases = [(f"outputs-{name}", replace(base, outputs={"resourceType": "Bundle", name: value}))
             for name, value in EDGE_OUTPUTS.items()]  # fmt: skip
    cases += [
        ("empty-everything", replace(base, inputs_used=(), recommendations=(), warnings=(),
                                     outputs={}, resources=(), user=None, hook_instance=None)),
        ("unicode-fields", replace(base, caller=f"iss|{TEXT}", user="Practitioner/é😀",
                                   warnings=(UNICODE, ""), inputs_used=["Observation/ü"],
                                   resources=[{"resourceType": "Basic", "id": "ü",
                                               "text": {"div": UNICODE}}])),
        ("float-resources", replace(base, resources=[{"resourceType": "Basic", "id": "f",
                                                      "values": FLOATS, "ints": INTS}])),
        ("other-zone", replace(base, recorded=datetime(2026, 3, 1, 23, 30, 0, 5,
                                                       tzinfo=timezone(timedelta(hours=-5))))),
    ]  # fmt: skip
    return cases


CASES = [(f"make_record-{i}", make_record(i, hook=i % 2 == 0)) for i in range(1, 9)]
CASES += _edge_records()
STORED_AT = [(1, BASE_TIME), (987_654_321, datetime(2026, 12, 6, 8, 0, 0, 1, tzinfo=UTC))]


@pytest.fixture(scope="module")
def examples() -> list[EvaluationRecord]:
    records = example_records()
    assert len(records) >= 20  # every examples/*.json
    return records


def _assert_same_bytes(record: EvaluationRecord) -> None:
    prepared = prepare(record)
    old_row, old_bodies = legacy_row(record)
    for seq, stored_at in STORED_AT:
        assert content_bytes(prepared, seq, stored_at) == legacy_content_bytes(
            record, seq, stored_at
        )
    # what the JSON columns and the resources hold reads back as the old values did
    for name, data in prepared.json.items():
        assert orjson.loads(data) == old_row[name], name
    assert prepared.resources_sha256 == old_row["resources_sha256"]
    assert [text.encode() for _, _, text in prepared.resources] == old_bodies


@pytest.mark.parametrize("record", [c for _, c in CASES], ids=[n for n, _ in CASES])
def test_the_hashed_bytes_are_the_old_ones_for_awkward_values(record: EvaluationRecord) -> None:
    _assert_same_bytes(record)


def test_the_hashed_bytes_are_the_old_ones_for_every_example(
    examples: list[EvaluationRecord],
) -> None:
    for record in examples:
        _assert_same_bytes(record)


@pytest.mark.parametrize(
    "outputs",
    [{"value": Decimal("1.10")}, {1: "non-string key"}, {"big": 2**64}, {"set": {1, 2}}],
    ids=["decimal", "int-key", "int-over-64-bits", "set"],
)
def test_what_json_cannot_hold_is_refused_as_before(outputs: dict[Any, Any]) -> None:
    record = replace(make_record(1), outputs=outputs)
    with pytest.raises(TypeError):
        legacy_row(record)
    with pytest.raises(TypeError):
        prepare(record)


def test_old_and_new_records_chain_onto_each_other_with_the_old_hashes(
    store: SqlAuditStore, store_url: str, examples: list[EvaluationRecord]
) -> None:
    """An existing database (written by the old append) takes new records and verifies, and
    each new record's hash is the one the old append would have given it."""
    records = [*examples[:10], *(c for _, c in CASES)]
    written_by_new: dict[int, EvaluationRecord] = {}
    for i, record in enumerate(records):
        if i % 3 == 0:  # the old append, as an existing database holds
            legacy_record_evaluation(store.engine, record)
        else:
            written_by_new[store.record_evaluation(record).seq] = record
    result = store.verify()
    assert (result.ok, result.count) == (True, len(records)), result.reason
    cli = CliRunner().invoke(audit, ["verify"], env={"DATABASE_URL": store_url})
    assert cli.exit_code == 0, cli.output
    e = t.evaluations.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(e.seq, e.stored_at, e.prev_hash, e.record_hash)).all()
    for seq, stored_at, prev, record_hash in rows:
        if seq in written_by_new:
            old = legacy_content_bytes(written_by_new[seq], seq, stored_at)
            assert record_hash == link_hash(prev, sha256_hex(old)), seq


def test_the_new_append_stores_what_the_old_one_stored(store: SqlAuditStore) -> None:
    """The same record appended by both: every column reads back the same (JSON columns
    parsed; times, text and the resources' JSON as stored)."""
    record = next(c for n, c in CASES if n == "outputs-unicode")
    legacy_record_evaluation(store.engine, record)
    store.record_evaluation(record)
    columns = [c for c in t.evaluations.c if c.name not in {"seq", "stored_at", "record_hash",
                                                             "prev_hash"}]  # fmt: skip
    with store.engine.connect() as conn:
        old, new = conn.execute(select(*columns).order_by(t.evaluations.c.seq)).all()
        r = t.audit_resources.c
        resources = conn.execute(
            select(r.evaluation_seq, r.position, r.resource_type, r.resource_id, r.recorded,
                   r.resource).order_by(r.evaluation_seq, r.position)
        ).all()  # fmt: skip
        raw = conn.exec_driver_sql("SELECT recorded FROM evaluations ORDER BY seq").all()
    assert old == new
    assert raw[0] == raw[1]
    half = len(resources) // 2
    assert [x[1:] for x in resources[:half]] == [x[1:] for x in resources[half:]]
