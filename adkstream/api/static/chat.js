// The chat page: sends a message with POST /v1/runs (SSE over fetch), shows the run as
// it streams, stops it, lists sessions, and resumes a run after a dropped connection or
// a reload from the run id and last seq it keeps in localStorage. A run that ends waiting
// (`run.waiting`) shows a card per request; their answers go to POST
// /v1/runs/{id}/answers, whose new run streams on in place. Opening a session (a reload
// too) shows the cards of its runs that still wait. The Live switch talks
// to the session over its WebSocket instead (live.js).

import { ApiError, getJSON, request, setApiKey } from "./api.js";
import { LiveChat, LiveError } from "./live.js";
import { requestEntry } from "./requests.js";
import { saveTitles, setTitle, titles } from "./titles.js";
import { readEvents, SSEParser } from "./sse.js";
import { Transcript } from "./transcript.js";

const STATE_KEY = "adkstream.chat";
const TERMINAL = new Set(["run.completed", "run.failed", "run.cancelled", "run.waiting"]);
const NARROW = window.matchMedia("(max-width: 720px)"); // chat.css: the sidebar is a drawer
const TITLE_LOOKUPS = 20; // sessions whose title is looked for per refresh, 4 at a time
const STALL_MS = 45_000; // three missed pings (ADKSTREAM_HEARTBEAT_S is 15 s by default)
const MAX_RECONNECTS = 30; // in a row without progress; a reload tries again

const $ = (id) => document.getElementById(id);
const ui = {
  agent: $("agent"),
  agentInfo: $("agent-info"),
  auth: $("auth"),
  authKey: $("auth-key"),
  authMessage: $("auth-message"),
  composer: $("composer"),
  live: $("live"),
  liveStatus: $("live-status"),
  newChat: $("new-chat"),
  prompt: $("prompt"),
  scroller: $("messages"),
  scrim: $("scrim"),
  send: $("send"),
  sessions: $("sessions"),
  sidebar: $("sidebar"),
  sidebarToggle: $("sidebar-toggle"),
  stop: $("stop"),
  typing: $("typing"),
  transcript: $("transcript"),
  typingText: $("typing-text"),
};

const transcript = new Transcript(ui.transcript, ui.scroller, { answer: (entry) => answerRequests(entry) });
const state = {
  agents: [],
  sessionId: null, // the session on screen; null for a new chat
  run: null, // {id, sessionId, agent, lastSeq, retry}: the run being shown
  stopping: false,
};

const live = new LiveChat(transcript, {
  turn(running, agent) {
    setRunning(running);
    if (running) setTyping(agent, "is typing");
  },
  typing: setTyping,
  ended(note) {
    if (note) transcript.note(note.text, note.level);
    setLive("off");
    setRunning(false);
    refreshSessions();
  },
});

// ---- saved state -----------------------------------------------------------------

let saveTimer = 0;

function save() {
  clearTimeout(saveTimer);
  saveTimer = 0;
  const saved = {
    sessionId: state.sessionId,
    agent: ui.agent.value,
    run: state.run && { ...state.run },
    entries: state.run ? transcript.snapshot() : [],
  };
  try {
    localStorage.setItem(STATE_KEY, JSON.stringify(saved));
  } catch {
    // storage full or disabled: the page still works, it just cannot resume
  }
}

function saveSoon() {
  if (!saveTimer) saveTimer = setTimeout(save, 250);
}

function loadSaved() {
  try {
    return JSON.parse(localStorage.getItem(STATE_KEY) || "null");
  } catch {
    return null;
  }
}

// ---- page state ------------------------------------------------------------------

function setRunning(running) {
  document.body.dataset.state = running ? "running" : "idle";
  ui.stop.hidden = !running || live.on; // a live turn is not a run to stop
  ui.live.disabled = running && !live.on;
  ui.stop.disabled = false;
  ui.newChat.disabled = running;
  lockAgent();
  for (const button of ui.sessions.querySelectorAll("button")) button.disabled = running;
  ui.typing.hidden = !running;
  ui.transcript.setAttribute("aria-busy", String(running));
  if (running) setTyping(state.run?.agent || ui.agent.value, "is typing");
  updateSend();
}

