"""Deployment (issue 10): the systemd units, the Dockerfile and compose.yaml, linted by
the tools made for them where this machine has them, and run for real where that can be
done without systemd or a Docker engine: the unit's ExecStart and ExecReload with its
environment, notify socket and watchdog (also inside a stand-in for its file-system
sandbox), the image's ENTRYPOINT and CMD under tini as PID 1 of a new PID namespace,
and its HEALTHCHECK against a real archive with and without a running daemon."""

from __future__ import annotations

import fnmatch
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from crawler import cli, daemon
from crawler.demo.portal import PortalServer
from tests.conftest import REPO
from tests.daemons import wait_until
from tests.deploy_files import (
    COMPOSE,
    DAEMON_UNIT,
    DEPLOY,
    DOCKERFILE,
    INSTALLED_CONFIG,
    INSTALLED_NEWSWATCH,
    SERVE_UNIT,
    command_line,
    dockerfile_stages,
    exec_form,
    final_stage,
    healthcheck_command,
    healthcheck_options,
    image_environment,
    instruction,
    read_environment_file,
    read_unit,
    seconds,
)
from tests.servers import SlackWebhook

BIN = Path(sys.executable).parent
NEWSWATCH = BIN / "newswatch"
SANDBOX = Path(__file__).with_name("sandbox.sh")
# Where the program under test lives: the checkout (an editable install) and its venv.
INSTALLED = ":".join(
    str(path) for path in (Path(__file__).resolve().parent.parent, Path(sys.prefix)) if path
)
UNITS = [DAEMON_UNIT, SERVE_UNIT]
# The daemon's longest stop: running checks, crawlers closed, then delivery.
DAEMON_STOP = daemon.STOP_GRACE + 5 + daemon.DELIVERY_GRACE
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(BIN))
    if found is None:
        pytest.skip(f"{name} is not installed here")
    return found


# -- systemd ----------------------------------------------------------------------------


