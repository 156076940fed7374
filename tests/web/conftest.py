"""A real headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by
Selenium) on the page of the ``sandlot serve local`` the session runs.

One browser and one server per pytest process; each test gets its own tab (its own
sessionStorage: a new shell) and, afterwards, the shells it left running are killed
through the API (the leak check sees them: they carry the run's tag).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandlot._web import assets_missing
from targets import infrastructure_env
from targets.serve import Server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: Long enough for a slow CI machine, short of anything a working page needs.
WAIT = 15.0


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """The browser: headless, one per pytest process."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install -e '.[test]')")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            _unavailable(f"{path} is missing (apt-get install chromium chromium-driver)")
    if missing := assets_missing():
        _unavailable(f"the page is not built ({', '.join(missing)}): run python web/build.py")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # as root (CI), Chromium's own sandbox cannot start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=900,600",
    ):
        options.add_argument(arg)
    # Untagged, like the other test servers: the leak check is for what the tests start.
    service = Service(CHROMEDRIVER, env=infrastructure_env())
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


class Page:
    """One tab on the server's page, and what the tests read and type."""

    def __init__(self, driver: Any, server: Server) -> None:
        self.driver = driver
        self.server = server
        #: the server's terminals before the test (the session's server is shared)
        self.before = {t["id"] for t in terminals(server)}

    def open(self, token: str | None = None, base: str | None = None) -> None:
        token = self.server.token if token is None else token
        base = base or self.server.base
        # Headless, the page's clipboard is Chromium's own; let the page (and the test) use it.
        permissions = ["clipboardReadWrite", "clipboardSanitizedWrite"]
        self.driver.execute_cdp_cmd(
            "Browser.grantPermissions", {"permissions": permissions, "origin": base}
        )
        self.driver.get(f"{base}/#token={token}")

    def wait(self, what: str, predicate: Callable[[], object], timeout: float = WAIT) -> Any:
        """Poll ``predicate`` until it is truthy (the page changes asynchronously)."""
        from selenium.webdriver.support.ui import WebDriverWait

        message = f"waited {timeout} s for {what}; status {self.status()!r}; screen:\n"
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(
                lambda _: predicate()
            )
        except Exception as exc:
            if type(exc).__name__ == "TimeoutException":
                pytest.fail(message + self.screen())
            raise

    def status(self) -> str:
        text: str = self.driver.execute_script(
            "return document.getElementById('status').textContent"
        )
        return text

    def wait_status(self, text: str) -> None:
        self.wait(f"status {text!r}", lambda: self.status() == text)

    def screen(self) -> str:
        """The terminal's text (scrollback included), one line per row, trailing blanks cut."""
        text: str = self.driver.execute_script(
            "const t = window.sandlot && window.sandlot.term; if (!t) return '';"
            "const b = t.buffer.active, lines = [];"
            "for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));"
            "return lines.join('\\n')"
        )
        return text

    def lines(self) -> list[str]:
        return self.screen().rstrip("\n").split("\n")

    def matching(self, pattern: str) -> list[re.Match[str]]:
        """The lines of output matching ``pattern`` as a whole. A line may start with a
        prompt: a command typed before the prompt came back is echoed at once, and its
        output then follows the prompt on one line."""
        regex = re.compile(f"(?:.*[#$>] )?(?:{pattern})")
        return [m for line in self.lines() if (m := regex.fullmatch(line.rstrip()))]

    def wait_line(self, pattern: str) -> re.Match[str]:
        """The first line of output matching ``pattern``, once there is one."""
        found: list[re.Match[str]] = self.wait(
            f"a line matching {pattern!r}", lambda: self.matching(pattern)
        )
        return found[0]

    def size(self) -> tuple[int, int]:
        rows, cols = self.driver.execute_script(
            "const t = window.sandlot.term; return [t.rows, t.cols]"
        )
        return int(rows), int(cols)

    def type(self, text: str) -> None:
        """Keys into the terminal (xterm.js takes them from its hidden textarea)."""
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys(text)

    def ctrl(self, key: str, shift: bool = False) -> None:
        """Ctrl+key (Ctrl+Shift+key), pressed as a user would."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        mods = [Keys.CONTROL, Keys.SHIFT] if shift else [Keys.CONTROL]
        chain = ActionChains(self.driver)
        for mod in mods:
            chain.key_down(mod)
        chain.send_keys(key)
        for mod in reversed(mods):
            chain.key_up(mod)
        chain.perform()

    def clipboard(self, text: str | None = None) -> str:
        """The browser's clipboard (written first when ``text`` is given)."""
        script = (
            "const [text, done] = arguments; const c = navigator.clipboard;"
            "(text === null ? Promise.resolve() : c.writeText(text))"
            ".then(() => c.readText()).then(done, (e) => done('error: ' + e))"
        )
        found: str = self.driver.execute_async_script(script, text)
        return found

    def select_line(self, text: str) -> None:
        """Select (as with the mouse) the terminal's line that reads ``text``."""
        found = self.driver.execute_script(
            "const [text] = arguments, t = window.sandlot.term, b = t.buffer.active;"
            "for (let i = b.length - 1; i >= 0; i--)"
            "  if (b.getLine(i).translateToString(true) === text) {"
            "    t.select(0, i, text.length); return t.getSelection(); }"
            "return null",
            text,
        )
        assert found == text, f"no line {text!r} to select"

    def screenshot(self, path: Path) -> None:
        self.driver.save_screenshot(str(path))

    def terminals(self) -> list[dict[str, Any]]:
        """The terminals started during the test, through the API."""
        return [t for t in terminals(self.server) if t["id"] not in self.before]


