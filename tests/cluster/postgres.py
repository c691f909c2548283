"""A PostgreSQL primary and a synchronous streaming standby on this machine, for the failover
test: `initdb`, `pg_basebackup -R` and `pg_ctl` from /usr/lib/postgresql/*/bin, data under a
temporary directory, each server on a port of its own. The machine's PostgreSQL (5432) is left
alone. Run as root, the servers run as the `postgres` user (PostgreSQL refuses root)."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cluster.rabbitmq import free_port


class StandbyUnavailable(RuntimeError):
    """PostgreSQL's server programs are not installed, or a server did not start."""


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise StandbyUnavailable("no /usr/lib/postgresql/*/bin/pg_ctl (PostgreSQL server programs)")
    return Path(found[-1]).parent


@dataclass
class Server:
    data: Path
    port: int


@dataclass
class StandbyPair:
    """`with StandbyPair() as pair:` a primary with one synchronous standby, both running;
    stopped and removed afterwards. `pair.url` is the multi-host URL a worker is given."""

    database: str = "bridge"
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tbpg-")))
    primary: Server = field(init=False)
    standby: Server = field(init=False)

    def __post_init__(self) -> None:
        self.bin = _bin_dir()
        self.primary = Server(self.root / "primary", free_port())
        self.standby = Server(self.root / "standby", free_port())
        self._user = None
        if os.geteuid() == 0:  # the postgres user must own the files
            self._user = pwd.getpwnam("postgres")
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)

    @property
    def url(self) -> str:
        """Both servers; libpq takes the first that accepts writes (after a failover, the
        promoted standby)."""
        return (f"postgresql+psycopg://postgres@127.0.0.1:{self.primary.port},"
                f"127.0.0.1:{self.standby.port}/{self.database}?target_session_attrs=read-write")

    def url_of(self, server: Server) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/{self.database}"

    def run(self, program: str, *args: str, timeout_s: float = 120) -> str:
        command = [str(self.bin / program), *args]
        if self._user is not None:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                              cwd=self.root)
        if done.returncode != 0:
            raise StandbyUnavailable(f"{program} {' '.join(args)}: {(done.stderr or done.stdout)[-800:]}")
        return done.stdout

    def start(self, server: Server) -> None:
        self.run("pg_ctl", "-D", str(server.data), "-l", str(server.data.parent / f"{server.data.name}.log"),
                 "-o", f"-p {server.port} -k {self.root}", "-w", "-t", "120", "start", timeout_s=150)

    def stop(self, server: Server, mode: str = "immediate") -> None:
        """Stop a server; `immediate` is a crash as far as its clients can tell."""
        self.run("pg_ctl", "-D", str(server.data), "-m", mode, "-w", "stop")

    def promote(self, server: Server) -> None:
        self.run("pg_ctl", "-D", str(server.data), "-w", "-t", "120", "promote", timeout_s=150)

    def sql(self, server: Server, statement: str) -> str:
        """One statement through psql on `server` (database postgres); its output, unaligned."""
        return self.run("psql", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
                        "-Atc", statement).strip()

    def __enter__(self) -> StandbyPair:
        try:
            self.run("initdb", "-D", str(self.primary.data), "-U", "postgres", "--auth=trust",
                     "--no-sync", "-E", "UTF8")
            with (self.primary.data / "postgresql.conf").open("a") as conf:
                # A commit returns once the standby has it: a failover loses no answered message.
                conf.write("listen_addresses = '127.0.0.1'\nwal_level = replica\n"
                           "max_wal_senders = 4\nsynchronous_commit = on\nmax_connections = 60\n")
            with (self.primary.data / "pg_hba.conf").open("a") as hba:
                hba.write("host replication postgres 127.0.0.1/32 trust\n")
            self.start(self.primary)
            self.sql(self.primary, f"CREATE DATABASE {self.database}")
            self.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
                     "-D", str(self.standby.data), "-R", "-X", "stream", "--no-sync",
                     "--checkpoint=fast")
            with (self.standby.data / "postgresql.auto.conf").open("a") as conf:
                conf.write(f"primary_conninfo = 'host=127.0.0.1 port={self.primary.port} "
                           "user=postgres application_name=standby'\n")
            self.start(self.standby)
            # Synchronous only now: before the standby is there, every commit would wait for it.
            self.sql(self.primary, "ALTER SYSTEM SET synchronous_standby_names = 'standby'")
            self.sql(self.primary, "SELECT pg_reload_conf()")
            self.wait_synchronous()
        except BaseException:
            self.__exit__()
            raise
        return self

    def wait_synchronous(self, timeout_s: float = 60) -> None:
        import time
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.sql(self.primary, "SELECT sync_state FROM pg_stat_replication") == "sync":
                return
            time.sleep(0.2)
        raise StandbyUnavailable("the standby never became synchronous")

    def __exit__(self, *_exc) -> None:
        for server in (self.standby, self.primary):
            if (server.data / "postmaster.pid").exists():
                try:
                    self.stop(server)
                except (StandbyUnavailable, subprocess.TimeoutExpired):
                    pass
        shutil.rmtree(self.root, ignore_errors=True)