// A session belongs to one agent: the picker chooses the agent of a new chat only.
function lockAgent() {
  const locked = document.body.dataset.state === "running" || state.sessionId !== null;
  ui.agent.disabled = locked;
  ui.agent.title = locked ? "A chat stays with its agent: start a new chat to switch" : "";
}

function updateSend() {
  ui.send.disabled =
    document.body.dataset.state === "running" ||
    (document.body.dataset.live !== "off" && !live.accepting) ||
    !ui.prompt.value.trim();
}

function setTyping(who, what) {
  if (ui.typingText.dataset.who === who && ui.typingText.dataset.what === what) return;
  ui.typingText.dataset.who = who;
  ui.typingText.dataset.what = what;
  ui.typingText.replaceChildren();
  const name = document.createElement("strong");
  name.textContent = who;
  ui.typingText.append(name, ` ${what}`);
}

function showError(error) {
  if (error instanceof ApiError && error.status === 401) showAuth(error.message);
  transcript.note(error.message || String(error), "error");
}

function showAuth(message) {
  ui.auth.hidden = false;
  ui.authMessage.textContent = message;
  if (NARROW.matches) openSidebar(); // the form is in the sidebar, a closed drawer
  ui.authKey.focus();
}

function autosize() {
  ui.prompt.style.height = "auto";
  ui.prompt.style.height = `${Math.min(ui.prompt.scrollHeight, 240)}px`;
}

// ---- the sidebar as a drawer (narrow screens) ------------------------------------

function sidebarOpen() {
  return document.body.dataset.sidebar === "open";
}

function openSidebar() {
  document.body.dataset.sidebar = "open";
  ui.sidebarToggle.setAttribute("aria-expanded", "true");
  const first = [ui.newChat, ...ui.sessions.querySelectorAll("button")].find((b) => !b.disabled);
  first?.focus();
}

/** Closes the drawer; focus inside it goes back to the toggle (unless `refocus` is false). */
function closeSidebar({ refocus = true } = {}) {
  if (!sidebarOpen()) return;
  const inside = ui.sidebar.contains(document.activeElement);
  delete document.body.dataset.sidebar;
  ui.sidebarToggle.setAttribute("aria-expanded", "false");
  if (inside && refocus && NARROW.matches) ui.sidebarToggle.focus();
}

function bindSidebar() {
  ui.sidebarToggle.addEventListener("click", () => (sidebarOpen() ? closeSidebar() : openSidebar()));
  ui.scrim.addEventListener("click", () => closeSidebar());
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && sidebarOpen()) {
      e.preventDefault();
      closeSidebar();
    }
  });
  // Tabbing out of the open drawer closes it (a removed button's focus goes nowhere).
  ui.sidebar.addEventListener("focusout", (e) => {
    const to = e.relatedTarget;
    if (to && !ui.sidebar.contains(to) && to !== ui.sidebarToggle) closeSidebar({ refocus: false });
  });
  // Wide again: the sidebar is a column, not a drawer.
  NARROW.addEventListener("change", () => NARROW.matches || closeSidebar({ refocus: false }));
}

// ---- agents and sessions -------------------------------------------------------

async function loadAgents() {
  const { agents } = await getJSON("/v1/agents");
  state.agents = agents;
  ui.agent.replaceChildren(
    ...agents.map((a) => {
      const option = document.createElement("option");
      option.value = a.name;
      option.textContent = a.name;
      option.selected = a.default;
      return option;
    }),
  );
  showAgentInfo();
}

function selectAgent(name) {
  if (name && state.agents.some((a) => a.name === name)) ui.agent.value = name;
  showAgentInfo();
}

function showAgentInfo() {
  const agent = state.agents.find((a) => a.name === ui.agent.value);
  ui.agentInfo.textContent = agent ? agent.description : "";
  ui.prompt.placeholder = `Message ${ui.agent.value || "the agent"}…`;
}

