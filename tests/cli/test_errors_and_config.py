"""The CLI's error lines and exit codes, and named sandboxes from the config file."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import CLI, one_error_line


def free_port() -> int:
    """A local port nobody listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_command_not_found_exits_127(cli: CLI) -> None:
    r = cli.run("exec", "--", "no-such-command-xyz", "arg")
    assert r.returncode == 127
    assert one_error_line(r) == "command not found: 'no-such-command-xyz'"
    assert r.stdout == b""


def test_debug_shows_the_traceback_and_still_ends_with_the_line(cli: CLI) -> None:
    r = cli.run("--debug", "exec", "--", "no-such-command-xyz")
    err = r.stderr.decode()
    assert r.returncode == 127
    assert "Traceback" in err and "CommandNotFound" in err
    assert err.endswith("sandlot: error: command not found: 'no-such-command-xyz'\n")
    r = cli.run("exec", "--debug", "--", "no-such-command-xyz")
    assert r.returncode == 127 and "Traceback" in r.stderr.decode()


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("ftp://host", "unknown sandbox scheme 'ftp'"),
        ("ssh://", "malformed sandbox URL 'ssh://'"),
        ("ssh://u:pw@host", "do not put a password in the URL"),
        ("ssh:/x", "malformed sandbox URL 'ssh:/x'"),
        ("daytona://", "expected daytona://<id>"),
    ],
)
def test_bad_url_is_a_usage_error(cli: CLI, url: str, needle: str, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    r = cli.run("exec", url, "--", "touch", str(marker))
    assert r.returncode == 2
    assert needle in one_error_line(r)
    assert "pw" not in r.stderr.decode().replace("password", "")
    assert not marker.exists()


def test_unknown_name_points_at_the_config_file(cli: CLI, config_file: Path) -> None:
    config_file.write_text('[sandboxes.other]\nurl = "local"\n')
    r = cli.run("exec", "nosuchname", "--", "true")
    assert r.returncode == 2
    msg = one_error_line(r)
    assert msg.startswith("unknown sandbox 'nosuchname': not a URL")
    assert str(config_file) in msg


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["exec"], "no command given"),
        (["exec", "local"], "no command given"),
        (["exec", "local", "echo", "hi"], "put the command after '--'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: COMMAND"),
        (["exec", "--timeout"], "expected one argument"),
    ],
)
def test_usage_errors_exit_2_with_one_line(cli: CLI, argv: list[str], needle: str) -> None:
    r = cli.run(*argv)
    assert r.returncode == 2
    assert needle in one_error_line(r)


def test_refused_connection_exits_255(cli: CLI) -> None:
    port = free_port()
    r = cli.run("exec", f"ssh://nobody@127.0.0.1:{port}", "--", "true")
    assert r.returncode == 255
    assert one_error_line(r) == f"cannot reach nobody@127.0.0.1:{port}: Connection refused"


def test_unknown_host_exits_255(cli: CLI) -> None:
    r = cli.run("exec", "ssh://nobody@no-such-host.invalid", "--", "true")
    assert r.returncode == 255
    msg = one_error_line(r)
    assert msg.startswith("cannot reach nobody@no-such-host.invalid")


def test_named_sandbox_from_the_config_file(cli: CLI, config_file: Path) -> None:
    config_file.write_text('[sandboxes.here]\nurl = "local"\n')
    r = cli.run("exec", "here", "--", "echo", "named")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"named\n", b"")


def test_a_name_that_is_a_scheme_but_no_url_is_looked_up(cli: CLI, config_file: Path) -> None:
    # "ssh" alone is no URL (no host): a sandbox may be named so; "local" is a URL.
    config_file.write_text('[sandboxes.ssh]\nurl = "local"\n[sandboxes.local]\nurl = "ssh://h"\n')
    r = cli.run("exec", "ssh", "--", "echo", "named")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"named\n", b"")
    r = cli.run("exec", "local", "--", "echo", "url")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"url\n", b"")


def test_sandlot_sandbox_env_is_the_default(cli: CLI, config_file: Path) -> None:
    config_file.write_text('[sandboxes.here]\nurl = "local"\n')
    r = cli.run("exec", "--", "echo", "env", SANDLOT_SANDBOX="here")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"env\n", b"")
    r = cli.run("exec", "--", "true", SANDLOT_SANDBOX="nosuchname")
    assert r.returncode == 2
    assert one_error_line(r).startswith("unknown sandbox 'nosuchname'")


def test_named_ssh_sandbox_passes_its_options(cli: CLI, config_file: Path) -> None:
    # The options reach the SSH backend: a connection to a closed port fails as usual.
    port = free_port()
    known = config_file.parent / "known_hosts"
    known.write_text("")
    config_file.write_text(
        "[sandboxes.build]\n"
        f'url = "ssh://ci@127.0.0.1:{port}"\n'
        f'known_hosts = "{known}"\n'
        "connect_timeout = 5\n"
    )
    r = cli.run("exec", "build", "--", "true")
    assert r.returncode == 255
    assert one_error_line(r) == f"cannot reach ci@127.0.0.1:{port}: Connection refused"


