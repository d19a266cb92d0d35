// The conversation on screen: a list of plain entries (kept in localStorage, so that a
// reload shows the same thing) and their DOM. Stream events update the entries; message
// and thinking text is re-rendered as markdown at most once per animation frame.

import { ObjectUrls, artifactNode, fileNode, sourcesNode } from "./attachments.js";
import { renderMarkdown } from "./markdown.js";
import { requestEntry, requestNode, toolStatus } from "./requests.js";

const AUTHOR_COLOURS = 8; // chat.css .author-0 … .author-7
const KEEP_FILE_CHARS = 256 * 1024; // larger files are left out of the saved snapshot
const FILTER_FREE = new Set(["stop", "max_tokens"]);
const STOP_REASONS = {
  safety: "safety filter",
  recitation: "recitation filter",
  blocklist: "blocklist filter",
  prohibited_content: "prohibited content filter",
  spii: "personal information filter",
  image_safety: "image safety filter",
  language: "unsupported language",
  malformed_function_call: "malformed function call",
  other: "unspecified reason",
};
// ADK's own calls that carry a pause (a confirmation, a credential): the request card
// (`input.requested`) shows them instead.
const PAUSE_CALLS = new Set(["adk_request_confirmation", "adk_request_credential"]);
const OUTCOMES = { ok: "done", failed: "failed", deadline_exceeded: "timed out" };

/**
 * Entries:
 *   {kind: "user", text}
 *   {kind: "message", id, author, text, done, finish, files: [{id, mime_type, data, name}],
 *    sources: [{url, title}], queries: [string]}
 *   {kind: "thinking", id, author, text, done, started, ended}  (ts of first delta, of end)
 *   {kind: "code", id, author, language, code, outcome, output, done}
 *   {kind: "tool", id, author, name, args, result, done, standIn}  (standIn: the result is
 *    ADK's stand-in for a paused call, not the tool's)
 *   {kind: "artifact", author, name, version, mime_type, size, url}
 *   {kind: "request", id, runId, type, ...}  (a run's pause: see requests.js)
 *   {kind: "note", text, level: "info" | "error" | "cancelled" | "stopped"}
 */
export class Transcript {
  /** `answer(entry)` is called when a request card's answer is given (chat.js sends it). */
  constructor(container, scroller, { answer = () => {} } = {}) {
    this.container = container;
    this.scroller = scroller;
    this.entries = [];
    this._nodes = new Map(); // entry -> its element
    this._dirty = new Set();
    this._frame = 0;
    this._urls = new ObjectUrls();
    this._colours = new AuthorColours();
    this._view = {
      colour: (author) => this._colours.classOf(author),
      follow: (change) => this._follow(change),
      urls: this._urls,
      answer,
      changed: (entry) => this.update(entry),
      requestOf: (tool) => this._requestOf(tool.id),
    };
  }

  clear() {
    this.entries = [];
    this._nodes.clear();
    this._dirty.clear();
    this._urls.revokeAll();
    this._colours.clear();
    this.container.replaceChildren();
  }

  /** The entries to save: a file too large for localStorage is kept without its bytes. */
  snapshot() {
    return this.entries.map((entry) => {
      if (entry.kind !== "message" || !entry.files?.some((f) => f.data.length > KEEP_FILE_CHARS)) {
        return entry;
      }
      const files = entry.files.map((f) => (f.data.length > KEEP_FILE_CHARS ? { ...f, data: "" } : f));
      return { ...entry, files };
    });
  }

