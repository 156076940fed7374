"""``sandlot shell`` end to end in a real terminal (tmux), and its non-tty fallback."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._tmux import Tmux
from .conftest import CLI

# Prints a marker computed by the remote shell (so the typed text cannot match it).
READY = ["sh", "-c", "echo READY$((20+1)); exec sh"]
# An answer starts a line, or follows the prompt when typed-ahead input was echoed first.
AT_LINE_START = r"(?:^|[#$] )"


@pytest.fixture
def tmux(cli: CLI, tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is required in CI (Debian package tmux)")
        pytest.skip("tmux is not installed (Debian package tmux)")
    t = Tmux(tmp_path, cli.env)
    try:
        yield t
    finally:
        t.close()


def start_shell(
    tmux: Tmux, cli: CLI, sandbox: str, *command: str, rows: int = 24, cols: int = 80
) -> None:
    tmux.run(cli.argv("shell", sandbox, "--", *command), rows=rows, cols=cols)


def test_typing_reaches_the_remote_shell_and_exit_code_comes_back(
    tmux: Tmux, cli: CLI, sandbox: str
) -> None:
    start_shell(tmux, cli, sandbox, *READY)
    tmux.wait_for(r"^READY21$")
    tmux.line("echo $((6*7))")
    tmux.wait_for(AT_LINE_START + r"42$")
    tmux.line("exit 5")
    assert tmux.finish() == 5


def test_initial_size_and_resizes_are_forwarded(tmux: Tmux, cli: CLI, sandbox: str) -> None:
    start_shell(tmux, cli, sandbox, *READY, rows=24, cols=80)
    tmux.wait_for(r"^READY21$")
    tmux.line("stty size")
    tmux.wait_for(AT_LINE_START + r"24 80$")
    tmux.resize(rows=30, cols=100)
    tmux.wait_size(30, 100)
    tmux.resize(rows=50, cols=20)
    tmux.wait_size(50, 20)
    tmux.line("exit")
    assert tmux.finish(same_size=False) == 0


def test_ctrl_c_interrupts_the_remote_program_not_the_bridge(
    tmux: Tmux, cli: CLI, sandbox: str
) -> None:
    start_shell(tmux, cli, sandbox, *READY)
    tmux.wait_for(r"^READY21$")
    # Whether ^C lands before or after the exec, the foreground job ends by SIGINT.
    tmux.line("sh -c 'echo $((10+1)); exec sleep 60'")
    tmux.wait_for(r"^11$")
    tmux.keys("C-c")
    # Only reachable if ^C went to the remote `sleep`: the wait is shorter than the sleep.
    tmux.line('echo "$?x"')
    tmux.wait_for(AT_LINE_START + r"130x$", timeout=20)
    tmux.line("exit 3")
    assert tmux.finish() == 3


def test_output_written_just_before_exit_is_not_lost(tmux: Tmux, cli: CLI, sandbox: str) -> None:
    start_shell(tmux, cli, sandbox, "sh", "-c", "seq 1 500 | tail -n 3; echo BYE$((1+1)); exit 9")
    assert tmux.finish() == 9
    tmux.wait_for(r"^498\n499\n500\nBYE2$")


@pytest.mark.parametrize("sandbox", ["local", "ssh_root"], indirect=True)
def test_killed_by_a_signal_gives_128_plus_n(tmux: Tmux, cli: CLI, sandbox: str) -> None:
    start_shell(tmux, cli, sandbox, "sh", "-c", "kill -TERM $$")
    assert tmux.finish() == 143


@pytest.mark.parametrize("sandbox", ["local", "ssh_user", "daytona"], indirect=True)
def test_command_not_found_leaves_the_terminal_alone(tmux: Tmux, cli: CLI, sandbox: str) -> None:
    start_shell(tmux, cli, sandbox, "no-such-command-xyz")
    assert tmux.finish() == 127
    tmux.wait_for(r"^sandlot: error: command not found: 'no-such-command-xyz'$")


def test_terminal_restored_when_the_cli_is_terminated(tmux: Tmux, cli: CLI) -> None:
    # Locally the remote shell's parent is the CLI itself.
    start_shell(tmux, cli, "local", *READY)
    tmux.wait_for(r"^READY21$")
    tmux.line("kill -TERM $PPID")
    assert tmux.finish() == 143


def test_default_command_is_the_login_shell(tmux: Tmux, cli: CLI) -> None:
    tmux.env["SHELL"] = "/bin/sh"
    tmux.run(cli.argv("shell"))
    tmux.wait_for(r"[#$] *$")  # the prompt of a login shell
    tmux.line("echo $((6*7))")
    tmux.wait_for(AT_LINE_START + r"42$")
    tmux.line("exit 6")
    assert tmux.finish() == 6


def test_without_a_terminal_it_falls_back_to_pipes(cli: CLI) -> None:
    r = cli.run("shell", "--", "sh", input=b"echo $((6*7)); test -t 0 || echo notty\nexit 3\n")
    assert (r.returncode, r.stdout, r.stderr) == (3, b"42\nnotty\n", b"")


@pytest.mark.parametrize("sandbox", ["ssh_user"], indirect=True)
def test_connection_loss_restores_the_terminal(
    tmux: Tmux, cli: CLI, sandbox: str, request: pytest.FixtureRequest
) -> None:
    sshd = request.getfixturevalue("sshd")
    start_shell(tmux, cli, sandbox, *READY)
    tmux.wait_for(r"^READY21$")
    for pid in sshd.connection_pids():  # the server side of our connection dies
        os.kill(pid, signal.SIGKILL)
    assert tmux.finish() == 255
    tmux.wait_for(r"sandlot: error: the SSH connection to sandlot-test@127\.0\.0\.1:\d+ was lost$")


def test_exec_from_a_terminal_forwards_lines_and_ctrl_d(tmux: Tmux, cli: CLI) -> None:
    # `exec` leaves the terminal in line mode: a line goes on Enter, Ctrl-D is EOF.
    tmux.run(cli.argv("exec", "--", "sh", "-c", "echo READY$((20+1)); cat; echo END$((1+1))"))
    tmux.wait_for(r"^READY21$")
    tmux.line("hello")
    tmux.wait_for(r"^hello\nhello$")  # the local echo, then cat's copy
    tmux.keys("C-d")
    tmux.wait_for(r"^END2$")
    assert tmux.finish() == 0


def test_exec_from_a_terminal_ctrl_c_stops_the_command(tmux: Tmux, cli: CLI) -> None:
    tmux.run(cli.argv("exec", "--", "sh", "-c", "echo READY$((20+1)); exec sleep 60"))
    tmux.wait_for(r"^READY21$")
    tmux.keys("C-c")  # SIGINT to sandlot, which stops the command (the leak check agrees)
    assert tmux.finish() == 130


@pytest.mark.parametrize("sandbox", ["local", "ssh_user"], indirect=True)
def test_closing_the_terminal_ends_the_bridge_and_the_remote_program(
    tmux: Tmux, cli: CLI, sandbox: str
) -> None:
    start_shell(tmux, cli, sandbox, "sh", "-c", "echo READY$((20+1)); exec sleep 60")
    tmux.wait_for(r"^READY21$")
    tmux.close()  # SIGHUP: the leak check then finds neither sandlot nor the `sleep`