def unit_for_verify(unit: Path, tmp_path: Path) -> Path:
    """A copy of ``unit`` whose ExecStart names this checkout's newswatch: verify checks
    that the program exists, and /opt/newswatch is where the docs install it."""
    text = unit.read_text(encoding="utf-8")
    assert INSTALLED_NEWSWATCH in text
    copy = tmp_path / unit.name
    copy.write_text(text.replace(INSTALLED_NEWSWATCH, str(NEWSWATCH)), encoding="utf-8")
    return copy


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_analyze_verify_finds_nothing(unit: Path, tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    copy = unit_for_verify(unit, tmp_path)
    done = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    # verify exits 0 on unknown keys and bad values too ("ignoring"): any output is a finding
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_analyze_security_rates_the_sandbox_ok(unit: Path, tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    copy = unit_for_verify(unit, tmp_path)
    done = subprocess.run(
        [analyze, "security", "--offline=true", "--threshold=20", "--no-pager", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "Unknown option" in done.stderr or "unrecognized option" in done.stderr:
        pytest.skip(f"this systemd-analyze cannot rate unit files offline: {done.stderr}")
    # an exposure level over 2.0 fails (shown 0 safe .. 10 unsafe; --threshold is x10)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert "Overall exposure level" in done.stdout


def test_the_daemon_unit_matches_what_the_daemon_does() -> None:
    unit = read_unit(DAEMON_UNIT)
    service = unit.service
    assert service("Type") == "notify"  # the daemon sends READY=1 (crawler/systemd.py)
    assert service("NotifyAccess") in (None, "main")
    # systemd.watchdog_interval(): pings every half WatchdogSec (at most HEARTBEAT)
    assert seconds(service("WatchdogSec") or "0") >= 2 * daemon.HEARTBEAT
    assert seconds(service("TimeoutStopSec") or "0") > DAEMON_STOP
    assert service("Restart") == "on-failure"
    prevented = set((service("RestartPreventExitStatus") or "").split())
    assert {str(cli.EXIT_CONFIG), str(cli.EXIT_RUNNING)} <= prevented
    assert service("ExecReload") == "/bin/kill -HUP $MAINPID"
    argv = command_line(service("ExecStart") or "", {})
    assert argv[0] == INSTALLED_NEWSWATCH and argv[-1] == "run"
    assert argv[argv.index("--config") + 1] == INSTALLED_CONFIG
    assert service("User") == "newswatch" or service("DynamicUser") == "yes"
    assert service("StateDirectory") == "newswatch"
    assert service("EnvironmentFile") == "/etc/newswatch/newswatch.env"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "CapabilityBoundingSet": "",
        "UMask": "0077",
    }.items():
        assert service(key) == value, key
    assert "@system-service" in unit.values("Service", "SystemCallFilter")
    assert unit.get("Install", "WantedBy") == "multi-user.target"


def test_the_serve_unit_listens_on_loopback_with_the_daemons_user_and_files() -> None:
    serve, main = read_unit(SERVE_UNIT), read_unit(DAEMON_UNIT)
    argv = command_line(serve.service("ExecStart") or "", {})
    assert argv[0] == INSTALLED_NEWSWATCH and "serve" in argv
    assert argv[argv.index("--host") + 1] == "127.0.0.1" and "--public" not in argv
    for key in ("User", "StateDirectory", "EnvironmentFile", "UMask", "ProtectSystem"):
        assert serve.service(key) == main.service(key), key
    assert serve.service("IPAddressDeny") == "any"


def test_the_sysusers_file_makes_the_units_user_with_the_state_directory_as_home(
    tmp_path: Path,
) -> None:
    sysusers = tool("systemd-sysusers")
    (tmp_path / "etc").mkdir()
    conf = (DEPLOY / "newswatch.sysusers.conf").read_text(encoding="utf-8")
    done = subprocess.run(
        [sysusers, f"--root={tmp_path}", "-"],
        input=conf,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    users = {
        line.split(":")[0]: line.split(":")
        for line in (tmp_path / "etc" / "passwd").read_text(encoding="utf-8").splitlines()
    }
    unit = read_unit(DAEMON_UNIT)
    entry = users[unit.service("User") or ""]
    assert entry[5] == "/var/lib/" + (unit.service("StateDirectory") or "")
    assert entry[6] == "/usr/sbin/nologin"


class NotifySocket:
    """systemd's end of the notification protocol: a datagram socket collecting what
    the service sends to ``$NOTIFY_SOCKET``."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        os.chmod(path, 0o777)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self.closed = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while not self.closed:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            for line in data.decode().splitlines():
                self.messages.append((time.monotonic(), line))

    def seen(self, state: str) -> list[float]:
        return [when for when, line in list(self.messages) if line == state]

    def close(self) -> None:
        self.closed = True
        self.sock.close()


@pytest.fixture
def slack() -> Iterator[SlackWebhook]:
    webhook = SlackWebhook()
    yield webhook
    webhook.close()


def daemon_config(portal: PortalServer, archive: str) -> str:
    return f"""
[archive]
path = "{archive}"

[[sources]]
name = "feeds"
feeds = ["{portal.base}/feeds/zh.xml"]
interval = "2s"
delay = 0

[[rules]]
name = "h20"
keywords = ["H20"]

[[channels]]
name = "slack"
type = "slack"
webhook_url = "${{SLACK_WEBHOOK_URL}}"
timeout = 5
"""


def can_sandbox() -> str | None:
    """Why the sandbox stand-in cannot run here, or None."""
    if os.geteuid() != 0:
        return "the sandbox stand-in mounts file systems: it needs root"
    for name in ("unshare", "setpriv", "mount"):
        if shutil.which(name) is None:
            return f"{name} is not installed"
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return f"unshare -m is not allowed here: {probe.stderr.strip()}"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("sandboxed", [False, True], ids=["plain", "sandboxed"])
def test_the_units_command_lines_run_the_daemon_as_systemd_would(
    sandboxed: bool, portal: PortalServer, slack: SlackWebhook, tmp_path: Path
) -> None:
    """ExecStart with the unit's environment, EnvironmentFile, UMask, NOTIFY_SOCKET and
    WATCHDOG_USEC: READY=1, watchdog pings, alerts sent with the secret from the
    environment file, ExecReload, a second start refused and a missing secret both
    with exit codes the unit does not restart on, SIGTERM within TimeoutStopSec with
    STOPPING=1, and nothing written but the archive, its WAL and its lock, each
    readable by the service's user only. ``sandboxed`` runs it all inside the stand-in
    for ProtectSystem=strict, StateDirectory=, PrivateTmp=, ProtectHome=,
    NoNewPrivileges= and an empty CapabilityBoundingSet= (tests/sandbox.sh)."""
    if sandboxed and (why := can_sandbox()):
        pytest.skip(why)
    unit = read_unit(DAEMON_UNIT)
    state, etc, notify_dir = tmp_path / "state", tmp_path / "etc", tmp_path / "notify"
    for folder in (state, etc, notify_dir):
        folder.mkdir(mode=0o700)
    if sandboxed:
        inside = {
            "state": "/var/lib/newswatch",
            "etc": "/var/lib/newswatch-etc",
            "notify": "/var/lib/newswatch-notify",
        }
    else:
        inside = {"state": str(state), "etc": str(etc), "notify": str(notify_dir)}
    (etc / "newswatch.toml").write_text(
        daemon_config(portal, f"{inside['state']}/newswatch.db"), encoding="utf-8"
    )
    env_file = etc / "newswatch.env"
    env_file.write_text(f"# secrets\nSLACK_WEBHOOK_URL='{slack.url}'\n", encoding="utf-8")
    env_file.chmod(0o600)
    assert unit.service("EnvironmentFile") == "/etc/newswatch/newswatch.env"

    env = {"PATH": SYSTEMD_PATH, "HOME": inside["state"], "LANG": "C.UTF-8"}
    for assignment in unit.values("Service", "Environment"):
        key, _, value = assignment.partition("=")
        env[key] = value
    env.update(read_environment_file(env_file))
    watchdog = seconds(unit.service("WatchdogSec") or "0")
    service_env = {
        **env,
        "NOTIFY_SOCKET": f"{inside['notify']}/notify",
        "WATCHDOG_USEC": str(int(watchdog * 1_000_000)),
    }
    argv = command_line(
        unit.service("ExecStart") or "",
        {INSTALLED_NEWSWATCH: str(NEWSWATCH), INSTALLED_CONFIG: f"{inside['etc']}/newswatch.toml"},
    )
    umask = unit.service("UMask") or "0022"

    def start(environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        if sandboxed:
            launcher = ["unshare", "-m", "--propagation", "private", "sh", str(SANDBOX)]
            launcher += [str(state), str(etc), str(notify_dir), INSTALLED]
        else:
            script = f'umask {umask}; WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"'
            launcher = ["sh", "-c", script, "sh"]
        return subprocess.Popen(
            [*launcher, *argv],
            env=environment,
            cwd=state,
            stdin=subprocess.DEVNULL,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def text(log: Path) -> str:
        return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""

    def ran(environment: dict[str, str], log: Path) -> tuple[int, str]:
        process = start(environment, log)
        return process.wait(60), text(log)

    notify = NotifySocket(notify_dir / "notify")
    log = tmp_path / "journal"
    process = start(service_env, log)
    try:
        wait_until(
            lambda: notify.seen("READY=1") or process.poll() is not None,
            min(seconds(unit.service("TimeoutStartSec") or "90"), 60),
            "READY=1",
        )
        if sandboxed and "sandbox ready" not in text(log):
            pytest.skip(f"the sandbox stand-in cannot run here: {text(log)[-500:]}")
        assert notify.seen("READY=1"), text(log)
        # the secret came from the environment file; alerts went out with it
        wait_until(lambda: slack.delivered, 30, "an alert through the webhook")
        assert notify.seen("WATCHDOG=1")

        reload = command_line(unit.service("ExecReload") or "", {"$MAINPID": str(process.pid)})
        subprocess.run(reload, check=True, timeout=10)
        wait_until(lambda: "config reloaded" in text(log), 15, "the reload")
        assert process.poll() is None

        prevented = (unit.service("RestartPreventExitStatus") or "").split()
        code, second = ran(env, tmp_path / "second")
        assert code == cli.EXIT_RUNNING and str(code) in prevented, second
        assert f"PID {process.pid}" in second
        without_secret = {k: v for k, v in env.items() if k != "SLACK_WEBHOOK_URL"}
        code, missing = ran(without_secret, tmp_path / "missing")
        assert code == cli.EXIT_CONFIG and str(code) in prevented, missing
        assert "newswatch.toml" in missing and "SLACK_WEBHOOK_URL" in missing

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)  # KillSignal=, systemd's default
        assert process.wait(seconds(unit.service("TimeoutStopSec") or "90")) == 0
        assert time.monotonic() - started < DAEMON_STOP
        assert notify.seen("STOPPING=1")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        notify.close()
    journal = text(log)
    assert "daemon started" in journal and "stopped:" in journal
    assert slack.url not in journal
    # WatchdogSec= is met: pings at most half of it apart
    pings = notify.seen("WATCHDOG=1")
    assert all(b - a < watchdog / 2 + 1 for a, b in zip(pings, pings[1:], strict=False))
    # UMask=0077 and the state directory: nothing else written, nothing others can read
    written = {p.name: p.stat().st_mode & 0o777 for p in state.iterdir()}
    assert "newswatch.db" in written and "newswatch.db.lock" in written
    assert set(written) <= {
        "newswatch.db",
        "newswatch.db-wal",
        "newswatch.db-shm",
        "newswatch.db.lock",
    }
    assert all(mode & 0o077 == 0 for mode in written.values()), written


# -- the Dockerfile and compose.yaml ---------------------------------------------------


def test_hadolint_passes_the_dockerfile() -> None:
    hadolint = tool("hadolint")
    done = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dockerfile_has_what_a_service_image_needs() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "a build stage and a slim final stage"
    final = final_stage()
    from dockerfile_parse import DockerfileParser

    base = DockerfileParser(path=str(DOCKERFILE)).baseimage
    assert base.startswith("python:3.11-slim"), base
    runs = " ".join(instruction(final, "RUN"))
    for build_tool in ("gcc", "build-essential", "pip install", "-dev"):
        assert build_tool not in runs, build_tool
    assert any(v.startswith("--from=") for v in instruction(final, "COPY"))
    (user,) = instruction(final, "USER")
    assert user.split(":")[0] not in ("root", "0")
    assert instruction(final, "VOLUME") == ['["/data"]']
    assert instruction(final, "STOPSIGNAL") == ["SIGTERM"]
    (entrypoint,) = instruction(final, "ENTRYPOINT")
    assert exec_form(entrypoint) == ["tini", "--", "newswatch"]
    assert "tini" in runs  # installed in the final stage, runs as PID 1
    (cmd,) = instruction(final, "CMD")
    assert exec_form(cmd) == ["run"]
    assert "newswatch status --require-daemon" in " ".join(healthcheck_command())
    options = healthcheck_options()
    assert {"interval", "timeout", "start-period", "retries"} <= set(options)
    assert image_environment()["NEWSWATCH_CONFIG"] == INSTALLED_CONFIG


def test_the_build_context_holds_what_the_dockerfile_copies_and_no_archive() -> None:
    """.dockerignore lets in every COPY source and keeps out .venv, archives and tests."""
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def matches(pattern: str, path: str) -> bool:
        # a pattern names a path or a folder above it; "**/" lets it start at any depth
        parts = path.split("/")
        anywhere = pattern.startswith("**/")
        pattern = pattern.removeprefix("**/").rstrip("/")
        starts = range(len(parts)) if anywhere else range(1)
        return any(
            fnmatch.fnmatch("/".join(parts[start:end]), pattern)
            for start in starts
            for end in range(start + 1, len(parts) + 1)
        )

    def sent(path: str) -> bool:
        included = True  # the last pattern that matches decides
        for pattern in patterns:
            if matches(pattern.removeprefix("!"), path):
                included = pattern.startswith("!")
        return included

    for stage in dockerfile_stages():
        for value in instruction(stage, "COPY"):
            if value.startswith("--from="):
                continue
            for source in value.split()[:-1]:
                assert sent(source), source
    for kept_out in (".venv/bin/python", "newswatch.db", "tests/test_deploy.py", ".git/HEAD"):
        assert not sent(kept_out), kept_out


@pytest.mark.parametrize("compose", [COMPOSE, COMPOSE.with_name("compose.cluster.yaml")])
def test_compose_file_is_valid_compose(compose: Path) -> None:
    checker = tool("check-jsonschema")
    done = subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(compose)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_cluster_compose_file_runs_redis_an_archive_node_and_workers() -> None:
    """Issue 12: ``docker compose -f compose.cluster.yaml up --scale worker=4``."""
    compose = yaml.safe_load(COMPOSE.with_name("compose.cluster.yaml").read_text("utf-8"))
    services = compose["services"]
    assert services["archive"]["command"] == ["run", "--role", "archive"]
    assert services["worker"]["command"] == ["run", "--role", "worker"]
    assert "container_name" not in services["worker"]  # --scale needs no fixed name
    archive_mounts = {m["target"] for m in services["archive"]["volumes"]}
    worker_mounts = {m["target"] for m in services["worker"]["volumes"]}
    assert "/data" in archive_mounts and "/data" not in worker_mounts
    for name in ("archive", "worker"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["archive"]["healthcheck"]["test"] == ["CMD", *healthcheck_command()]
    assert "--appendonly" in services["redis"]["command"]


def test_compose_runs_the_daemon_and_the_reading_room_on_one_archive_volume() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = compose["services"]
    daemon_service, serve = services["newswatch"], services["serve"]
    assert daemon_service["command"] == ["run"]
    assert seconds(daemon_service["stop_grace_period"]) > DAEMON_STOP
    assert daemon_service["restart"] in ("unless-stopped", "always", "on-failure")
    assert daemon_service["healthcheck"]["test"] == ["CMD", *healthcheck_command()]
    assert "archive" in compose["volumes"]
    for service in (daemon_service, serve):
        mounts = {m["target"]: m for m in service["volumes"]}
        assert mounts["/data"]["type"] == "volume" and mounts["/data"]["source"] == "archive"
        config = mounts[INSTALLED_CONFIG]
        assert config["type"] == "bind" and config["read_only"] is True
        assert service["env_file"]  # secrets from the environment, not the image
    assert serve["command"][0] == "serve"
    assert all(str(port).startswith("127.0.0.1:") for port in serve["ports"])


@pytest.mark.slow
def test_the_image_entrypoint_runs_the_daemon_as_pid_1_and_the_healthcheck_tells(
    portal: PortalServer, slack: SlackWebhook, tmp_path: Path
) -> None:
    """ENTRYPOINT + CMD with the image's environment, tini as PID 1 of a new PID
    namespace (as in a container); the HEALTHCHECK command is unhealthy without a
    daemon, healthy once it runs and its source is checked, unhealthy again after
    STOPSIGNAL, which the daemon obeys with exit 0 within compose's grace period; SIGHUP
    to PID 1 reloads the config; the documented backups work on the live archive."""
    psutil = pytest.importorskip("psutil")
    tini = tool("tini")
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    config = tmp_path / "newswatch.toml"
    config.write_text(daemon_config(portal, str(data / "newswatch.db")), encoding="utf-8")
    image_env = image_environment()
    paths = [p for p in image_env["PATH"].split(":") if p]
    assert paths == ["/opt/newswatch/bin"]
    env = {
        **{k: v for k, v in image_env.items() if k != "PATH"},
        "PATH": f"{BIN}:{os.environ.get('PATH', SYSTEMD_PATH)}",
        "HOME": str(data),
        "NEWSWATCH_CONFIG": str(config),
        "SLACK_WEBHOOK_URL": slack.url,  # compose's env_file
    }
    health = healthcheck_command()

    def healthcheck(environment: dict[str, str] = env) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            health, env=environment, cwd=data, capture_output=True, text=True, timeout=60
        )

    before = healthcheck()
    assert before.returncode == 1 and "no daemon is running" in before.stdout, before
    broken = healthcheck({**env, "NEWSWATCH_CONFIG": str(tmp_path / "missing.toml")})
    assert broken.returncode == 1, broken  # status exits 2: reported as unhealthy

    final = final_stage()
    command = exec_form(instruction(final, "ENTRYPOINT")[0]) + exec_form(
        instruction(final, "CMD")[0]
    )
    assert command[0] == "tini"
    log = tmp_path / "container.log"
    container = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--kill-child", tini, *command[1:]],
        env=env,
        cwd=data,
        stdin=subprocess.DEVNULL,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        children = wait_until(
            lambda: psutil.Process(container.pid).children() or container.poll() is not None,
            10,
            "the container's PID 1",
        )
        if container.poll() is not None:
            pytest.skip(f"unshare --pid is not allowed here: {log.read_text()[-500:]}")
        (init,) = children
        ns_pids = next(
            line.split()[1:]
            for line in Path(f"/proc/{init.pid}/status").read_text().splitlines()
            if line.startswith("NSpid:")
        )
        assert ns_pids[-1] == "1", ns_pids  # tini is PID 1 in its namespace
        wait_until(lambda: healthcheck().returncode == 0, 90, "a healthy daemon")
        wait_until(lambda: slack.delivered, 30, "an alert with the secret from env_file")
        check_live_backups(data / "newswatch.db", tmp_path)
        init.send_signal(signal.SIGHUP)  # docker compose kill -s HUP: tini passes it on
        wait_until(lambda: "config reloaded" in log.read_text(), 15, "the reload")
        started = time.monotonic()
        init.send_signal(signal.SIGTERM)  # docker stop: STOPSIGNAL to PID 1
        assert container.wait(30) == 0
        assert time.monotonic() - started < DAEMON_STOP
    finally:
        if container.poll() is None:
            container.kill()
            container.wait(10)
    assert "stopped:" in log.read_text(encoding="utf-8", errors="replace")
    after = healthcheck()
    assert after.returncode == 1 and "no daemon is running" in after.stdout, after


def check_live_backups(db: Path, tmp_path: Path) -> None:
    """deploy/README.md's backups, taken while the daemon writes: ``VACUUM INTO`` through
    Python's sqlite3 (as in the image) and the sqlite3 program's ``.backup``; each copy
    passes ``integrity_check`` and holds every article stored before it was taken."""

    def articles(path: Path) -> int:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
        finally:
            conn.close()

    stored = articles(db)
    assert stored > 0
    vacuumed = tmp_path / "vacuumed.db"
    script = f"import sqlite3; sqlite3.connect('{db}').execute(\"VACUUM INTO '{vacuumed}'\")"
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    copies = [vacuumed]
    if shutil.which("sqlite3"):
        copied = tmp_path / "backup.db"
        subprocess.run(["sqlite3", str(db), f".backup '{copied}'"], check=True, timeout=60)
        copies.append(copied)
    for copy in copies:
        assert not copy.with_name(copy.name + "-wal").exists()  # one self-contained file
        assert articles(copy) >= stored, copy


# -- documentation -------------------------------------------------------------------


def test_deploy_readme_covers_install_operation_backups_and_monitoring() -> None:
    text = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for needle in (
        "systemctl enable --now newswatch",
        "systemctl reload newswatch",
        "journalctl -u newswatch",
        "/etc/newswatch/newswatch.env",
        "docker compose up",
        ".backup",
        "VACUUM INTO",
        "--require-daemon",
        "fonts-noto-cjk",
        "tini",
    ):
        assert needle in text, needle
    main = (REPO / "README.md").read_text(encoding="utf-8")
    assert "deploy/README.md" in main
