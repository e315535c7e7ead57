"""The files in deploy/ agree with the code and with each other.

Building the image needs a Docker daemon and the network; that test runs only with
BACKCOACH_TEST_DOCKER=1. Everything else here reads the files.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import load_config
from bot.matrix.settings import from_env

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SETTING = re.compile(r"(BACKCOACH|TELEGRAM|MATRIX)_[A-Z0-9_]+")
SETTING_SOURCES = [
    ROOT / "bot" / "config.py",
    ROOT / "bot" / "matrix" / "settings.py",
    ROOT / "bot" / "worker.py",
]


def settings_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for source in SETTING_SOURCES:
        if not source.exists():
            continue
        for node in ast.walk(ast.parse(source.read_text("utf-8"))):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and SETTING.fullmatch(value):
                names.add(value)
    return names


def example_lines() -> list[str]:
    return (DEPLOY / "backcoach.env.example").read_text("utf-8").splitlines()


def documented_settings() -> set[str]:
    """Every KEY=... line, commented out (a default) or not."""
    found = (re.match(r"#?([A-Z][A-Z0-9_]*)=", line) for line in example_lines())
    return {m.group(1) for m in found if m}


def active_settings() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in example_lines() if re.match(r"[A-Z]", line))
    return {key: value for key, value in pairs}


# -- the example environment file --------------------------------------------------------------


def test_every_setting_the_code_reads_is_in_the_example() -> None:
    read = settings_read_by_the_code()
    assert {"BACKCOACH_DATA_DIR", "TELEGRAM_BOT_TOKEN", "BACKCOACH_LOG_FORMAT"} <= read
    assert read - documented_settings() == set()


def test_the_example_documents_no_setting_that_does_not_exist() -> None:
    assert documented_settings() - settings_read_by_the_code() == set()


def test_every_setting_in_the_example_has_an_explanation() -> None:
    lines = example_lines()
    for i, line in enumerate(lines):
        if re.match(r"#?[A-Z][A-Z0-9_]*=", line):
            above = lines[i - 1]
            assert above.startswith("#"), f"no comment above {line!r}"


def test_the_example_as_shipped_is_a_valid_configuration() -> None:
    env = active_settings()
    assert env == {"TELEGRAM_BOT_TOKEN": ""}  # all else shows its default, commented out
    config = load_config(env)
    assert config.telegram_token is None
    assert from_env(env) is None


def test_the_defaults_shown_in_the_example_are_the_real_defaults() -> None:
    defaults = load_config({})
    shown = {}
    for line in example_lines():
        m = re.fullmatch(r"#([A-Z][A-Z0-9_]*)=(\S+)", line)
        if m:
            shown[m.group(1)] = m.group(2)
    assert shown["BACKCOACH_LANG"] == defaults.default_lang
    assert shown["BACKCOACH_TZ"] == defaults.default_tz
    assert float(shown["BACKCOACH_TICK_SECONDS"]) == defaults.tick_seconds
    assert shown["BACKCOACH_LOG_LEVEL"] == defaults.log_level
    assert shown["BACKCOACH_LOG_FORMAT"] == defaults.log_format
    assert int(shown["BACKCOACH_RETENTION_DAYS"]) == defaults.retention_days
    assert int(shown["BACKCOACH_INACTIVE_DAYS"]) == defaults.inactive_days
    assert float(shown["TELEGRAM_MAX_PER_SECOND"]) == defaults.telegram_rate
    assert shown["BACKCOACH_LISTEN_HOST"] == defaults.listen_host
    assert int(shown["BACKCOACH_LISTEN_PORT"]) == defaults.listen_port
    assert shown["BACKCOACH_DATA_DIR"] == str(defaults.data_dir)


# -- compose -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_has_the_bot_and_postgresql_16(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"bot", "postgres"}
    postgres = services["postgres"]
    assert postgres["image"].split(":")[1].startswith("16")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "postgres-data:/var/lib/postgresql/data" in postgres["volumes"]
    assert "postgres-data" in compose["volumes"]


def test_the_bot_waits_for_a_healthy_database(compose: dict[str, Any]) -> None:
    bot = compose["services"]["bot"]
    assert bot["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert bot["env_file"] == "backcoach.env"
    assert (DEPLOY / bot["env_file"]).with_suffix(".env.example").exists()
    assert bot["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / bot["build"]["context"] / bot["build"]["dockerfile"]).resolve().exists()
    assert "bot-data:/data" in bot["volumes"]
    assert "bot-data" in compose["volumes"]
    assert bot["restart"] == "unless-stopped"


def test_the_bot_uses_the_compose_database(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]["environment"]
    env = compose["services"]["bot"]["environment"]
    url = env["BACKCOACH_DATABASE_URL"].replace("${POSTGRES_PASSWORD}", "pw")
    assert url == (
        f"postgresql+asyncpg://{postgres['POSTGRES_USER']}:pw@postgres:5432/"
        f"{postgres['POSTGRES_DB']}"
    )
    assert load_config({"BACKCOACH_DATABASE_URL": url}).db_url == url


# -- the image ---------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text("utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def instructions(name: str) -> list[str]:
    return [args for instruction, args in dockerfile_instructions() if instruction == name]


def test_the_image_runs_as_a_non_root_user_with_data_in_a_volume() -> None:
    users = instructions("USER")
    assert users, "no USER"
    assert users[-1].split(":")[0] not in ("root", "0")
    assert instructions("VOLUME") == ['["/data"]']
    env = " ".join(instructions("ENV"))
    assert "BACKCOACH_DATA_DIR=/data" in env
    assert any(args.startswith("${PYTHON_IMAGE}") for args in instructions("FROM"))
    assert any("python:3.11-slim" in args for args in instructions("ARG"))


def test_the_image_has_a_health_check_that_works_without_a_server() -> None:
    (check,) = instructions("HEALTHCHECK")
    assert check.endswith('CMD ["backcoach", "doctor", "--quick"]')


def test_the_image_installs_the_project_and_copies_what_exists() -> None:
    assert any("pip install ." in args for args in instructions("RUN"))
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text("utf-8").splitlines()
    for args in instructions("COPY"):
        if "--from=" in args:
            continue
        *sources, _target = [a for a in args.split() if not a.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), source
            assert f"!{source.rstrip('/')}" in {line.rstrip("/") for line in ignore}, source


def test_the_entrypoint_migrates_before_it_serves(tmp_path: Path) -> None:
    """Run the entrypoint with a stand-in `backcoach` that records how it was called."""
    (entry,) = instructions("ENTRYPOINT")
    assert entry == '["/usr/local/bin/docker-entrypoint.sh"]'
    assert instructions("CMD") == ['["run"]']
    script = DEPLOY / "docker-entrypoint.sh"
    assert script.stat().st_mode & stat.S_IXUSR
    calls = tmp_path / "calls"
    fake = tmp_path / "backcoach"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}

    def entrypoint(*args: str) -> list[str]:
        calls.write_text("")
        subprocess.run(["sh", str(script), *args], env=env, check=True, timeout=30)
        return calls.read_text().splitlines()

    assert entrypoint() == ["db upgrade", "run"]
    assert entrypoint("run") == ["db upgrade", "run"]
    assert entrypoint("doctor", "--quick") == ["doctor --quick"]  # no upgrade behind its back


# -- systemd -----------------------------------------------------------------------------------


def unit() -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (DEPLOY / "backcoach.service").read_text("utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, value = line.split("=", 1)
        current.setdefault(key, []).append(value)
    return sections


def test_the_systemd_unit_runs_as_its_own_user_and_restarts_on_failure() -> None:
    service = unit()["Service"]
    assert service["User"] == ["backcoach"]
    assert service["EnvironmentFile"] == ["/etc/backcoach/backcoach.env"]
    assert service["Restart"] == ["on-failure"]
    assert service["ExecStartPre"][0].endswith("backcoach db upgrade")
    assert service["ExecStart"][0].endswith("backcoach run")
    assert unit()["Install"]["WantedBy"] == ["multi-user.target"]


def test_the_systemd_unit_is_hardened_and_may_write_its_data_dir() -> None:
    service = unit()["Service"]
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "PrivateDevices"):
        assert service[key] == ["yes"], key
    assert service["ProtectSystem"] == ["strict"]
    data_dir = next(
        v.split("=", 1)[1] for v in service["Environment"] if v.startswith("BACKCOACH_DATA_DIR=")
    )
    assert data_dir in service["ReadWritePaths"][0].split()
    assert service["StateDirectory"] == [Path(data_dir).name]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_knows_every_key_in_the_unit(tmp_path: Path) -> None:
    copy = tmp_path / "backcoach.service"
    shutil.copy(DEPLOY / "backcoach.service", copy)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    complaints = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if re.search(r"Unknown|Invalid|Failed to parse|bad|unsupported", line, re.IGNORECASE)
    ]
    assert complaints == []


# -- documentation -----------------------------------------------------------------------------


def test_the_guide_covers_the_three_ways_to_run() -> None:
    guide = (DEPLOY / "README.md").read_text("utf-8")
    for part in ("systemd", "nginx", "X-Telegram-Bot-Api-Secret-Token", "/healthz", "compose"):
        assert part in guide
    assert "SKIP LOCKED" in guide
    assert "deploy/README.md" in (ROOT / "README.md").read_text("utf-8")


# -- building the image (opt-in) ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("BACKCOACH_TEST_DOCKER") != "1",
    reason="set BACKCOACH_TEST_DOCKER=1 (needs a Docker daemon and the network)",
)
def test_the_image_builds_and_passes_its_own_health_check() -> None:
    tag = "backcoach:deploy-test"

    def docker(*args: str) -> str:
        result = subprocess.run(
            ["docker", *args], cwd=ROOT, capture_output=True, text=True, timeout=1800
        )
        assert result.returncode == 0, result.stderr[-4000:]
        return result.stdout

    docker("build", "-f", "deploy/Dockerfile", "-t", tag, ".")
    assert docker("run", "--rm", "--entrypoint", "id", tag, "-u").strip() == "10001"
    docker("run", "--rm", tag, "content", "check")
    docker(
        "run",
        "--rm",
        "--read-only",
        "--entrypoint",
        "sh",
        "--tmpfs",
        "/data",
        tag,
        "-c",
        "backcoach db upgrade && backcoach doctor --quick",
    )
