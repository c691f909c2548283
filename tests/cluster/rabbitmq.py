"""A three-node RabbitMQ cluster on this machine, for the failover tests: nodes of their own
names, ports, data and logs under a temporary directory, one Erlang cookie, joined with
`rabbitmqctl join_cluster`. The machine's own broker (rabbit@localhost, 5672) is left alone:
each node reads only the configuration files written here."""
from __future__ import annotations

import json
import os
import secrets
import signal
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
"""The server script itself, not the /usr/sbin wrapper (which switches to the rabbitmq user
and its home, and so to the machine broker's cookie)."""
CTL = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")
START_TIMEOUT_S = 120.0
"""A node boots in 5 to 15 s here; several at once on 2 busy cores take longer."""


class ClusterUnavailable(RuntimeError):
    """rabbitmq-server is not installed, or a node did not start (the message says which)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Node:
    name: str  # e.g. tbc1-3f2a@localhost
    amqp_port: int
    dist_port: int
    base: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/%2F"


@dataclass
class RabbitCluster:
    """`with RabbitCluster(root) as cluster:` three nodes up and clustered; stopped and their
    files removed afterwards."""

    root: Path
    size: int = 3
    nodes: list[Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not (SERVER.exists() and CTL.exists()):
            raise ClusterUnavailable(f"rabbitmq-server not installed ({SERVER})")
        tag = uuid.uuid4().hex[:6]
        self.root.mkdir(parents=True, exist_ok=True)
        cookie = self.root / ".erlang.cookie"  # HOME of every node and of rabbitmqctl
        cookie.write_text(secrets.token_hex(20).upper())
        cookie.chmod(0o400)
        (self.root / "enabled_plugins").write_text("[].\n")  # no management UI on 15672
        (self.root / "rabbitmq-env.conf").write_text(
            'export ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"\n')
        for i in range(1, self.size + 1):
            base = self.root / f"node{i}"
            base.mkdir()
            node = Node(f"tbc{i}-{tag}@localhost", free_port(), free_port(), base)
            (base / "rabbitmq.conf").write_text(
                f"listeners.tcp.local = 127.0.0.1:{node.amqp_port}\n"
                "loopback_users = none\n"
                "cluster_partition_handling = pause_minority\n")
            self.nodes.append(node)

    @property
    def urls(self) -> str:
        """The worker's TOKENBRIDGE_AMQP_URL: every node, comma-separated."""
        return ",".join(node.url for node in self.nodes)

    def env(self, node: Node) -> dict[str, str]:
        return {**os.environ, "HOME": str(self.root), "RABBITMQ_NODENAME": node.name,
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": str(node.amqp_port),
                "RABBITMQ_DIST_PORT": str(node.dist_port),
                "RABBITMQ_MNESIA_BASE": str(node.base / "mnesia"),
                "RABBITMQ_LOG_BASE": str(node.base / "log"),
                "RABBITMQ_PID_FILE": str(node.base / "pid"),
                "RABBITMQ_CONFIG_FILE": str(node.base / "rabbitmq.conf"),
                "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
                "ERL_EPMD_ADDRESS": "127.0.0.1"}

    def ctl(self, node: Node, *args: str, timeout_s: float = 120) -> str:
        done = subprocess.run([str(CTL), "-n", node.name, *args], env=self.env(node),
                              capture_output=True, text=True, timeout=timeout_s)
        if done.returncode != 0:
            raise ClusterUnavailable(f"rabbitmqctl -n {node.name} {' '.join(args)}: "
                                     f"{(done.stderr or done.stdout).strip()[-500:]}")
        return done.stdout

    def start(self, node: Node) -> None:
        log = (node.base / "console.log").open("ab")
        # A session of its own: the script starts the Erlang VM as its child, and the whole
        # group is ended by its id if the node has to be killed.
        node.process = subprocess.Popen([str(SERVER)], env=self.env(node), stdout=log,
                                        stderr=subprocess.STDOUT, cwd=node.base,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        # `rabbitmqctl wait` follows the pid file the node writes as it boots, until it runs.
        try:
            self.ctl(node, "wait", str(node.base / "pid"), "--timeout", str(int(START_TIMEOUT_S)),
                     timeout_s=START_TIMEOUT_S + 10)
        except (ClusterUnavailable, subprocess.TimeoutExpired) as error:
            raise ClusterUnavailable(f"node {node.name} did not start: {error}; "
                                     f"see {node.base / 'console.log'}") from error

    def stop(self, node: Node) -> None:
        """Stop one node (the whole Erlang VM), as an operator or a crash would take it away."""
        if node.process is None:
            return
        try:
            self.ctl(node, "stop", timeout_s=60)
            node.process.wait(timeout=60)
        except (ClusterUnavailable, subprocess.TimeoutExpired):
            self.kill(node)
        node.process = None

    @staticmethod
    def kill(node: Node) -> None:
        """The node's script and its Erlang VM (the process group started for it)."""
        try:
            os.killpg(node.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        node.process.wait()

    def __enter__(self) -> RabbitCluster:
        try:
            first = self.nodes[0]
            self.start(first)
            for node in self.nodes[1:]:
                self.start(node)
                self.ctl(node, "stop_app")
                self.ctl(node, "join_cluster", first.name)
                self.ctl(node, "start_app")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *_exc) -> None:
        for node in self.nodes:
            if node.process is not None:
                self.kill(node)  # the test is over: no need for a clean shutdown
                node.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def running(self) -> list[str]:
        """The cluster's running nodes, as one of the live nodes sees them."""
        live = next(n for n in self.nodes if n.process is not None)
        out = self.ctl(live, "cluster_status", "--formatter", "json")
        return sorted(json.loads(out)["running_nodes"])

    def members(self, queue: str) -> list[str]:
        """The quorum queue's replicas (Raft members)."""
        live = next(n for n in self.nodes if n.process is not None)
        rows = json.loads(self.ctl(live, "list_queues", "name", "members", "--formatter", "json"))
        return sorted(next(row["members"] for row in rows if row["name"] == queue))
