"""Bulk Data export jobs, kept in the database so that any replica can answer any poll."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update

from service.audit import tables as t
from service.audit.chain import aware
from service.audit.clock import lock_head, take_transaction_time
from service.audit.engine import unavailable_on_error, write_transaction
from service.errors import TooManyRequests

IN_PROGRESS, COMPLETE, FAILED = "in-progress", "complete", "error"
#: Seconds a refused kick-off is told to wait (jobs usually finish within seconds).
RETRY_AFTER_FULL = 5


class TooManyExportJobs(TooManyRequests):
    """As many export jobs as allowed are running (``EXPORT_MAX_JOBS``): 429."""

    def __init__(
        self,
        diagnostics: str,
        retry_after: int = RETRY_AFTER_FULL,
        expression: Sequence[str] = (),
    ) -> None:
        super().__init__(diagnostics, retry_after, expression)


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else aware(moment)


@dataclass(frozen=True)
class ExportJob:
    id: str
    status: str
    request: str
    since: datetime | None
    types: tuple[str, ...] | None
    created: datetime
    transaction_time: datetime
    max_seq: int  # the snapshot: resources of evaluations 1..max_seq
    last_polled: datetime | None
    output: tuple[tuple[str, int], ...]  # (type, count), once complete
    error: str | None
    cancelled: bool

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> ExportJob:
        return cls(
            id=row["id"],
            status=row["status"],
            request=row["request"],
            since=_aware(row["since"]),
            types=None if row["types"] is None else tuple(row["types"]),
            created=aware(row["created"]),
            transaction_time=aware(row["transaction_time"]),
            max_seq=int(row["max_seq"]),
            last_polled=_aware(row["last_polled"]),
            output=tuple((o["type"], int(o["count"])) for o in row["output"] or ()),
            error=row["error"],
            cancelled=bool(row["cancelled"]),
        )


class ExportJobs:
    """Create, poll, complete and cancel export jobs; every change is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        *,
        request: str,
        since: datetime | None,
        types: Collection[str] | None,
        max_running: int | None = None,
        running: timedelta = timedelta(seconds=30),
    ) -> ExportJob:
        """A new job whose snapshot is the chain as committed now.

        ``max_seq`` and ``transaction_time`` are taken together under the chain lock
        (service.audit.clock): records up to ``max_seq`` were stored at or before
        ``transaction_time``, every later one strictly after it.

        :param max_running: at most this many jobs in progress at once, across replicas
            (counted in the database under the same lock); a cancelled job, or one in
            progress for longer than ``running`` (it lost its worker: the next poll runs
            it), does not count.
        :raise TooManyExportJobs: ``max_running`` such jobs (429).
        """
        now = datetime.now(UTC)
        job_id = str(uuid.uuid4())
        with unavailable_on_error("start an export"), write_transaction(self.engine) as conn:
            head = lock_head(conn)
            if max_running is not None:
                self._check_room(conn, max_running, now - running)
            values = {
                "id": job_id,
                "status": IN_PROGRESS,
                "request": request,
                "since": None if since is None else since.astimezone(UTC),
                "types": None if types is None else sorted(types),
                "created": now,
                "transaction_time": take_transaction_time(conn, head.clock),
                "max_seq": head.seq,
                "last_polled": None,
                "output": None,
                "error": None,
                "cancelled": False,
            }
            conn.execute(insert(t.export_jobs), [values])
        return ExportJob.from_row(values)

    @staticmethod
    def _check_room(conn: Any, max_running: int, started_after: datetime) -> None:
        j = t.export_jobs.c
        count = conn.execute(
            select(func.count())
            .select_from(t.export_jobs)
            .where(and_(j.status == IN_PROGRESS, j.cancelled.is_(False), j.created > started_after))
        ).scalar_one()
        if int(count) >= max_running:
            raise TooManyExportJobs(
                f"{int(count)} export jobs are running, the most allowed (EXPORT_MAX_JOBS); "
                "try again later"
            )

    def get(self, job_id: str) -> ExportJob | None:
        with unavailable_on_error("read an export job"), self.engine.connect() as conn:
            row = conn.execute(select(t.export_jobs).where(t.export_jobs.c.id == job_id))
            found = row.mappings().one_or_none()
        return None if found is None else ExportJob.from_row(found)

    def claim_poll(self, job_id: str, min_interval: float) -> bool:
        """Record a poll; False when the previous one was less than ``min_interval`` ago.

        One conditional UPDATE, so two replicas cannot both accept a too-early poll.
        """
        now = datetime.now(UTC)
        threshold = now - timedelta(seconds=min_interval)
        j = t.export_jobs.c
        with unavailable_on_error("record a poll"), write_transaction(self.engine) as conn:
            done = conn.execute(
                update(t.export_jobs)
                .where(
                    and_(j.id == job_id, or_(j.last_polled.is_(None), j.last_polled <= threshold))
                )
                .values(last_polled=now)
            )
            return done.rowcount == 1

    def complete(self, job_id: str, output: Sequence[tuple[str, int]]) -> None:
        manifest = [{"type": kind, "count": count} for kind, count in output]
        self._set(job_id, status=COMPLETE, output=manifest)

    def fail(self, job_id: str, error: str) -> None:
        self._set(job_id, status=FAILED, error=error)

    def cancel(self, job_id: str) -> bool:
        """Mark the job cancelled; False when there is no such (live) job."""
        j = t.export_jobs.c
        with unavailable_on_error("cancel an export"), write_transaction(self.engine) as conn:
            done = conn.execute(
                update(t.export_jobs)
                .where(and_(j.id == job_id, j.cancelled.is_(False)))
                .values(cancelled=True)
            )
            return done.rowcount == 1

    def purge(self, older_than: timedelta) -> int:
        """Forget jobs created before ``older_than`` ago (their files are made on demand)."""
        cutoff = datetime.now(UTC) - older_than
        with unavailable_on_error("purge export jobs"), write_transaction(self.engine) as conn:
            done = conn.execute(delete(t.export_jobs).where(t.export_jobs.c.created < cutoff))
            return int(done.rowcount)

    def _set(self, job_id: str, **values: Any) -> None:
        with unavailable_on_error("update an export job"), write_transaction(self.engine) as conn:
            conn.execute(update(t.export_jobs).where(t.export_jobs.c.id == job_id).values(**values))
