"""Property: any argv and env values (any text without NUL) arrive byte-for-byte."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sandlot
from targets.ssh import TEST_USER, Sshd

# Any text a process can receive: no NUL, no lone surrogates (not encodable).
text = st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40
)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True).map(
    lambda n: f"SANDLOT_Q_{n}"  # never clobbers PATH, HOME, ...
)


@pytest.fixture(params=["asyncio", "trio"])
def remote(
    request: pytest.FixtureRequest, sshd: Sshd
) -> Iterator[tuple[BlockingPortal, sandlot.Sandbox]]:
    """One Sandbox for all examples, driven from the synchronous hypothesis test."""
    with start_blocking_portal(request.param) as portal:
        cm = sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options())
        with portal.wrap_async_context_manager(cm) as sb:
            yield portal, sb


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(args=st.lists(text, min_size=1, max_size=6), env=st.dictionaries(names, text, max_size=4))
def test_argv_and_env_arrive_byte_for_byte(
    remote: tuple[BlockingPortal, sandlot.Sandbox], args: list[str], env: dict[str, str]
) -> None:
    portal, sb = remote
    r = portal.call(lambda: sb.exec("printf", ["%s\\0", *args], env=env))
    assert r.exit == sandlot.ExitStatus(code=0), r
    assert r.stdout == b"".join(a.encode() + b"\0" for a in args)
    assert r.stderr == b""
    r = portal.call(lambda: sb.exec("env", ["-0"], env=env))
    got = dict(item.partition(b"=")[::2] for item in r.stdout.split(b"\0") if item)
    for name, value in env.items():
        assert got[name.encode()] == value.encode()


@pytest.mark.parametrize(
    "arg",
    [
        "",
        " ",
        "'",
        '"',
        "\\",
        "$HOME",
        "`id`",
        "$(id)",
        "a\nb",
        "\r\n",
        "é☃😀",
        "-n",
        "*",
        "~",
        "!x",
        "%s",
    ],
)
def test_awkward_arguments(remote: tuple[BlockingPortal, sandlot.Sandbox], arg: str) -> None:
    portal, sb = remote
    r = portal.call(lambda: sb.exec("printf", ["%s\\0", arg, arg], env={"V": arg}))
    assert r.stdout == (arg.encode() + b"\0") * 2
    r = portal.call(lambda: sb.exec("sh", ["-c", 'printf "%s" "$V"'], env={"V": arg}))
    assert r.stdout == arg.encode()


def test_text_that_cannot_be_encoded_is_rejected_before_launch(
    remote: tuple[BlockingPortal, sandlot.Sandbox],
) -> None:
    portal, sb = remote
    with pytest.raises(sandlot.InvalidArgument, match="must be encodable as UTF-8"):
        portal.call(lambda: sb.exec("echo", ["\ud94d"]))
    assert portal.call(lambda: sb.exec("echo", ["still fine"])).stdout == b"still fine\n"
