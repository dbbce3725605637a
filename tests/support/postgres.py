"""A throwaway PostgreSQL server for one test session, started from the installed server binaries.

Each pytest process gets its own server: a random folder under the temp dir (data, unix socket, log), a free port
on 127.0.0.1, trust authentication and no durability. Tests ask for an empty database of their own
(`create_database`) and drop it afterwards. Nothing has a fixed name, so several sessions (the soak) can run side
by side and a crashed run's leftovers never get in the next one's way.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

INSTALL_HINT = "install the server with `apt-get install postgresql` (Debian/Ubuntu) or set TWEEN_PG_BINDIR"
SUPERUSER = "tween"
SYSTEM_USER = "postgres"
_T = TypeVar("_T")

# A server nobody needs to survive a crash: no fsync, no waiting for the WAL, room for several bot processes.
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
    "logging_collector": "off",
}
_START_TIMEOUT = 60.0
_PORT_ATTEMPTS = 5


class PostgresUnavailable(RuntimeError):
    """The server binaries are missing or the server did not start; the message says what to do."""


@dataclass(frozen=True)
class Binaries:
    folder: Path

    def tool(self, name: str) -> str:
        return str(self.folder / name)


def find_binaries() -> Binaries | None:
    """The folder holding initdb and postgres: TWEEN_PG_BINDIR, `pg_config --bindir`, PATH, then Debian's
    /usr/lib/postgresql/<version>/bin (newest first); None when there is none."""
    candidates: list[Path] = []
    if override := os.environ.get("TWEEN_PG_BINDIR"):
        candidates.append(Path(override))
    if pg_config := shutil.which("pg_config"):
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    debian = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(p) for p in debian), key=_version_of, reverse=True)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in ("initdb", "postgres")):
            return Binaries(folder)
    return None


def _version_of(bindir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in bindir.parent.name.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(command: list[str], *, death_signal: str | None = None) -> list[str]:
    """initdb and postgres refuse to run as root: as root, run them as Debian's `postgres` system user. setpriv
    also makes the kernel signal the server if this process dies without stopping it (SIGKILL, a timeout)."""
    wrapper = ["setpriv"] if shutil.which("setpriv") else []
    if wrapper and death_signal:
        wrapper += ["--pdeathsig", death_signal]
    if os.geteuid() == 0:
        if not wrapper:
            return ["runuser", "-u", SYSTEM_USER, "--", *command]
        wrapper += ["--reuid", SYSTEM_USER, "--regid", SYSTEM_USER, "--init-groups"]
    return [*wrapper, "--", *command] if wrapper else command


def _make_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="tween-pg-"))
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            shutil.rmtree(folder)
            raise PostgresUnavailable(
                f"the tests run as root and there is no `{SYSTEM_USER}` user to run PostgreSQL as: {INSTALL_HINT}"
            ) from None
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    return folder


@dataclass
class PostgresServer:
    """One running server. `url(name)` is what asyncpg (and the bot's TWEEN_DATABASE_URL) takes."""

    folder: Path
    port: int
    process: subprocess.Popen[bytes]
    started_in: float

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    async def admin(self) -> asyncpg.Connection:
        """A superuser connection over the unix socket (quicker to open than TCP)."""
        return await asyncpg.connect(host=str(self.folder), port=self.port, user=SUPERUSER, database="postgres")

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """An immediate shutdown (what `pg_ctl stop -m immediate` sends), then the folder goes."""
        if self.running():
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_server() -> PostgresServer:
    """Call it from a thread that outlives the server (pytest's main thread): the kernel's signal on the caller's
    death is tied to the thread that started the server."""
    binaries = find_binaries()
    if binaries is None:
        raise PostgresUnavailable(f"PostgreSQL's initdb and postgres were not found: {INSTALL_HINT}")
    began = time.monotonic()
    sweep_leftovers()
    folder = _make_folder()
    try:
        _initdb(binaries, folder)
        for _ in range(_PORT_ATTEMPTS):
            process, port = _launch(binaries, folder)
            if _wait_ready(process, folder / "data"):
                return PostgresServer(folder, port, process, time.monotonic() - began)
        raise PostgresUnavailable(f"PostgreSQL did not start; its log:\n{_tail(folder / 'server.log')}")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def sweep_leftovers(min_age: float = 600.0) -> None:
    """Remove what sessions killed before their teardown left in the temp dir (about 40 MB each): folders whose
    server is no longer running. A folder with no server yet is left alone for `min_age` seconds (initdb runs)."""
    for folder in Path(tempfile.gettempdir()).glob("tween-pg-*"):
        try:
            pid = int((folder / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = None
        try:
            if (pid is not None and pid_running(pid)) or time.time() - folder.stat().st_mtime < min_age:
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)


def pid_running(pid: int) -> bool:
    """Running, neither gone nor a zombie (in a container, PID 1 may never reap an orphaned server)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _initdb(binaries: Binaries, folder: Path) -> None:
    command = [binaries.tool("initdb"), "-D", str(folder / "data"), "-U", SUPERUSER, "--auth=trust"]
    command += ["--no-sync", "--no-instructions", "--encoding=UTF8", "--locale=C"]
    done = subprocess.run(_as_server_user(command), capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise PostgresUnavailable(f"initdb failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    with open(folder / "data" / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.writelines(f"{key} = {value}\n" for key, value in _SETTINGS.items())


def _launch(binaries: Binaries, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The postmaster as this process's child, so it can be watched and stopped without pg_ctl."""
    port = _free_port()
    command = [binaries.tool("postgres"), "-D", str(folder / "data"), "-p", str(port), "-k", str(folder)]
    with open(folder / "server.log", "ab") as log:
        process = subprocess.Popen(
            _as_server_user(command, death_signal="QUIT"),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, port


def _wait_ready(process: subprocess.Popen[bytes], data: Path) -> bool:
    """True once postmaster.pid says "ready" (the server accepts connections); False if the server exited (the
    port was taken meanwhile: the caller tries another)."""
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            lines = (data / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            lines = []
        if len(lines) >= 8 and lines[7].strip() == "ready":
            return True
        time.sleep(0.02)
    process.kill()
    process.wait()
    raise PostgresUnavailable(f"PostgreSQL was not ready within {_START_TIMEOUT:.0f} s")


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


async def create_database(server: PostgresServer, template: str = "template0") -> str:
    """A new database (a copy of `template`, empty by default) with a name no other test uses; returns its name."""
    name = f"tween_{secrets.token_hex(6)}"
    admin = await server.admin()
    try:
        # From PostgreSQL 15 the default copies the template through the WAL, about 8x slower than copying the
        # files (a checkpoint, cheap with fsync off): ~25 ms against ~190 ms a database.
        strategy = " STRATEGY FILE_COPY" if admin.get_server_version().major >= 15 else ""
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
    finally:
        await admin.close()
    return name


async def drop_database(server: PostgresServer, name: str) -> None:
    """Dropped even while a bot under test still holds connections to it."""
    admin = await server.admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def run_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run an admin coroutine from synchronous fixture code, in a thread of its own if a loop already runs here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    result: list[_T] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # handed back to the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=work, name="postgres-admin")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


class MigratedStock:
    """Databases with Tween's schema already in place, made one step ahead in a thread of their own: a test takes
    one that was built while the previous test ran, so neither the copy nor the migrations are on its clock."""

    def __init__(self, server: PostgresServer) -> None:
        self._server = server
        self._work = ThreadPoolExecutor(max_workers=1, thread_name_prefix="postgres-stock")
        self._template = self._work.submit(asyncio.run, self._make_template())
        self._next: Future[str] | None = None

    async def _make_template(self) -> str:
        from bot.db.connection import open_database  # the real migrations build the template

        name = await create_database(self._server)
        async with open_database(self._server.url(name)):
            pass
        return name

    async def _copy(self) -> str:
        return await create_database(self._server, template=self._template.result())

    def take(self) -> str:
        """A migrated database of this test's own; the next one starts building at once."""
        ready = self._next or self._work.submit(asyncio.run, self._copy())
        self._next = self._work.submit(asyncio.run, self._copy())
        return ready.result()

    def give_back(self, name: str) -> None:
        self._work.submit(asyncio.run, drop_database(self._server, name))

    def close(self) -> None:
        if self._next is not None:
            with contextlib.suppress(Exception):
                self.give_back(self._next.result())
        self._work.shutdown(wait=True)