async function refreshSessions() {
  let sessions;
  try {
    ({ sessions } = await getJSON("/v1/sessions"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) showAuth(error.message);
    return;
  }
  const known = titles();
  // Forget the titles of sessions that are gone.
  saveTitles(Object.fromEntries(sessions.filter((s) => known[s.id]).map((s) => [s.id, known[s.id]])));
  ui.sessions.replaceChildren(...sessions.map((s) => sessionItem(s, known[s.id])));
  fillTitles(sessions.filter((s) => !known[s.id] && looked.get(s.id) !== s.updated_at));
}

function sessionItem(session, title) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.sessionId = session.id;
  button.disabled = document.body.dataset.state === "running";
  button.classList.toggle("active", session.id === state.sessionId);
  button.title = `Session ${session.id}`;
  const name = document.createElement("span");
  name.className = "session-title";
  name.textContent = title || untitled(session);
  const meta = document.createElement("span");
  meta.className = "session-meta";
  meta.textContent = `${session.agent} · ${ago(session.updated_at)}`;
  button.append(name, meta);
  button.addEventListener("click", () => {
    closeSidebar();
    openSession(session.id);
  });
  item.append(button);
  return item;
}

// A session with nothing said yet (created with POST /v1/sessions, or its first message
// an image) is told apart by its id: a uuid's first 8 characters, a short id whole.
function untitled(session) {
  const id = session.id.length > 12 ? session.id.slice(0, 8) : session.id;
  return `${session.agent} chat · ${id}`;
}

// Session id -> the updated_at at which its messages were looked through for a title.
const looked = new Map();

