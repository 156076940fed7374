// The page of `sandlot serve`: a terminal (xterm.js) on a pty in the served sandbox.
//
// The token comes from the login form or a `#token=` fragment (never sent to the server
// in a URL, but as `Authorization: Bearer` and, since a browser's WebSocket cannot set
// headers, in the terminal WebSocket's query). It and the terminal's id are kept in
// sessionStorage: a reload reattaches to the same shell, whose recent output the server
// replays.
import { Terminal } from "./vendor/xterm.mjs";
import { FitAddon } from "./vendor/addon-fit.mjs";

const TOKEN_KEY = "sandlot.token";
const TERMINAL_KEY = "sandlot.terminal";
// Like `sandlot shell`: the sandbox user's login shell.
const SHELL = ["sh", "-c", 'exec "${SHELL:-/bin/sh}" -l'];
const RETRY_MS = [250, 500, 1000, 2000]; // then every 2 s
const REPLAY_BYTES = 1 << 20; // per request of the kept output

const $ = (id) => document.getElementById(id);
const encoder = new TextEncoder();

let token = null;
let term = null;
let fit = null;
let socket = null;
let terminalId = null;
let ended = false;
let retries = 0;
let retryTimer = null;
let cursor = 0; // the offset in the terminal's output up to which the page has it
let muted = 0; // replayed chunks being parsed: what the emulator answers is not input

function status(text, kind = "") {
  const el = $("status");
  el.textContent = text;
  el.className = kind;
}

function takeFragmentToken() {
  // Not URLSearchParams: it would read a "+" in the token as a space.
  const field = location.hash.slice(1).split("&").find((f) => f.startsWith("token="));
  if (field !== undefined) {
    let value = field.slice("token=".length);
    try {
      value = decodeURIComponent(value);
    } catch {
      // not percent-encoded: taken as it is
    }
    sessionStorage.setItem(TOKEN_KEY, value);
    // Out of the address bar, the history and any bookmark made from here on.
    history.replaceState(null, "", location.pathname + location.search);
  }
}

function api(method, path, body) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.error?.message ?? `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

function showLogin(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  if (socket) socket.close();
  $("terminal").hidden = true;
  $("new-shell").hidden = true;
  $("login").hidden = false;
  $("login-message").textContent = message;
  status("not connected", "error");
  $("token").focus();
}

async function start() {
  takeFragmentToken();
  token = sessionStorage.getItem(TOKEN_KEY);
  let response;
  try {
    response = await api("GET", "v1/sandbox");
  } catch {
    status("cannot reach the server", "error");
    return;
  }
  if (response.status === 401) {
    showLogin(token ? "Wrong token." : "This server needs a token.");
    return;
  }
  if (!response.ok) {
    status(`the server refused: ${await errorText(response)}`, "error");
    return;
  }
  $("sandbox").textContent = (await response.json()).backend ?? "";
  $("login").hidden = true;
  openTerminal();
  await connect();
}

// connect(), and when the server cannot be reached meanwhile, a way to try again.
async function connect() {
  try {
    await findOrStartShell();
  } catch {
    status("cannot reach the server", "error");
    $("new-shell").hidden = false;
  }
}

function openTerminal() {
  $("terminal").hidden = false;
  if (term) return;
  term = new Terminal({
    cursorBlink: true,
    scrollback: 10000,
    fontFamily: '"DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace',
    fontSize: 14,
  });
  fit = new FitAddon();
  term.loadAddon(fit);
  term.open($("terminal"));
  fit.fit();
  // An answer to a query in replayed output (a cursor position report, say) would reach
  // today's program as typed input: dropped.
  term.onData((data) => muted || sendBytes(encoder.encode(data)));
  term.onBinary((data) => muted || sendBytes(Uint8Array.from(data, (c) => c.charCodeAt(0))));
  term.onResize(({ rows, cols }) => sendControl({ type: "resize", rows, cols }));
  term.attachCustomKeyEventHandler(clipboardKeys);
  // Window changes and layout changes alike: the pty follows the cells that fit.
  new ResizeObserver(() => fit.fit()).observe($("terminal"));
  window.sandlot = { term }; // for the console (and the tests)
}

// Ctrl+Shift+C copies the selection, Ctrl+Shift+V pastes (the browser's own paste event,
// which xterm.js turns into input); plain Ctrl+C stays the terminal's interrupt.
function clipboardKeys(event) {
  if (event.type !== "keydown" || !event.ctrlKey || !event.shiftKey) return true;
  if (event.code === "KeyC") {
    event.preventDefault(); // not the browser's inspector
    if (term.hasSelection()) copy(term.getSelection());
    return false;
  }
  return event.code !== "KeyV";
}

function copy(text) {
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).catch(() => document.execCommand("copy"));
  } else {
    document.execCommand("copy"); // xterm.js answers the copy event with its selection
  }
}

function sendBytes(bytes) {
  if (socket && socket.readyState === WebSocket.OPEN && !ended) socket.send(bytes);
}

function sendControl(message) {
  if (socket && socket.readyState === WebSocket.OPEN && !ended) {
    socket.send(JSON.stringify(message));
  }
}

async function findOrStartShell() {
  $("new-shell").hidden = true;
  terminalId = sessionStorage.getItem(TERMINAL_KEY);
  if (terminalId) {
    const found = await api("GET", `v1/processes/${encodeURIComponent(terminalId)}`);
    if (found.status === 401) return showLogin("The token is no longer accepted.");
    if (!found.ok) terminalId = null; // gone: deleted, or the server restarted
  }
  if (!terminalId) {
    const created = await api("POST", "v1/processes", {
      argv: SHELL,
      tty: true,
      rows: term.rows,
      cols: term.cols,
      env: { TERM: "xterm-256color", COLORTERM: "truecolor" },
    });
    if (created.status === 401) return showLogin("The token is no longer accepted.");
    if (!created.ok) {
      status(`cannot start a shell: ${await errorText(created)}`, "error");
      $("new-shell").hidden = false;
      return;
    }
    terminalId = (await created.json()).id;
    sessionStorage.setItem(TERMINAL_KEY, terminalId);
  }
  const refused = await replay();
  if (refused?.status === 401) return showLogin("The token is no longer accepted.");
  if (refused) {
    status(`cannot read the shell's output: ${await errorText(refused)}`, "error");
    $("new-shell").hidden = false;
    return;
  }
  attach();
}

