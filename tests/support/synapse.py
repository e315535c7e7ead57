"""A real Synapse homeserver for tests: installed once, started per test session.

Synapse lives in its own cached virtual environment (`.cache/synapse-venv`), because
its dependency tree (Twisted and friends) must not leak into the project's one. Each
server gets a fresh directory with its own configuration, SQLite database and log.

    with Synapse(tmp_dir) as server:
        alice = server.register("alice")
        ...  # talk to server.base_url with any Matrix client
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

# A range, not one version: any 1.x release after the config options used here exist.
SYNAPSE_REQUIREMENT = "matrix-synapse>=1.140,<2"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO_ROOT / ".cache" / "synapse-venv"
INSTALL_TIMEOUT_S = 900.0


class SynapseUnavailable(RuntimeError):
    """Synapse could not be installed (for example no package registry reachable)."""


@dataclass(frozen=True)
class Rate:
    """One Synapse rate limiter: a token bucket refilled at per_second, holding burst_count."""

    per_second: float
    burst_count: int

    def as_config(self) -> dict[str, float | int]:
        return {"per_second": self.per_second, "burst_count": self.burst_count}


# Generous enough that no test trips a limit by accident; low enough to stay finite.
GENEROUS = Rate(per_second=1000, burst_count=10000)
# For the rate-limit test. rc_message is Synapse's per-user request limiter: it counts
# sends and also some other actions (creating a room takes one of the three tokens).
LOW_MESSAGE_RATE = Rate(per_second=0.5, burst_count=3)


@dataclass(frozen=True)
class MatrixUser:
    """A registered account; access_token/device_id belong to the registration's own device."""

    user_id: str
    localpart: str
    password: str
    access_token: str
    device_id: str


def ensure_installed(venv: Path = DEFAULT_VENV) -> Path:
    """Return the Python of a virtual environment with Synapse, installing it if needed.

    A file lock keeps two pytest processes from installing at once; the stamp file is
    written last, so an interrupted install is detected and redone.
    """
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if stamp.is_file() and stamp.read_text() == SYNAPSE_REQUIREMENT and python.exists():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / (venv.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and stamp.read_text() == SYNAPSE_REQUIREMENT:
            return python  # the other process finished the install while we waited
        shutil.rmtree(venv, ignore_errors=True)
        log = venv.parent / (venv.name + "-install.log")
        try:
            with open(log, "w") as out:
                for cmd in (
                    [sys.executable, "-m", "venv", str(venv)],
                    [str(python), "-m", "pip", "install", "--quiet", SYNAPSE_REQUIREMENT],
                ):
                    subprocess.run(
                        cmd, stdout=out, stderr=out, check=True, timeout=INSTALL_TIMEOUT_S
                    )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise SynapseUnavailable(
                f"installing {SYNAPSE_REQUIREMENT} failed ({exc}); see {log}:\n{_tail(log, 5)}"
            ) from exc
        stamp.write_text(SYNAPSE_REQUIREMENT)
    return python


class Synapse:
    """One homeserver process on 127.0.0.1 with server_name `localhost`, no federation."""

    server_name = "localhost"

    def __init__(
        self,
        workdir: Path,
        *,
        message_rate: Rate = GENEROUS,
        extra_config: dict[str, Any] | None = None,
        ready_timeout_s: float = 60.0,
    ) -> None:
        self.workdir = workdir
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "homeserver.log"
        self.startup_seconds: float | None = None
        self._message_rate = message_rate
        self._extra_config = extra_config or {}
        self._ready_timeout_s = ready_timeout_s
        self._shared_secret = secrets.token_hex(16)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        python = ensure_installed()
        config = self._write_config()
        started = time.monotonic()
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                [str(python), "-m", "synapse.app.homeserver", "-c", str(config)],
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started

    def stop(self, timeout_s: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> Synapse:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def register(self, localpart: str, *, admin: bool = False) -> MatrixUser:
        """Create an account through the shared-secret admin API (registration is closed)."""
        url = f"{self.base_url}/_synapse/admin/v1/register"
        nonce = _request_json("GET", url)["nonce"]
        password = secrets.token_urlsafe(12)
        # HMAC-SHA1 over nonce, user, password and admin flag, separated by NULs.
        message = "\0".join([nonce, localpart, password, "admin" if admin else "notadmin"])
        mac = hmac.new(self._shared_secret.encode(), message.encode(), hashlib.sha1)
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        reply = _request_json("POST", url, body)
        return MatrixUser(
            user_id=reply["user_id"],
            localpart=localpart,
            password=password,
            access_token=reply["access_token"],
            device_id=reply["device_id"],
        )

    def _write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        signing_key = self.workdir / "signing.key"
        # Synapse's key format is "ed25519 <key id> <unpadded base64 seed>"; any 32 random
        # bytes are a valid seed, so we save a `--generate-keys` run (~1 s) per server.
        seed = base64.b64encode(os.urandom(32)).decode().rstrip("=")
        signing_key.write_text(f"ed25519 a_test {seed}\n")
        generous = GENEROUS.as_config()
        config: dict[str, Any] = {
            "server_name": self.server_name,
            "public_baseurl": self.base_url + "/",
            "pid_file": str(self.workdir / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    # Only the client API: no federation resource is served at all.
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(self.workdir / "hs.db")}},
            "media_store_path": str(self.workdir / "media"),
            "signing_key_path": str(signing_key),
            "registration_shared_secret": self._shared_secret,
            "enable_registration": False,
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "url_preview_enabled": False,
            "presence": {"enabled": False},  # no presence traffic to wait behind in syncs
            "bcrypt_rounds": 4,  # the default 12 costs ~0.25 s per registration and login
            "rc_message": self._message_rate.as_config(),
            "rc_registration": generous,
            "rc_login": {"address": generous, "account": generous, "failed_attempts": generous},
            "rc_joins": {"local": generous, "remote": generous},
            "rc_joins_per_room": generous,
            "rc_invites": {"per_room": generous, "per_user": generous, "per_issuer": generous},
            "rc_room_creation": generous,
            "rc_key_requests": generous,
            "rc_presence": {"per_user": generous},
            **self._extra_config,
        }
        path = self.workdir / "homeserver.yaml"
        # JSON is valid YAML, so no YAML library is needed to write the config.
        path.write_text(json.dumps(config, indent=2))
        return path

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self._ready_timeout_s
        url = f"{self.base_url}/_matrix/client/versions"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"Synapse exited with {self._process.returncode}; "
                    f"{self.log_path}:\n{_tail(self.log_path)}"
                )
            try:
                _request_json("GET", url, timeout_s=1.0)
                return
            except (urllib.error.URLError, ConnectionError):
                # Wait for the next poll, or return early if the process dies meanwhile.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._process.wait(timeout=0.05)
        raise TimeoutError(
            f"Synapse not ready after {self._ready_timeout_s} s; "
            f"{self.log_path}:\n{_tail(self.log_path)}"
        )


def _request_json(
    method: str, url: str, body: dict[str, Any] | None = None, *, timeout_s: float = 10.0
) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            result: dict[str, Any] = json.load(response)
            return result
    except urllib.error.HTTPError as exc:
        # Matrix errors carry errcode and error in the body: show them, not just "400".
        raise RuntimeError(f"{method} {url} -> {exc.code}: {exc.read().decode()}") from exc


def _free_port() -> int:
    # The OS picks a free port; Synapse binds it a moment later (a small, accepted race).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