// Titles are the first thing the user said; sessions this browser did not start (made
// through the API) get theirs from the session's messages: looked for again only once
// the session has changed, since one made empty may be run later.
async function fillTitles(sessions) {
  const queue = sessions.slice(0, TITLE_LOOKUPS);
  for (const session of queue) looked.set(session.id, session.updated_at); // no second look meanwhile
  const worker = async () => {
    for (let session = queue.shift(); session; session = queue.shift()) {
      let view;
      try {
        view = await getJSON(`/v1/sessions/${encodeURIComponent(session.id)}`);
      } catch (error) {
        looked.delete(session.id); // the next refresh tries again
        if (error instanceof ApiError && error.status === 401) {
          for (const rest of queue.splice(0)) looked.delete(rest.id);
        }
        continue;
      }
      const first = view.messages.find((m) => m.role === "user" && m.text.trim());
      if (!first) continue;
      setTitle(session.id, first.text);
      const button = ui.sessions.querySelector(`button[data-session-id="${CSS.escape(session.id)}"]`);
      if (button) button.querySelector(".session-title").textContent = titles()[session.id];
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

function markActiveSession() {
  for (const button of ui.sessions.querySelectorAll("button")) {
    button.classList.toggle("active", button.dataset.sessionId === state.sessionId);
  }
}

function ago(ts) {
  const s = Math.max(0, Date.now() / 1000 - ts);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ts * 1000).toLocaleDateString();
}

function newChat() {
  live.close();
  state.sessionId = null;
  transcript.clear();
  lockAgent();
  markActiveSession();
  save();
  ui.prompt.focus();
}

async function openSession(sessionId) {
  if (state.run) return;
  live.close();
  let view;
  try {
    view = await getJSON(`/v1/sessions/${encodeURIComponent(sessionId)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      newChat();
      refreshSessions();
    } else showError(error);
    return;
  }
  state.sessionId = view.id;
  selectAgent(view.agent);
  lockAgent();
  transcript.load([...view.messages.flatMap(messageEntries), ...waitingEntries(view.waiting || [])]);
  markActiveSession();
  save();
}

/**
 * The cards of the session's runs that wait unanswered (oldest first), so that they can
 * still be answered after a reload; each request once.
 */
function waitingEntries(waiting) {
  const seen = new Set();
  const entries = [];
  for (const run of waiting) {
    for (const pending of run.pending) {
      if (seen.has(pending.request_id)) continue;
      seen.add(pending.request_id);
      entries.push(requestEntry({ ...pending, run_id: run.run_id }));
    }
  }
  return entries;
}

// A stopped answer (its run was cancelled or interrupted) shows what it said, then why
// it stopped, as it did live.
function messageEntries(message) {
  if (message.role === "user") return [{ kind: "user", text: message.text }];
  const entries = [];
  if (message.text) entries.push({ kind: "message", id: null, author: message.author, text: message.text, done: true });
  if (message.stopped) entries.push({ kind: "note", text: `Stopped (${message.stopped}).`, level: "cancelled" });
  return entries;
}

// ---- runs ------------------------------------------------------------------------

async function send() {
  const text = ui.prompt.value;
  if (!text.trim() || state.run) return;
  if (document.body.dataset.live !== "off") {
    sendLive(text);
    return;
  }
  ui.prompt.value = "";
  autosize();
  const userEntry = transcript.add({ kind: "user", text });
  const body = { message: text, on_disconnect: "continue" };
  if (state.sessionId) body.session_id = state.sessionId;
  else body.agent = ui.agent.value;
  state.stopping = false;
  state.run = { id: null, sessionId: state.sessionId, agent: ui.agent.value, lastSeq: 0, retry: null };
  setRunning(true);
  let response;
  try {
    response = await request("/v1/runs", { method: "POST", body, headers: { Accept: "text/event-stream" } });
  } catch (error) {
    // Nothing started: give the text back so that it can be sent again.
    transcript.remove(userEntry);
    ui.prompt.value = ui.prompt.value || text;
    autosize();
    state.run = null;
    showError(error);
    setRunning(false);
    return;
  }
  const run = state.run;
  run.id = response.headers.get("X-Run-Id");
  run.sessionId = response.headers.get("X-Session-Id");
  if (state.sessionId === null) {
    state.sessionId = run.sessionId;
    setTitle(run.sessionId, text);
    refreshSessions();
  }
  save();
  if (state.stopping) cancelRun(run);
  await follow(run, response);
}

/**
 * A request card got its answer: once every request of its run has one, sends them all
 * and follows the new run (which `resumes` the waiting one) in the same conversation.
 */
async function answerRequests(entry) {
  const entries = transcript.requests(entry.runId);
  if (entries.some((e) => e.draft === null)) {
    transcript.update(entry); // "ready", waiting for the others
    return;
  }
  if (state.run) {
    entry.error = "Wait for the current run to end, then answer.";
    transcript.update(entry);
    return;
  }
  const answers = entries.map((e) => ({ request_id: e.id, ...e.draft }));
  for (const e of entries) {
    e.sending = true;
    e.error = "";
    transcript.update(e);
  }
  const run = { id: null, sessionId: state.sessionId, agent: entry.author, lastSeq: 0, retry: null };
  state.run = run;
  state.stopping = false;
  setRunning(true);
  let response;
  try {
    response = await request(`/v1/runs/${encodeURIComponent(entry.runId)}/answers`, {
      method: "POST",
      body: { answers, on_disconnect: "continue" },
      headers: { Accept: "text/event-stream" },
    });
  } catch (error) {
    state.run = null;
    setRunning(false);
    if (error instanceof ApiError && error.status === 401) showAuth(error.message);
    // The error names the answer at fault (`answers.1.result`) when it can.
    const index = /^answers\.(\d+)/.exec(error.field || "")?.[1];
    const blamed = index !== undefined && entries[Number(index)] ? [entries[Number(index)]] : entries;
    for (const e of entries) {
      e.sending = false;
      if (blamed.includes(e)) e.error = error.message || String(error);
      transcript.update(e);
    }
    return;
  }
  for (const e of entries) {
    e.answered = e.draft;
    e.sending = false;
    transcript.update(e);
  }
  run.id = response.headers.get("X-Run-Id");
  run.sessionId = response.headers.get("X-Session-Id") || run.sessionId;
  save();
  if (state.stopping) cancelRun(run);
  await follow(run, response);
}

/** Reads the run until its terminal event, reconnecting with Last-Event-ID on drops. */
async function follow(run, response) {
  setRunning(true);
  let failures = 0;
  let ended = false;
  try {
    // Without a response (after a reload) the first request goes out at once.
    for (let first = !response; ; first = false) {
      if (response) {
        const before = run.lastSeq;
        if ((await consume(run, response)) === "ended") {
          ended = true;
          return;
        }
        if (run.lastSeq > before) failures = 0;
        response = null;
      }
      if (failures >= MAX_RECONNECTS) {
        transcript.note("Lost the connection to the run; reload the page to try again.", "error");
        return;
      }
      if (!first) {
        setTyping(run.agent, "· connection lost, reconnecting…");
        await sleep(backoff(failures, run.retry));
      }
      failures += 1;
      try {
        response = await request(`/v1/runs/${encodeURIComponent(run.id)}/events`, {
          headers: { Accept: "text/event-stream", "Last-Event-ID": String(run.lastSeq) },
        });
      } catch (error) {
        if (error instanceof ApiError && error.transient) continue;
        showError(error); // the run is gone (404) or not ours to see (401, 403)
        ended = true;
        return;
      }
      if (response.status === 204) {
        await endedMeanwhile(run);
        ended = true;
        return;
      }
      setTyping(run.agent, "is typing");
    }
  } finally {
    transcript.settle();
    transcript.flush();
    if (!ended) save(); // keeps the run, so that a reload tries again
    state.run = null;
    if (ended) save();
    setRunning(false);
    refreshSessions();
  }
}

/** One response's events: "ended" after the terminal event, "dropped" otherwise. */
async function consume(run, response) {
  const parser = new SSEParser();
  const stalled = new AbortController();
  let timer = 0;
  const onChunk = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stalled.abort(), STALL_MS);
  };
  onChunk();
  try {
    for await (const frame of readEvents(response, { parser, onChunk, signal: stalled.signal })) {
      if (parser.retry !== null) run.retry = parser.retry;
      const event = parseData(frame.data);
      if (!event || event.seq <= run.lastSeq) continue; // a replayed duplicate
      run.lastSeq = event.seq;
      onEvent(run, event);
      if (TERMINAL.has(event.type)) return "ended";
    }
  } catch (error) {
    // A TypeError is the network dropping the body mid-stream; anything else is a bug
    // worth seeing, but the run is still best served by reconnecting.
    if (!(error instanceof TypeError)) console.error(error);
  } finally {
    clearTimeout(timer);
  }
  return "dropped";
}

function parseData(data) {
  try {
    const event = JSON.parse(data);
    return typeof event.seq === "number" && typeof event.type === "string" ? event : null;
  } catch {
    return null;
  }
}

function onEvent(run, event) {
  switch (event.type) {
    case "agent.started":
      run.agent = event.author;
      setTyping(event.author, "is typing");
      break;
    case "agent.transfer":
      transcript.note(`${event.from_agent} handed over to ${event.to_agent}`);
      break;
    case "reasoning.delta":
    case "code.call":
      setTyping(event.author, event.type === "code.call" ? "is running code" : "is thinking");
      transcript.apply(event);
      break;
    case "reasoning.completed":
    case "code.result":
      setTyping(event.author, "is typing");
      transcript.apply(event);
      break;
    case "run.failed":
      transcript.note(event.error?.message || "The run failed.", "error");
      break;
    case "run.cancelled":
      transcript.note("Stopped.", "cancelled");
      break;
    case "run.queued":
      // The session's run in progress (another tab, another client) goes first.
      setTyping(run.agent, "waits for the run in progress");
      transcript.note("Waiting for the run in progress to end…");
      break;
    // Not drawn: the run's id came in the response's X-Run-Id; the page has no state
    // panel; an agent's and a turn's ends change nothing on screen; media and ADK's own
    // events come only on runs the page does not start (live runs, ADK-style routes).
    case "run.started":
    case "state.delta":
    case "agent.completed":
    case "turn.completed":
    case "media.delta":
    case "adk.event":
      break;
    default:
      transcript.apply(event);
  }
  if (TERMINAL.has(event.type)) save();
  else saveSoon();
}

/** The events route answered 204: the run ended while we were away. */
async function endedMeanwhile(run) {
  try {
    const view = await getJSON(`/v1/runs/${encodeURIComponent(run.id)}`);
    state.run = null;
    await openSession(run.sessionId);
    if (view.status === "cancelled") transcript.note("Stopped.", "cancelled");
    if (view.status === "failed") transcript.note(view.error?.message || "The run failed.", "error");
  } catch (error) {
    showError(error);
  }
}

async function cancelRun(run) {
  state.stopping = true;
  ui.stop.disabled = true;
  if (!run.id) return; // send() cancels as soon as the run id arrives
  try {
    await request(`/v1/runs/${encodeURIComponent(run.id)}/cancel`, { method: "POST" });
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) return; // it ended already
    showError(error);
    ui.stop.disabled = false;
  }
}

function backoff(failures, retryMs) {
  // The first retry is quick (a proxy's cut is not an outage); then exponential, with
  // jitter, capped by the server's retry hint or 10 s.
  const cap = Math.max(retryMs || 0, 10_000);
  const base = Math.min(cap, 250 * 2 ** failures);
  return base / 2 + Math.random() * (base / 2);
}

/** Waits `ms`, or less when the browser comes back online. */
function sleep(ms) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      window.removeEventListener("online", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    window.addEventListener("online", done);
  });
}

// ---- live mode -------------------------------------------------------------------

function setLive(mode) {
  document.body.dataset.live = mode;
  ui.live.checked = mode !== "off";
  ui.liveStatus.textContent = mode === "connecting" ? "connecting…" : "";
  updateSend();
}

async function startLive() {
  if (state.run || live.on) {
    ui.live.checked = live.on;
    return;
  }
  setLive("connecting");
  try {
    if (state.sessionId === null) {
      // The socket belongs to a session: a new chat gets one first.
      const session = await getJSON("/v1/sessions", { method: "POST", body: { agent: ui.agent.value } });
      state.sessionId = session.id;
      lockAgent();
      save();
      refreshSessions();
      if (!ui.live.checked) throw new LiveError("switched off", { code: "live_cancelled" });
    }
    await live.open(state.sessionId, ui.agent.value);
  } catch (error) {
    setLive("off");
    if (error.code !== "live_cancelled") showError(error); // not if switched off meanwhile
    return;
  }
  setLive("on");
  ui.prompt.focus();
}

function stopLive() {
  live.close(); // the socket's close calls `ended`, which switches the page back
  ui.liveStatus.textContent = live.on ? "closing…" : "";
  updateSend();
}

function sendLive(text) {
  if (!live.accepting) return;
  ui.prompt.value = "";
  autosize();
  transcript.add({ kind: "user", text });
  const untitled = !titles()[state.sessionId];
  setTitle(state.sessionId, text);
  if (untitled) refreshSessions(); // the sidebar shows the new title
  live.send(text);
}

// ---- start -----------------------------------------------------------------------

function bind() {
  ui.composer.addEventListener("submit", (e) => {
    e.preventDefault();
    send();
  });
  ui.prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  ui.prompt.addEventListener("input", () => {
    autosize();
    updateSend();
  });
  ui.stop.addEventListener("click", () => state.run && cancelRun(state.run));
  ui.live.addEventListener("change", () => (ui.live.checked ? startLive() : stopLive()));
  ui.newChat.addEventListener("click", () => {
    closeSidebar({ refocus: false }); // the new chat's prompt takes the focus
    newChat();
  });
  bindSidebar();
  ui.agent.addEventListener("change", () => {
    showAgentInfo();
    save();
  });
  ui.auth.addEventListener("submit", (e) => {
    e.preventDefault();
    setApiKey(ui.authKey.value.trim());
    save();
    window.location.reload();
  });
  window.addEventListener("pagehide", () => {
    live.abort();
    save();
  });
}

async function start() {
  bind();
  setLive("off");
  setRunning(false);
  const saved = loadSaved();
  try {
    await loadAgents();
  } catch (error) {
    showError(error);
    return;
  }
  if (saved?.agent) selectAgent(saved.agent);
  if (saved?.run?.id) {
    // A run was on screen when the page went away: show it as it was, then resume
    // from the last event seen.
    state.sessionId = saved.run.sessionId;
    state.run = { ...saved.run };
    transcript.load(saved.entries || []);
    refreshSessions();
    await follow(state.run, null);
  } else if (saved?.sessionId) {
    refreshSessions();
    await openSession(saved.sessionId);
  } else {
    refreshSessions();
    newChat();
  }
  ui.prompt.focus();
}

start();
