// The conversation on screen: a list of plain entries (kept in localStorage, so that a
// reload shows the same thing) and their DOM. Stream events update the entries; message
// text is re-rendered as markdown at most once per animation frame.

import { renderMarkdown } from "./markdown.js";

const AUTHOR_COLOURS = 6;

/**
 * Entries:
 *   {kind: "user", text}
 *   {kind: "message", id, author, text, done}
 *   {kind: "tool", id, author, name, args, result, done}
 *   {kind: "note", text, level: "info" | "error" | "cancelled"}
 */
export class Transcript {
  constructor(container, scroller) {
    this.container = container;
    this.scroller = scroller;
    this.entries = [];
    this._nodes = new Map(); // entry -> its element
    this._dirty = new Set();
    this._frame = 0;
  }

  clear() {
    this.entries = [];
    this._nodes.clear();
    this._dirty.clear();
    this.container.replaceChildren();
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
    const node = build(entry);
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

  /** Applies a stream event (message and tool events; others are the caller's). */
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
        this._touch(message);
        break;
      }
      case "tool.call": {
        const tool = this._tool(event);
        tool.args = event.args;
        this._rebuild(tool);
        break;
      }
      case "tool.result": {
        const tool = this._tool(event);
        tool.result = event.result;
        tool.done = true;
        this._rebuild(tool);
        break;
      }
      default:
        break;
    }
  }

  /** Marks the messages still streaming as ended (the run stopped under them). */
  settle() {
    for (const entry of this.entries) {
      if (entry.kind === "message" && !entry.done) {
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
      for (const entry of dirty) renderMessage(entry, this._nodes.get(entry));
    });
  }

  _message(event) {
    let message = this.entries.find((e) => e.kind === "message" && e.id === event.message_id);
    if (!message) {
      message = { kind: "message", id: event.message_id, author: event.author, text: "", done: false };
      this.add(message);
    }
    return message;
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

  _touch(entry) {
    this._dirty.add(entry);
    if (!this._frame) this._frame = requestAnimationFrame(() => this.flush());
  }

  _rebuild(entry) {
    const old = this._nodes.get(entry);
    const node = build(entry);
    if (old && old.open) node.open = true;
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

function build(entry) {
  switch (entry.kind) {
    case "user": {
      const node = el("article", "msg user");
      node.append(el("div", "author", "You"), el("div", "body", entry.text));
      return node;
    }
    case "message": {
      const node = el("article", `msg assistant ${authorClass(entry.author)}`);
      node.dataset.messageId = entry.id || "";
      node.append(el("div", "author", entry.author), el("div", "body md"));
      renderMessage(entry, node);
      return node;
    }
    case "tool":
      return buildTool(entry);
    default: {
      const node = el("div", `note ${entry.level}`, entry.text);
      if (entry.level === "error") node.setAttribute("role", "alert");
      return node;
    }
  }
}

function renderMessage(entry, node) {
  if (!node) return;
  node.classList.toggle("streaming", !entry.done);
  node.querySelector(".body").replaceChildren(renderMarkdown(entry.text));
}

function buildTool(entry) {
  const node = el("details", `tool ${authorClass(entry.author)}`);
  const summary = el("summary");
  summary.append(
    el("span", "tool-icon", "⚙"),
    el("span", "tool-name", `${entry.name}(${argsPreview(entry.args)})`),
    el("span", "tool-status", entry.done ? "done" : "running…"),
  );
  node.append(summary);
  node.append(el("div", "tool-label", `${entry.author} called ${entry.name} with`));
  node.append(el("pre", "tool-args", pretty(entry.args)));
  if (entry.done) {
    node.append(el("div", "tool-label", "Result"));
    node.append(el("pre", "tool-result", pretty(entry.result)));
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

/** One of a few colour classes per agent name, stable across reloads. */
export function authorClass(author) {
  let hash = 0;
  for (const c of author || "") hash = (hash * 31 + c.codePointAt(0)) >>> 0;
  return `author-${hash % AUTHOR_COLOURS}`;
}