// The output the server kept, read with the API's byte cursor; the WebSocket goes on from
// where it ends (nothing twice, nothing missed). Returns the response that refused.
async function replay() {
  term.reset();
  cursor = 0;
  const path = `v1/processes/${encodeURIComponent(terminalId)}/logs`;
  for (;;) {
    const response = await api("GET", `${path}?cursor=${cursor}&maxBytes=${REPLAY_BYTES}`);
    if (!response.ok) return response;
    const chunk = await response.json();
    const bytes = Uint8Array.from(atob(chunk.data), (c) => c.charCodeAt(0));
    cursor = chunk.nextCursor;
    if (bytes.length) {
      muted += 1;
      term.write(bytes, () => (muted -= 1));
    }
    if (bytes.length < REPLAY_BYTES) return null;
  }
}

function attach() {
  const url = new URL(`v1/processes/${encodeURIComponent(terminalId)}/terminal`, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("cursor", String(cursor));
  if (token) url.searchParams.set("token", token);
  ended = false;
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  socket = ws;
  status("connecting…");
  ws.onopen = () => {
    retries = 0;
    $("terminal").classList.remove("offline");
    status("connected", "ok");
    fit.fit();
    sendControl({ type: "resize", rows: term.rows, cols: term.cols });
    term.focus();
  };
  ws.onmessage = (event) => {
    if (typeof event.data !== "string") {
      cursor += event.data.byteLength;
      term.write(new Uint8Array(event.data));
      return;
    }
    const message = JSON.parse(event.data);
    if (message.type === "exit") showExit(message);
    else if (message.type === "error") {
      status(`error: ${message.error?.message ?? "unknown"}`, "error");
    }
  };
  ws.onclose = (event) => {
    if (socket !== ws) return;
    socket = null;
    if (!ended) lost(event);
  };
}

function showExit(message) {
  ended = true;
  const how = message.signal
    ? `was killed by ${message.signal}`
    : `exited with status ${message.exitCode}`;
  term.write(`\r\n\x1b[7m[the shell ${how}]\x1b[0m\r\n`);
  status(`the shell ${how}`, message.exitCode === 0 ? "ok" : "error");
  $("new-shell").hidden = false;
}

function lost(event) {
  const delay = RETRY_MS[Math.min(retries, RETRY_MS.length - 1)];
  retries += 1;
  $("terminal").classList.add("offline");
  const why = event.code && event.code !== 1006 ? ` (code ${event.code})` : "";
  status(`connection lost${why}; reconnecting in ${delay / 1000} s…`, "error");
  clearTimeout(retryTimer);
  retryTimer = setTimeout(reconnect, delay);
}

async function reconnect() {
  let found;
  try {
    found = await api("GET", `v1/processes/${encodeURIComponent(terminalId)}`);
  } catch {
    lost({});
    return;
  }
  if (found.status === 401) return showLogin("The token is no longer accepted.");
  if (found.status === 404) {
    ended = true;
    status("the shell is gone (did the server restart?)", "error");
    $("new-shell").hidden = false;
    return;
  }
  if (!found.ok) {
    lost({});
    return;
  }
  attach();
}

async function newShell() {
  const old = terminalId;
  sessionStorage.removeItem(TERMINAL_KEY);
  if (socket) {
    const ws = socket;
    socket = null;
    ws.close();
  }
  if (old) {
    // Its output is no longer wanted: free what the server kept (refused while it runs).
    api("DELETE", `v1/processes/${encodeURIComponent(old)}`).catch(() => {});
  }
  await connect();
}

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  start();
});
$("new-shell").addEventListener("click", () => newShell().then(() => term.focus()));

start();
