"""Does Tween's money agree with what fal billed? An invariant check for the end of an integration or e2e test.

fal charges the account for every run that completed with a video (the fake's `bill`), whatever Tween believes
about it: a cancel that lost the race, a submit whose answer was lost, a 5xx that was queued all the same. Tween
must then have charged each pot the job held exactly once, and refunded none of them; and it must not charge a
member for a run fal never billed. Call it once the jobs have settled: a run fal finished a moment ago that Tween
has not looked at yet shows up as billed and uncharged.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import closing
from pathlib import Path

from tests.fakes.fal import FakeFal


def fal_violations(fake: FakeFal, db_path: Path | str, *, cap: int | None = None) -> list[str]:
    """`bill_violations` with the fake's bill and the most jobs it ever held at once."""
    return bill_violations(fake.bill, db_path, peak=fake.max_at_fal(), cap=cap)


def bill_violations(
    billed: Iterable[str],
    db_path: Path | str,
    *,
    peak: int | None = None,
    cap: int | None = None,
    settled_only: bool = False,
) -> list[str]:
    """Human-readable violations (empty when all is well) of fal's bill (request ids; a mapping's keys will do)
    against Tween's SQLite database, and of the peak number of jobs at fal against `cap`. With `settled_only`,
    billed jobs Tween has not finished with (still at fal as far as it knows, or an unknown submit whose
    reservation waits for a moderator) are not judged yet."""
    ids = set(billed)
    with closing(_open(db_path)) as conn:
        if settled_only:
            ids -= _unsettled(conn)
        return [
            *_billed_jobs(conn, ids),
            *_refunded_but_billed(conn, ids),
            *_charged_but_unbilled(conn, ids),
            *_pots_below_zero(conn),
            *_over_cap(peak, cap),
        ]


# Not judged yet at the end of a test: Tween is not done with these (an unknown submit waits for a moderator).
UNSETTLED = (
    *("reserved", "uploaded", "waiting", "awaiting_approval"),
    *("submitting", "queued", "running", "submit_unknown"),
)


def _unsettled(conn: sqlite3.Connection) -> set[str]:
    marks = ", ".join("?" * len(UNSETTLED))
    rows = conn.execute(f"SELECT request_id FROM jobs WHERE request_id IS NOT NULL AND state IN ({marks})", UNSETTLED)
    return {row["request_id"] for row in rows}


def end_of_test_violations(fake: FakeFal, folder: Path) -> list[str]:
    """What the end of a test may be held to: every Tween database under `folder` against the fake's bill, jobs
    still on their way left out, and a billed request no database knows reported once."""
    databases = [p for p in sorted(folder.rglob("*.sqlite3")) if _is_tween(p)]
    if not databases:
        return []
    known: set[str] = set()
    settled_blind = lost_open = 0
    found: list[str] = []
    for path in databases:
        with closing(_open(path)) as conn:
            mine = {r["request_id"] for r in conn.execute("SELECT request_id FROM jobs WHERE request_id IS NOT NULL")}
            settled_blind += _settled_without_request(conn)
            lost_open += _lost_unsettled(conn)
        known |= mine
        found += [f"{path.name}: {v}" for v in bill_violations(set(fake.bill) & mine, path, settled_only=True)]
    unknown = sorted(set(fake.bill) - known)
    # A lost submit not yet settled may or may not have run at fal by the time the test ends: either is right.
    if not settled_blind <= len(unknown) <= settled_blind + lost_open:
        found.append(
            f"fal billed {len(unknown)} request(s) no Tween job knows ({', '.join(unknown)}), and moderators "
            f"settled {settled_blind} lost submit(s) as billed ({lost_open} still unsettled)"
        )
    return found


def _lost_unsettled(conn: sqlite3.Connection) -> int:
    """Submits whose answer was lost (no request id known), still holding their reservation for a moderator."""
    row = conn.execute("SELECT COUNT(*) FROM jobs WHERE request_id IS NULL AND state = 'submit_unknown'").fetchone()
    return int(row[0])


