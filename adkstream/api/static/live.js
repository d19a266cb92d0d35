// Live mode: one WebSocket on GET /v1/sessions/{id}/live per session, a `message` frame
// per typed message, the events drawn by the same Transcript as the SSE path. A browser
// cannot set headers on a WebSocket, so the stored API key goes as `?access_token=`
// (the server accepts it there, and only there).

import { apiKey } from "./api.js";

const TERMINAL = new Set(["run.completed", "run.failed", "run.cancelled"]);
const CLOSE_WAIT_MS = 5_000; // after our `close` frame, how long the run may take to end

/** The live socket's URL for a page at `location` (ws: beside http:, wss: beside https:). */
export function liveUrl(location, sessionId, key = "") {
  const url = new URL(`/v1/sessions/${encodeURIComponent(sessionId)}/live`, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  if (key) url.searchParams.set("access_token", key);
  return url.href;
}

/** An error of the live socket: the server's `error` frame, or how the socket closed. */
export class LiveError extends Error {
  constructor(message, { code = "live_error", closeCode = null } = {}) {
    super(message);
    this.code = code;
    this.closeCode = closeCode;
  }
}

/**
 * The live conversation of one session. `view` is the page around it:
 *   turn(running, agent)   a turn starts (a message went out) or ends
 *   typing(who, what)      who is answering
 *   ended(note)            the socket closed; `note` is {text, level} or null
 */
export class LiveChat {
  constructor(transcript, view) {
    this.transcript = transcript;
    this.view = view;
    this.socket = null;
    this.ready = false; // run.started arrived: messages may go out
    this.pending = 0; // messages sent whose turn has not ended
    this.agent = "";
    this._ending = false; // we asked for the end: a normal close is no news
    this._terminal = null;
    this._closeTimer = 0;
  }

  get on() {
    return this.socket !== null;
  }

  /** Whether a message may go out now: the run started and the end was not asked for. */
  get accepting() {
    return this.ready && !this._ending && this.socket?.readyState === WebSocket.OPEN;
  }

  /** Opens the socket; resolves once the run started, rejects with LiveError if refused. */
  open(sessionId, agent) {
    if (this.socket) throw new Error("live mode is on already");
    this.agent = agent;
    this._ending = false;
    this._terminal = null;
    this.pending = 0;
    const socket = new WebSocket(liveUrl(window.location, sessionId, apiKey()));
    this.socket = socket;
    return new Promise((resolve, reject) => {
      let refusal = null; // the error frame sent before a refusal's close
      socket.addEventListener("message", (message) => {
        const frame = parseFrame(message.data);
        if (!frame) return;
        if (!this.ready) {
          if (frame.type === "error") refusal = frame;
          if (frame.type !== "run.started") return;
          this.ready = true;
          resolve();
        }
        this._frame(frame);
      });
      socket.addEventListener("close", (event) => {
        if (this.socket !== socket) return;
        const wasReady = this.ready;
        this._closed(event, wasReady);
        if (wasReady) return;
        const cancelled = new LiveError("Live mode was switched off.", { code: "live_cancelled" });
        reject(this._ending ? cancelled : refusedError(event, refusal));
      });
    });
  }

  /** Sends a user turn; false when the socket is not ready for it. */
  send(text) {
    if (!this.accepting) return false;
    this.socket.send(JSON.stringify({ type: "message", text }));
    this.pending += 1;
    this.view.turn(true, this.agent);
    return true;
  }

  /** Ends live mode: the `close` frame lets the run complete, then the server closes. */
  close() {
    const socket = this.socket;
    if (!socket) return;
    this._ending = true;
    if (socket.readyState === WebSocket.OPEN && !this._terminal) {
      socket.send(JSON.stringify({ type: "close" }));
      this._closeTimer = setTimeout(() => socket.close(1000), CLOSE_WAIT_MS);
    } else {
      socket.close(1000);
    }
  }

  /** The page goes away: the `close` frame and the close at once (nothing can wait). */
  abort() {
    const socket = this.socket;
    if (!socket) return;
    this._ending = true;
    if (socket.readyState === WebSocket.OPEN && !this._terminal) {
      socket.send(JSON.stringify({ type: "close" }));
    }
    socket.close(1000);
  }

  _frame(frame) {
    if (TERMINAL.has(frame.type)) this._terminal = frame;
    // Once the page asked for the end, what is left of the run is not drawn: the
    // transcript may already show another session.
    if (this._ending) return;
    switch (frame.type) {
      case "error":
        // A message the server refused: no turn will answer it.
        this.transcript.note(frame.message || "The server refused the message.", "error");
        this._turnEnded();
        break;
      case "agent.started":
        this.agent = frame.author;
        this.view.typing(frame.author, "is typing");
        break;
      case "agent.transfer":
        this.transcript.note(`${frame.from_agent} handed over to ${frame.to_agent}`);
        break;
      case "turn.completed":
        if (frame.interrupted) this.transcript.note("Interrupted.", "cancelled");
        this._turnEnded();
        break;
      case "run.failed":
        this.transcript.note(frame.error?.message || "The live run failed.", "error");
        break;
      case "run.cancelled":
        this.transcript.note(`Live run ended: ${frame.reason}.`, "cancelled");
        break;
      default:
        this.transcript.apply(frame); // messages and tools, as on the SSE path
    }
  }

  _turnEnded() {
    this.pending = Math.max(0, this.pending - 1);
    this.transcript.settle();
    this.transcript.flush();
    if (this.pending === 0) this.view.turn(false, this.agent);
  }

  _closed(event, wasReady) {
    clearTimeout(this._closeTimer);
    this.socket = null;
    this.ready = false;
    this.pending = 0;
    if (!this._ending) {
      this.transcript.settle();
      this.transcript.flush();
    }
    let note = null;
    if (wasReady && !this._ending && !this._terminal) {
      const reason = event.reason ? `: ${event.reason}` : "";
      note = { text: `The live connection closed (${event.code}${reason}).`, level: "error" };
    } else if (wasReady && !this._ending && this._terminal.type === "run.completed") {
      // The server ended it: nothing said for ADKSTREAM_LIVE_IDLE_S, or the model stopped.
      const idle = event.reason === "idle timeout" ? ": nothing was said for a while" : "";
      note = { text: `Live mode ended${idle}.`, level: "info" };
    }
    this.view.ended(note); // run.failed and run.cancelled were noted as they came
  }
}

function parseFrame(data) {
  try {
    const frame = JSON.parse(data);
    return frame && typeof frame.type === "string" ? frame : null;
  } catch {
    return null;
  }
}

function refusedError(event, refusal) {
  if (refusal) return new LiveError(refusal.message, { code: refusal.code, closeCode: event.code });
  // Refused before the handshake completed (credentials, origin): the browser says 1006.
  const message =
    event.code === 1006
      ? "The live connection was refused (is the API key right?)."
      : `The live connection closed (${event.code}${event.reason ? `: ${event.reason}` : ""}).`;
  return new LiveError(message, { code: "live_refused", closeCode: event.code });
}
