"""The chain clock: each record's ``stored_at`` and each export's transactionTime, under one lock.

Both are taken while the chain head is locked (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on
SQLite), from one clock (PostgreSQL's ``clock_timestamp()``; on SQLite, this host's UTC clock)
and against ``chain_head.clock``, the latest instant handed out so far:

* a record is stored at ``max(now, clock + 1 µs)``: strictly after every earlier record and
  every earlier transactionTime, even if the clock stepped back;
* an export's transactionTime is ``max(now, clock)``, taken with the snapshot's ``max_seq``.

So every record with ``seq <= max_seq`` has ``stored_at <= transactionTime`` and every later
one ``stored_at > transactionTime``: ``_since=<transactionTime>`` (``stored_at > _since``)
selects exactly the records the export did not hold; none lost, none twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select, text, update

from service.audit import tables as t
from service.audit.chain import aware

# The resolution of every store (PostgreSQL timestamptz, SQLite's stored text, Python).
TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Head:
    seq: int
    record_hash: str
    clock: datetime  # the latest instant handed out under the lock


def lock_head(conn: Connection) -> Head:
    """The chain head, locked until the transaction ends.

    On SQLite the lock is the write transaction itself (BEGIN IMMEDIATE).
    """
    h = t.chain_head.c
    query = select(h.seq, h.record_hash, h.clock).where(h.id == 1).with_for_update()
    row = conn.execute(query).one()
    return Head(int(row.seq), row.record_hash, aware(row.clock))


def _now(conn: Connection, server_now: datetime | None = None) -> datetime:
    """The chain's clock now; ``server_now``: PostgreSQL's, already read (with the head)."""
    if conn.dialect.name == "sqlite":
        return datetime.now(UTC)
    if server_now is None:
        server_now = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
    return aware(server_now)


def next_stored_at(
    conn: Connection, clock: datetime, server_now: datetime | None = None
) -> datetime:
    """The ``stored_at`` of the record being appended (call with the head locked; the append
    reads PostgreSQL's ``clock_timestamp()`` in the statement that locks it: ``server_now``)."""
    return max(_now(conn, server_now), aware(clock) + TICK)


def take_transaction_time(conn: Connection, clock: datetime) -> datetime:
    """An export's transactionTime, kept in the head so later records come after it."""
    moment = max(_now(conn), aware(clock))
    conn.execute(update(t.chain_head).where(t.chain_head.c.id == 1).values(clock=moment))
    return moment