def _settled_without_request(conn: sqlite3.Connection) -> int:
    """Lost submits (no request id ever known) that a moderator settled as billed after reading fal's dashboard."""
    row = conn.execute(
        "SELECT COUNT(DISTINCT j.id) FROM jobs j JOIN ledger l ON l.job_id = j.id "
        "WHERE j.request_id IS NULL AND l.kind = 'charge'"
    ).fetchone()
    return int(row[0])


def _is_tween(path: Path) -> bool:
    try:
        with closing(_open(path)) as conn:
            return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'ledger'").fetchone() is not None
    except (sqlite3.Error, OSError):
        return False


def _open(db_path: Path | str) -> sqlite3.Connection:
    path = Path(db_path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no Tween database at {path}")
    # Read-only, so a check can never change what it judges.
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def _job_name(row: sqlite3.Row) -> str:
    return f"job {row['id']} (request {row['request_id']}, {row['state']})"


def _billed_jobs(conn: sqlite3.Connection, billed: set[str]) -> Iterator[str]:
    for request_id in sorted(billed):
        job = conn.execute("SELECT id, request_id, state FROM jobs WHERE request_id = ?", (request_id,)).fetchone()
        if job is None:
            yield f"fal billed request {request_id}, which no Tween job knows: nobody was charged for it"
            continue
        yield from _charged_once_per_pot(conn, job)


def _charged_once_per_pot(conn: sqlite3.Connection, job: sqlite3.Row) -> Iterator[str]:
    held = dict(conn.execute("SELECT pot_id, seconds FROM job_pots WHERE job_id = ?", (job["id"],)).fetchall())
    charges = conn.execute(
        "SELECT pot_id, seconds FROM ledger WHERE job_id = ? AND kind = 'charge'", (job["id"],)
    ).fetchall()
    times = Counter(row["pot_id"] for row in charges)
    if not held:
        yield f"{_job_name(job)} was billed by fal but holds no pot to charge"
    for pot_id, seconds in sorted(held.items()):
        if times[pot_id] != 1:
            yield f"{_job_name(job)} was billed by fal and charged {times[pot_id]} times to pot {pot_id}, not once"
            continue
        charged = next(row["seconds"] for row in charges if row["pot_id"] == pot_id)
        if charged != seconds:
            yield f"{_job_name(job)} was charged {charged} s to pot {pot_id}, which held {seconds} s for it"
    for pot_id in sorted(set(times) - set(held)):
        yield f"{_job_name(job)} was charged to pot {pot_id}, which it never held"


def _ledger_jobs(conn: sqlite3.Connection, kind: str) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT DISTINCT j.id, j.request_id, j.state FROM ledger l JOIN jobs j ON j.id = l.job_id "
        "WHERE l.kind = ? ORDER BY j.id",
        (kind,),
    ).fetchall()


def _refunded_but_billed(conn: sqlite3.Connection, billed: set[str]) -> Iterator[str]:
    for job in _ledger_jobs(conn, "refund"):
        if job["request_id"] in billed:
            yield f"{_job_name(job)} was refunded, yet fal billed it"


def _charged_but_unbilled(conn: sqlite3.Connection, billed: set[str]) -> Iterator[str]:
    for job in _ledger_jobs(conn, "charge"):
        if job["request_id"] is None:
            continue  # a lost submit a moderator settled as billed: matched against fal's bill by count, below
        if job["request_id"] not in billed:
            yield f"{_job_name(job)} was charged, yet fal billed nothing for it"


def _pots_below_zero(conn: sqlite3.Connection) -> Iterator[str]:
    for pot in conn.execute("SELECT * FROM pots ORDER BY id"):
        name = f"pot {pot['id']} ({pot['scope']} {pot['subject_id']} in guild {pot['guild_id']})"
        for column in ("reserved_seconds", "spent_seconds"):
            if pot[column] < 0:
                yield f"{name} has {column} = {pot[column]}"
        left = pot["limit_seconds"] + pot["extra_seconds"] - pot["reserved_seconds"] - pot["spent_seconds"]
        if left < 0:
            yield f"{name} is {-left} s below zero (limit + extra - reserved - spent = {left})"


def _over_cap(peak: int | None, cap: int | None) -> Iterator[str]:
    if peak is not None and cap is not None and peak > cap:
        yield f"fal held {peak} of the account's jobs at once (queued or running), over the cap of {cap}"