  /** Shows `entries` (from a session's messages or a saved snapshot) instead. */
  load(entries) {
    this.clear();
    for (const entry of entries) this.add(entry);
    this.flush();
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  add(entry) {
    this.entries.push(entry);
    const node = build(entry, this._view);
    this._nodes.set(entry, node);
    this._follow(() => this.container.append(node));
    return entry;
  }

  remove(entry) {
    this.entries = this.entries.filter((e) => e !== entry);
    this._nodes.get(entry)?.remove();
    this._nodes.delete(entry);
  }

  note(text, level = "info") {
    return this.add({ kind: "note", text, level });
  }

  /**
   * Applies a stream event: messages and what comes with them, thinking, code, tools,
   * artifacts, escalations and how the model stopped; others are the caller's.
   */
  apply(event) {
    switch (event.type) {
      case "message.delta": {
        const message = this._message(event);
        message.text += event.text;
        this._touch(message);
        break;
      }
      case "message.completed": {
        const message = this._message(event);
        message.text = event.text; // the whole text, authoritative
        message.done = true;
        message.finish = event.finish_reason || null;
        this._touch(message);
        this._replacePart(message, "finish", finishNode(message));
        break;
      }
      case "message.file": {
        const message = this._message(event, true);
        const file = { id: event.file_id, mime_type: event.mime_type, data: event.data, name: event.name };
        message.files = [...(message.files || []), file];
        const files = this._nodes.get(message)?.querySelector(":scope > .files");
        if (files) this._follow(() => files.append(fileNode(file, this._view)));
        break;
      }
      case "message.sources": {
        const message = this._message(event, true);
        message.sources = event.sources.map(({ url, title }) => ({ url, title }));
        message.queries = event.queries || [];
        this._replacePart(message, "sources", sourcesNode(message));
        break;
      }
      case "reasoning.delta": {
        const thinking = this._thinking(event);
        thinking.text += event.text;
        thinking.started ??= event.ts;
        this._touch(thinking);
        break;
      }
      case "reasoning.completed": {
        const thinking = this._thinking(event);
        thinking.text = event.text;
        thinking.done = true;
        thinking.ended = event.ts;
        this._touch(thinking);
        break;
      }
      case "code.call": {
        const code = this._code(event);
        code.language = event.language;
        code.code = event.code;
        this._rebuild(code);
        break;
      }
      case "code.result": {
        const code = this._code(event);
        code.outcome = event.outcome;
        code.output = event.output;
        code.done = true;
        this._rebuild(code);
        break;
      }
      case "artifact.saved": {
        const { author, name, version, mime_type, size, url } = event;
        this.add({ kind: "artifact", author, name, version, mime_type, size, url });
        break;
      }
      case "agent.escalated":
        this.note(`${event.author} escalated`);
        break;
      case "run.completed": {
        // A filter that stopped the last answer was noted under it; one that left no
        // answer (a blocked prompt) is noted here.
        const reason = event.finish_reason;
        const last = this.entries.findLast((e) => e.kind === "message");
        if (reason && !FILTER_FREE.has(reason) && last?.finish !== reason) {
          this.note(stopNotice(reason), "stopped");
        }
        break;
      }
      case "tool.call": {
        if (PAUSE_CALLS.has(event.name)) break;
        const tool = this._tool(event);
        tool.args = event.args;
        this._rebuild(tool);
        break;
      }
      case "input.requested":
        if (!this.entries.some((e) => e.kind === "request" && e.id === event.request_id)) {
          this._pauseTool(this.add(requestEntry(event)));
        }
        break;
      case "tool.result": {
        if (PAUSE_CALLS.has(event.name)) break;
        const tool = this._tool(event);
        tool.result = event.result;
        tool.done = true;
        // While its request waits, a paused call's result is ADK's stand-in (`{"error":
        // "This tool call requires confirmation…"}`, a long-running tool's first answer).
        tool.standIn = this._requestOf(tool.id)?.answered === null;
        this._rebuild(tool);
        break;
      }
      default:
        break;
    }
  }

  /** Re-renders `entry` (a request card whose answer changed, and its tool's line). */
  update(entry) {
    if (this._nodes.has(entry)) this._rebuild(entry);
    const tool = entry.kind === "request" ? this._toolOf(entry) : null;
    if (tool) this._rebuild(tool);
  }

  /** The request cards of waiting run `runId`. */
  requests(runId) {
    return this.entries.filter((e) => e.kind === "request" && e.runId === runId);
  }

  /** Marks the messages and thinking still streaming as ended (the run stopped under them). */
  settle() {
    for (const entry of this.entries) {
      if ((entry.kind === "message" || entry.kind === "thinking") && !entry.done) {
        entry.done = true;
        this._touch(entry);
      }
    }
  }

  /** Renders pending text now instead of at the next frame. */
  flush() {
    if (this._frame) cancelAnimationFrame(this._frame);
    this._frame = 0;
    const dirty = [...this._dirty];
    this._dirty.clear();
    this._follow(() => {
      for (const entry of dirty) renderText(entry, this._nodes.get(entry));
    });
  }

  /** The message of `event`; one that only a file or sources make has no text to wait for. */
  _message(event, done = false) {
    let message = this.entries.find((e) => e.kind === "message" && e.id === event.message_id);
    if (!message) {
      message = { kind: "message", id: event.message_id, author: event.author, text: "", done };
      this.add(message);
    }
    return message;
  }

  _thinking(event) {
    let thinking = this.entries.find((e) => e.kind === "thinking" && e.id === event.message_id);
    if (!thinking) {
      thinking = {
        kind: "thinking",
        id: event.message_id,
        author: event.author,
        text: "",
        done: false,
        started: null,
        ended: null,
      };
      this.add(thinking);
    }
    return thinking;
  }

  _code(event) {
    let code = this.entries.find((e) => e.kind === "code" && e.id === event.code_id);
    if (!code) {
      code = {
        kind: "code",
        id: event.code_id,
        author: event.author,
        language: "",
        code: "",
        outcome: null,
        output: null,
        done: false,
      };
      this.add(code);
    }
    return code;
  }

  /** Replaces the part (`.sources`, `.finish`) of a message's element with `fresh`. */
  _replacePart(entry, part, fresh) {
    const old = this._nodes.get(entry)?.querySelector(`:scope > .${part}`);
    if (old) this._follow(() => old.replaceWith(fresh));
  }

  _tool(event) {
    let tool = this.entries.find((e) => e.kind === "tool" && e.id === event.call_id);
    if (!tool) {
      tool = {
        kind: "tool",
        id: event.call_id,
        author: event.author,
        name: event.name,
        args: null,
        result: null,
        done: false,
      };
      this.add(tool);
    }
    return tool;
  }

  /** The latest request that pauses tool call `callId`, if any. */
  _requestOf(callId) {
    return callId ? this.entries.findLast((e) => e.kind === "request" && e.callId === callId) : undefined;
  }

  _toolOf(request) {
    return this.entries.find((e) => e.kind === "tool" && e.id === request.callId);
  }

  /** A request came for a tool's call: a result the call has already is a stand-in. */
  _pauseTool(request) {
    const tool = this._toolOf(request);
    if (!tool) return;
    if (tool.done) tool.standIn = true;
    this._rebuild(tool);
  }

  _touch(entry) {
    this._dirty.add(entry);
    if (!this._frame) this._frame = requestAnimationFrame(() => this.flush());
  }

  _rebuild(entry) {
    const old = this._nodes.get(entry);
    const node = build(entry, this._view);
    if (old instanceof HTMLDetailsElement) node.open = old.open; // as the reader left it
    this._nodes.set(entry, node);
    this._follow(() => old.replaceWith(node));
  }

  // Keeps the view pinned to the bottom while new text arrives, unless the reader has
  // scrolled up to read something earlier.
  _follow(change) {
    const s = this.scroller;
    const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 48;
    change();
    if (atBottom) s.scrollTop = s.scrollHeight;
  }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function build(entry, view) {
  switch (entry.kind) {
    case "user": {
      const node = el("article", "msg user");
      node.append(el("div", "author", "You"), el("div", "body", entry.text));
      return node;
    }
    case "message": {
      const node = el("article", `msg assistant ${view.colour(entry.author)}`);
      node.dataset.messageId = entry.id || "";
      const files = el("div", "files");
      for (const file of entry.files || []) files.append(fileNode(file, view));
      node.append(el("div", "author", entry.author), el("div", "body md"), files);
      node.append(sourcesNode(entry), finishNode(entry));
      renderMessage(entry, node);
      return node;
    }
    case "thinking": {
      const node = el("details", `thinking ${view.colour(entry.author)}`);
      const summary = el("summary");
      summary.append(el("span", "thinking-icon", "✦"), el("span", "thinking-title"));
      node.append(summary, el("div", "thinking-body md"));
      renderThinking(entry, node);
      return node;
    }
    case "code":
      return buildCode(entry, view.colour(entry.author));
    case "tool":
      return buildTool(entry, view.requestOf(entry), view.colour(entry.author));
    case "request":
      return requestNode(entry, view, view.colour(entry.author));
    case "artifact": {
      const node = artifactNode(entry, view);
      node.classList.add(view.colour(entry.author));
      return node;
    }
    default: {
      const node = el("div", `note ${entry.level}`, entry.text);
      if (entry.level === "error") node.setAttribute("role", "alert");
      return node;
    }
  }
}

function renderText(entry, node) {
  if (entry.kind === "thinking") renderThinking(entry, node);
  else renderMessage(entry, node);
}

function renderMessage(entry, node) {
  if (!node) return;
  node.classList.toggle("streaming", !entry.done);
  const body = node.querySelector(".body");
  body.hidden = entry.done && !entry.text; // only an image or sources
  body.replaceChildren(renderMarkdown(entry.text));
}

function renderThinking(entry, node) {
  if (!node) return;
  node.classList.toggle("streaming", !entry.done);
  node.querySelector(".thinking-title").textContent = entry.done ? thoughtFor(entry) : "Thinking…";
  node.querySelector(".thinking-body").replaceChildren(renderMarkdown(entry.text));
}

/** "Thought for 3 s", from the first delta to the end; "Thoughts" without deltas. */
export function thoughtFor(entry) {
  if (entry.started == null || entry.ended == null) return "Thoughts";
  const s = Math.max(0, entry.ended - entry.started);
  if (s < 1) return "Thought for <1 s";
  if (s < 60) return `Thought for ${Math.round(s)} s`;
  const whole = Math.round(s);
  return `Thought for ${Math.floor(whole / 60)} min ${whole % 60} s`;
}

/** What to say when the model did not end an answer normally ("" when it did). */
export function stopNotice(reason) {
  if (!reason || reason === "stop") return "";
  if (reason === "max_tokens") return "The answer was cut at the token limit";
  const why = STOP_REASONS[reason] || reason.replace(/_/g, " ");
  return `The model stopped: ${why} (${reason})`;
}

function finishNode(entry) {
  const text = stopNotice(entry.finish);
  const node = el("div", `finish ${entry.finish === "max_tokens" ? "cut" : "blocked"}`, text);
  if (text) node.setAttribute("role", "status");
  return node;
}

function buildCode(entry, colour) {
  const node = el("details", `code-run ${colour}`);
  node.open = true;
  const language = entry.language || "code";
  const title = entry.done ? `${entry.author} ran ${language}` : `${entry.author} is running ${language}…`;
  const status = entry.done ? OUTCOMES[entry.outcome] || entry.outcome : "";
  const summary = el("summary");
  summary.append(
    el("span", "tool-icon", "▶"),
    el("span", "tool-name", title),
    el("span", `tool-status${entry.done && entry.outcome !== "ok" ? " bad" : ""}`, status),
  );
  const source = el("pre", "code-source");
  const code = el("code", "", entry.code);
  if (/^[\w+#.-]{1,30}$/.test(entry.language)) code.dataset.lang = entry.language;
  source.append(code);
  node.append(summary, source);
  if (entry.done) {
    const label = entry.outcome === "ok" ? "Output" : `Output · ${status}`;
    node.append(el("div", "tool-label", label));
    node.append(el("pre", "code-output", entry.output || "(no output)"));
  }
  return node;
}

/**
 * A tool's line; `request` is the latest request that paused its call, if any; `colour`
 * its author's colour class.
 */
function buildTool(entry, request, colour) {
  // Until a result comes after the request's answer, the call has no result of its own:
  // the line says what it waits for, then how it was answered (a long-running tool's
  // answer may be the last word on it: no result follows).
  const paused = Boolean(request) && (request.answered === null || !entry.done || entry.standIn);
  const denied = request?.answered?.confirmed === false;
  const node = el("details", `tool ${colour}`);
  const summary = el("summary");
  summary.append(
    el("span", "tool-icon", "⚙"),
    el("span", "tool-name", `${entry.name}(${argsPreview(entry.args)})`),
    el("span", "tool-status", paused || denied ? toolStatus(request) : entry.done ? "done" : "running…"),
  );
  node.append(summary);
  node.append(el("div", "tool-label", `${entry.author} called ${entry.name} with`));
  node.append(el("pre", "tool-args", pretty(entry.args)));
  const given = paused && request.answered && "result" in request.answered;
  if ((entry.done && !paused) || given) {
    node.append(el("div", "tool-label", given ? "Result (your answer)" : "Result"));
    node.append(el("pre", "tool-result", pretty(given ? request.answered.result : entry.result)));
  }
  return node;
}

function argsPreview(args) {
  if (!args || typeof args !== "object") return "";
  const text = Object.entries(args)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(", ");
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function pretty(value) {
  return value === null || value === undefined ? "—" : JSON.stringify(value, null, 2);
}

/**
 * The colour classes (`author-0` … `author-7`) of one conversation's agents. An agent
 * gets the colour its name hashes to, unless an agent seen earlier in the conversation
 * has it: then the next free one. So the agents of a conversation differ (up to eight
 * of them), an agent mostly keeps its colour from one conversation to the next, and a
 * conversation looks the same after a reload (its entries come back in the same order).
 */
export class AuthorColours {
  constructor() {
    this._slots = new Map(); // author -> colour index
  }

  clear() {
    this._slots.clear();
  }

  classOf(author) {
    const name = author || "";
    let slot = this._slots.get(name);
    if (slot === undefined) {
      const taken = new Set(this._slots.values());
      const first = nameHash(name) % AUTHOR_COLOURS;
      slot = first;
      for (let i = 0; i < AUTHOR_COLOURS; i += 1) {
        const candidate = (first + i) % AUTHOR_COLOURS;
        if (!taken.has(candidate)) {
          slot = candidate;
          break;
        }
      }
      this._slots.set(name, slot);
    }
    return `author-${slot}`;
  }
}

/** FNV-1a over the name's code points: spreads short, similar names well. */
export function nameHash(name) {
  let hash = 0x811c9dc5;
  for (const c of name) hash = Math.imul(hash ^ c.codePointAt(0), 0x01000193) >>> 0;
  return hash;
}
