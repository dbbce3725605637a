"""The bill check on small databases built with Tween's own migrations and rows written by hand."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from bot.db.migrate import available
from tests.fakes.fal_server import MODEL, FakeFal, JobScript
from tests.support.bill import bill_violations, fal_violations
from tests.support.images import image_bytes
from tests.support.waiting import wait_until

GUILD_POT, MEMBER_POT = 1, 2
NOW = "2026-12-01T00:00:00+00:00"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Path, sqlite3.Connection]]:
    path = tmp_path / "tween.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA synchronous = OFF")  # a throwaway file: no fsync per statement
        for _, migration in available():
            conn.executescript(migration.read_text())
        for pot_id, scope, subject in ((GUILD_POT, "guild", 7), (MEMBER_POT, "member", 42)):
            conn.execute(
                "INSERT INTO pots (id, guild_id, scope, subject_id, limit_seconds, period_start, period_end) "
                "VALUES (?, 7, ?, ?, 100, ?, ?)",
                (pot_id, scope, subject, NOW, NOW),
            )
        yield path, conn


def add_job(conn: sqlite3.Connection, job_id: int, request_id: str | None, state: str, *, seconds: int = 5) -> None:
    conn.execute(
        "INSERT INTO jobs (id, guild_id, channel_id, user_id, prompt, duration, price_micros, model, state, "
        "upload_limit, created_at, updated_at, request_id) VALUES (?, 7, 8, 42, 'p', ?, 560000, ?, ?, 1, ?, ?, ?)",
        (job_id, seconds, MODEL, state, NOW, NOW, request_id),
    )
    for pot_id in (GUILD_POT, MEMBER_POT):
        conn.execute("INSERT INTO job_pots (job_id, pot_id, seconds) VALUES (?, ?, ?)", (job_id, pot_id, seconds))
        book(conn, job_id, pot_id, "reserve", seconds)


# What each ledger line does to its pot, as bot/db/pots.py does it.
MOVES = {
    "reserve": "reserved_seconds = reserved_seconds + :s",
    "charge": "reserved_seconds = reserved_seconds - :s, spent_seconds = spent_seconds + :s",
    "refund": "reserved_seconds = reserved_seconds - :s",
}


def book(conn: sqlite3.Connection, job_id: int, pot_id: int, kind: str, seconds: int = 5, *, move: bool = True) -> None:
    conn.execute(
        "INSERT INTO ledger (guild_id, job_id, pot_id, kind, seconds, created_at) VALUES (7, ?, ?, ?, ?, ?)",
        (job_id, pot_id, kind, seconds, NOW),
    )
    if move:
        conn.execute(f"UPDATE pots SET {MOVES[kind]} WHERE id = :p", {"s": seconds, "p": pot_id})


def settle(conn: sqlite3.Connection, job_id: int, kind: str) -> None:
    for pot_id in (GUILD_POT, MEMBER_POT):
        book(conn, job_id, pot_id, kind)


def test_a_ledger_that_agrees_with_the_bill_has_no_violations(db: tuple[Path, sqlite3.Connection]) -> None:
    path, conn = db
    add_job(conn, 1, "r-delivered", "delivered")
    settle(conn, 1, "charge")
    add_job(conn, 2, "r-cancelled", "cancelled")
    settle(conn, 2, "refund")
    add_job(conn, 3, None, "waiting")
    assert bill_violations({"r-delivered"}, path, peak=2, cap=2) == []


def test_a_cancel_that_lost_the_race_is_billed_yet_refunded(db: tuple[Path, sqlite3.Connection]) -> None:
    path, conn = db
    add_job(conn, 1, "r1", "cancelled")
    settle(conn, 1, "refund")
    assert bill_violations(["r1"], path) == [
        "job 1 (request r1, cancelled) was billed by fal and charged 0 times to pot 1, not once",
        "job 1 (request r1, cancelled) was billed by fal and charged 0 times to pot 2, not once",
        "job 1 (request r1, cancelled) was refunded, yet fal billed it",
    ]


def test_a_run_no_job_knows_is_billed_to_nobody(db: tuple[Path, sqlite3.Connection]) -> None:
    path, _ = db
    assert bill_violations({"r-lost-5xx"}, path) == [
        "fal billed request r-lost-5xx, which no Tween job knows: nobody was charged for it"
    ]


def test_charges_to_the_wrong_pot_or_amount_and_charges_fal_never_billed(db: tuple[Path, sqlite3.Connection]) -> None:
    path, conn = db
    add_job(conn, 1, "r1", "delivered")
    book(conn, 1, GUILD_POT, "charge", seconds=3)
    book(conn, 1, MEMBER_POT, "charge")
    conn.execute(
        "INSERT INTO pots (id, guild_id, scope, subject_id, limit_seconds, period_start, period_end) "
        "VALUES (3, 7, 'channel', 8, 100, ?, ?)",
        (NOW, NOW),
    )
    book(conn, 1, 3, "charge", move=False)  # a ledger line with no reservation behind it
    add_job(conn, 2, "r2", "undeliverable")
    settle(conn, 2, "charge")
    assert bill_violations({"r1"}, path) == [
        "job 1 (request r1, delivered) was charged 3 s to pot 1, which held 5 s for it",
        "job 1 (request r1, delivered) was charged to pot 3, which it never held",
        "job 2 (request r2, undeliverable) was charged, yet fal billed nothing for it",
    ]


def test_pots_below_zero_and_too_many_jobs_at_fal(db: tuple[Path, sqlite3.Connection]) -> None:
    path, conn = db
    conn.execute("UPDATE pots SET spent_seconds = 104, extra_seconds = 1 WHERE id = ?", (MEMBER_POT,))
    conn.execute("UPDATE pots SET reserved_seconds = 2 WHERE id = ?", (MEMBER_POT,))
    assert bill_violations((), path, peak=5, cap=4) == [
        "pot 2 (member 42 in guild 7) is 5 s below zero (limit + extra - reserved - spent = -5)",
        "fal held 5 of the account's jobs at once (queued or running), over the cap of 4",
    ]
    below = bill_violations((), path)
    assert bill_violations((), path, peak=5) == bill_violations((), path, peak=5, cap=5) == below and len(below) == 1


def test_a_missing_database_is_an_error_not_a_clean_bill(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        bill_violations((), tmp_path / "nowhere.sqlite3")
    assert not (tmp_path / "nowhere.sqlite3").exists()


async def test_fal_violations_reads_the_fakes_bill_and_peak(db: tuple[Path, sqlite3.Connection]) -> None:
    path, _ = db
    key = {"Authorization": "Key k"}
    async with (
        FakeFal(key="k", default_script=JobScript(queue_seconds=0, run_seconds=0)) as fake,
        httpx.AsyncClient(timeout=5, verify=False) as http,
    ):
        token = (await http.post(f"{fake.rest_url}/storage/auth/token", json={}, headers=key)).json()
        upload = await http.post(
            f"{token['base_url']}/files/upload",
            content=image_bytes(640, 360),
            headers={"Authorization": f"Bearer {token['token']}", "Content-Type": "image/png"},
        )
        body = {"prompt": "p", "start_image_url": upload.json()["access_url"]}
        rid = (await http.post(f"{fake.queue_url}/{MODEL}", json=body, headers=key)).json()["request_id"]
        await wait_until(lambda: rid in fake.bill, 5, "the run to be billed")
        assert fal_violations(fake, path, cap=0) == [
            f"fal billed request {rid}, which no Tween job knows: nobody was charged for it",
            "fal held 1 of the account's jobs at once (queued or running), over the cap of 0",
        ]