def test_fast_receive_is_a_config_key() -> None:
    from sandlot._cli._config import Named, backend_options

    opts = backend_options(Named("b", "ssh://h", {"fast_receive": True}))["ssh"]
    assert opts.fast_receive is True
    assert backend_options(Named("b", "ssh://h", {"agent": False}))["ssh"].fast_receive is False


@pytest.mark.parametrize(
    ("text", "code", "needle"),
    [
        ("[sandboxes.x\n", 2, "is not valid TOML"),
        ("[sandboxes.x]\nhost = 'a'\n", 2, "[sandboxes.x] needs url ="),
        ("[other]\n", 2, "unknown section(s) ['other']"),
        ("[sandboxes.x]\nurl = 'local'\ncolour = 'red'\n", 2, "the local backend takes no"),
        ("[sandboxes.x]\nurl = 'ssh://h'\nbogus = 1\n", 2, "unknown ssh option 'bogus'"),
        ("[sandboxes.x]\nurl = 'ssh://h'\nconnect_timeout = -1\n", 2, "must be positive"),
        ("[sandboxes.x]\nurl = 'ssh://h'\nfast_receive = 'on'\n", 2, "must be a bool"),
        ("[sandboxes.x]\nurl = 'ftp://h'\n", 2, "unknown sandbox scheme 'ftp'"),
        ("[sandboxes.x]\nurl = 'daytona://d'\nbogus = 1\n", 2, "unknown daytona option 'bogus'"),
    ],
)
def test_bad_config_is_a_usage_error(
    cli: CLI, config_file: Path, text: str, code: int, needle: str
) -> None:
    config_file.write_text(text)
    r = cli.run("exec", "x", "--", "true")
    assert r.returncode == code
    assert needle in one_error_line(r)


@pytest.mark.parametrize(
    ("url", "key"), [("ssh://h", "password"), ("ssh://h", "passphrase"), ("daytona://d", "api_key")]
)
def test_secrets_are_refused_in_the_config_and_never_echoed(
    cli: CLI, config_file: Path, url: str, key: str
) -> None:
    config_file.write_text(f"[sandboxes.x]\nurl = '{url}'\n{key} = 'hunter2'\n")
    r = cli.run("exec", "x", "--", "true")
    assert r.returncode == 2
    msg = one_error_line(r)
    assert f"{key!r} is a secret and does not belong in the config file" in msg
    assert "hunter2" not in r.stderr.decode()


def test_missing_config_file_from_env_is_an_error(cli: CLI, config_file: Path) -> None:
    r = cli.run("exec", "x", "--", "true")
    assert r.returncode == 2
    assert (
        one_error_line(r)
        == f"config file {str(config_file)!r} (from $SANDLOT_CONFIG) does not exist"
    )


def test_console_script_and_python_m_agree(cli: CLI) -> None:
    import sys

    script = Path(sys.executable).parent / "sandlot"
    a = subprocess.run([str(script), "--version"], capture_output=True, env=cli.env, timeout=30)
    b = cli.run("--version")
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout == b"sandlot 0.1.0\n"


def ssh_entry(sshd: Any, user: str, **options: str) -> str:
    opts = {"known_hosts": sshd.known_hosts, "identity_file": sshd.client_key, **options}
    lines = [f'url = "{sshd.url(user)}"', "agent = false", "config = []"]
    lines += [f'{k} = "{v}"' for k, v in opts.items()]
    return "[sandboxes.x]\n" + "\n".join(lines) + "\n"


def test_unknown_host_key_exits_255(cli: CLI, config_file: Path, tmp_path: Path, sshd: Any) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    config_file.write_text(ssh_entry(sshd, "root", known_hosts=str(empty)))
    r = cli.run("exec", "x", "--", "true")
    assert r.returncode == 255
    msg = one_error_line(r)
    assert "host key" in msg and f"127.0.0.1:{sshd.port}" in msg, msg


def test_auth_failure_exits_255(cli: CLI, config_file: Path, tmp_path: Path, sshd: Any) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    config_file.write_text(ssh_entry(sshd, "root", identity_file=str(stranger)))
    r = cli.run("exec", "x", "--", "true")
    assert r.returncode == 255
    msg = one_error_line(r)
    assert "root@127.0.0.1" in msg and "auth" in msg.lower(), msg


def test_known_hosts_false_accepts_any_host_key(cli: CLI, config_file: Path, sshd: Any) -> None:
    text = ssh_entry(sshd, "root").replace(
        f'known_hosts = "{sshd.known_hosts}"', "known_hosts = false"
    )
    assert "known_hosts = false" in text
    config_file.write_text(text)
    r = cli.run("exec", "x", "--", "echo", "in")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"in\n", b"")
