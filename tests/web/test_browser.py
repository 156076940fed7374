"""The page of ``sandlot serve`` in a real headless Chromium: a shell in the sandbox."""

from __future__ import annotations

from pathlib import Path

from .conftest import Page, Proxy


def _connected(page: Page) -> None:
    """Connected, and the shell has printed its prompt."""
    page.wait_status("connected")
    page.wait("the shell's prompt", lambda: page.screen().strip())


def test_a_shell_in_the_page_with_copy_paste_and_ctrl_c(page: Page, screenshots: Path) -> None:
    page.open()
    _connected(page)
    # The token left the address bar (and the history) as soon as the page read it.
    assert page.driver.current_url == f"{page.server.base}/"
    page.type("echo $((6*7))\n")
    page.wait_line("42")
    page.screenshot(screenshots / "web-terminal.png")
    # Copy (Ctrl+Shift+C) a selection, paste (Ctrl+Shift+V) into the shell.
    page.select_line("42")
    page.ctrl("c", shift=True)
    page.wait("the copy", lambda: page.clipboard() == "42")
    page.clipboard("echo pasted-$((3*3))")
    page.ctrl("v", shift=True)
    page.type("\n")
    page.wait_line("pasted-9")
    # Ctrl-C interrupts the program, and the shell takes commands again.
    page.type("echo sleeping; sleep 30; echo slept\n")
    page.wait_line("sleeping")
    page.ctrl("c")
    page.type("echo back $((1+1))\n")
    page.wait_line("back 2")  # well within the 30 s of the sleep
    assert page.matching("slept") == []


def test_the_pty_follows_the_window(page: Page) -> None:
    page.open()
    _connected(page)
    first = page.size()
    page.type("stty size\n")
    page.wait_line(f"{first[0]} {first[1]}")
    page.driver.set_window_size(640, 400)
    page.wait("the terminal to shrink", lambda: page.size() != first)
    rows, cols = page.size()
    assert rows < first[0] and cols < first[1]
    page.type("stty size\n")
    page.wait_line(f"{rows} {cols}")


def test_a_reload_finds_the_same_shell_and_its_exit_is_shown(page: Page) -> None:
    from selenium.webdriver.common.by import By

    page.open()
    _connected(page)
    page.type("echo pid=$$\n")
    pid = page.wait_line(r"pid=(\d+)").group(1)
    # A query to the terminal (DA1; its 7-byte answer read here): replayed after the
    # reload, it must not be answered again into the shell's input.
    # (One line: keys typed ahead would be what `head` reads.)
    page.type(
        "stty -echo -icanon; printf '\\033[c'; head -c 7 >/dev/null; stty sane; echo queried\n"
    )
    page.wait_line("queried")
    page.driver.refresh()
    _connected(page)
    page.wait_line(f"pid={pid}")  # the output before the reload, replayed
    page.wait_line("queried")
    page.type("echo again=$$\n")
    page.wait_line(f"again={pid}")
    assert len(page.terminals()) == 1
    page.type("exit 3\n")
    page.wait_status("the shell exited with status 3")
    page.wait_line(r"\[the shell exited with status 3\]")
    assert [t["exitCode"] for t in page.terminals()] == [3]
    # Another shell, on the button; the ended one is forgotten.
    page.driver.find_element(By.ID, "new-shell").click()
    _connected(page)
    page.type("echo new=$$\n")
    assert page.wait_line(r"new=(\d+)").group(1) != pid
    page.wait("the old shell forgotten", lambda: len(page.terminals()) == 1)
    assert page.terminals()[0]["status"] == "running"


def test_a_wrong_token_gets_no_terminal(page: Page) -> None:
    from selenium.webdriver.common.by import By

    page.open(token="not-the-token")
    page.wait_status("not connected")
    login = page.driver.find_element(By.ID, "login")
    assert login.is_displayed()
    assert page.driver.find_element(By.ID, "login-message").text == "Wrong token."
    assert not page.driver.find_element(By.ID, "terminal").is_displayed()
    assert page.terminals() == []  # nothing started
    # The form takes the right one (and the token never becomes part of a URL).
    page.driver.find_element(By.ID, "token").send_keys(page.server.token + "\n")
    _connected(page)
    assert page.driver.current_url == f"{page.server.base}/"
    assert len(page.terminals()) == 1


def test_a_dropped_connection_is_shown_then_resumed(page: Page, proxy: Proxy) -> None:
    from selenium.webdriver.common.by import By

    page.open(base=proxy.base)
    _connected(page)
    page.type("echo pid=$$\n")
    pid = page.wait_line(r"pid=(\d+)").group(1)
    proxy.cut()
    page.wait("the drop", lambda: page.status().startswith("connection lost; reconnecting"))
    assert "offline" in page.driver.find_element(By.ID, "terminal").get_attribute("class")
    proxy.restore()
    page.wait_status("connected")
    page.type("echo again=$$\n")
    page.wait_line(f"again={pid}")
    # Resumed from the page's byte cursor: nothing shown twice.
    assert len(page.matching(f"pid={pid}")) == 1