def api(server: Server) -> httpx.Client:
    headers = {"Authorization": f"Bearer {server.token}"}
    return httpx.Client(base_url=server.base, headers=headers, timeout=WAIT)


def terminals(server: Server) -> list[dict[str, Any]]:
    with api(server) as client:
        listed = client.get("/v1/processes").raise_for_status().json()["processes"]
    return [p for p in listed if p["tty"]]


def _end_terminals(page: Page) -> None:
    """Kill every shell the test left running, wait for it to end, forget them all."""
    with api(page.server) as client:
        for proc in page.terminals():
            if proc["status"] == "running":
                client.post(f"/v1/processes/{proc['id']}/kill", json={"signal": "SIGKILL"})
        deadline = time.monotonic() + WAIT
        while any(p["status"] == "running" for p in page.terminals()):
            assert time.monotonic() < deadline, "the shells did not end"
            time.sleep(0.05)  # the kill is asynchronous: poll for its outcome
        for proc in page.terminals():
            client.delete(f"/v1/processes/{proc['id']}")


@pytest.fixture
def page(chromium: Any, serve_server: Server) -> Iterator[Page]:
    """A new tab on the page of the session's ``sandlot serve local`` (the conformance
    suite's: one server per pytest process)."""
    first = chromium.current_window_handle
    chromium.switch_to.new_window("tab")
    chromium.set_window_size(900, 600)
    page = Page(chromium, serve_server)
    try:
        yield page
    finally:
        chromium.close()
        chromium.switch_to.window(first)
        _end_terminals(page)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the run's screenshots go (``$SANDLOT_SCREENSHOTS``, else the run's tmp)."""
    where = os.environ.get("SANDLOT_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


class Proxy:
    """A TCP relay to the server whose connections the test can cut: a network drop."""

    def __init__(self, port: int) -> None:
        self._upstream = ("127.0.0.1", port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._down = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        """Drop every connection, and refuse new ones until :meth:`restore`."""
        with self._lock:
            self._down = True
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        with self._lock:
            self._down = False

    def close(self) -> None:
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._down:
                    client.close()
                    continue
            try:
                server = socket.create_connection(self._upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, server]
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    def _relay(self, a: socket.socket, b: socket.socket) -> None:
        peer = {a: b, b: a}
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [])
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peer[sock].sendall(data)
        except OSError:
            return
        finally:
            with self._lock:
                for sock in (a, b):
                    sock.close()
                    if sock in self._open:
                        self._open.remove(sock)


@pytest.fixture
def proxy(serve_server: Server) -> Iterator[Proxy]:
    relay = Proxy(serve_server.port)
    try:
        yield relay
    finally:
        relay.close()
