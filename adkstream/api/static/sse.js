// A streaming Server-Sent Events parser (WHATWG HTML, "Server-sent events", 9.2.6) for
// fetch() bodies: EventSource cannot POST or send headers, so the page parses the
// stream itself. Chunks may split anywhere, including between the CR and LF of a CRLF.

/** One dispatched event: its type ("message" when unnamed), data, and last event id. */
export class SSEEvent {
  constructor(type, data, id) {
    this.type = type;
    this.data = data;
    this.id = id;
  }
}

export class SSEParser {
  /** Text in, events out: `feed()` returns the events that chunk completed. */
  constructor() {
    this.lastEventId = "";
    this.retry = null; // the latest valid `retry:` value, in ms
    this.comments = 0; // `: ping` and other comments seen: proof the connection lives
    this._buffer = "";
    this._skipLF = false; // the previous chunk ended with CR: a leading LF belongs to it
    this._data = "";
    this._type = "";
  }

  feed(chunk) {
    let text = chunk;
    if (this._skipLF && text.startsWith("\n")) text = text.slice(1);
    this._skipLF = false;
    this._buffer += text;
    const events = [];
    const lineEnd = /\r\n|\r|\n/g;
    let start = 0;
    let match;
    while ((match = lineEnd.exec(this._buffer)) !== null) {
      // A CR that ends the buffer may be the first half of a CRLF.
      if (match[0] === "\r" && match.index === this._buffer.length - 1) this._skipLF = true;
      const event = this._line(this._buffer.slice(start, match.index));
      if (event) events.push(event);
      start = lineEnd.lastIndex;
    }
    this._buffer = this._buffer.slice(start);
    return events;
  }

  _line(line) {
    if (line === "") return this._dispatch();
    if (line.startsWith(":")) {
      this.comments += 1;
      return null;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this._data += value + "\n";
    else if (field === "event") this._type = value;
    else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
    else if (field === "retry" && /^[0-9]+$/.test(value)) this.retry = Number(value);
    return null;
  }

  _dispatch() {
    const data = this._data;
    const type = this._type;
    this._data = "";
    this._type = "";
    if (data === "") return null;
    return new SSEEvent(type || "message", data.slice(0, -1), this.lastEventId);
  }
}

/**
 * The events of a fetch() response body, as they arrive.
 *
 * `onChunk` is called for every chunk read (events or not: pings count), so that a
 * caller can notice a stalled connection and abort `signal`, which ends the events.
 * An event still incomplete when the body ends is dropped, as the specification says.
 */
export async function* readEvents(response, { parser = new SSEParser(), onChunk, signal } = {}) {
  const reader = response.body.getReader();
  const stop = () => reader.cancel().catch(() => {});
  signal?.addEventListener("abort", stop);
  const decoder = new TextDecoder(); // UTF-8; drops a leading BOM as the spec asks
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || signal?.aborted) break;
      onChunk?.();
      yield* parser.feed(decoder.decode(value, { stream: true }));
    }
    if (!signal?.aborted) yield* parser.feed(decoder.decode());
  } finally {
    signal?.removeEventListener("abort", stop);
    stop();
  }
}
