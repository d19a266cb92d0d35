// Reads adkstream's Vercel AI SDK stream with the `ai` package's own client code: the
// transport useChat uses (DefaultChatTransport: fetch, SSE parsing, chunk validation
// against uiMessageChunkSchema) and readUIMessageStream, which rebuilds the assistant
// message. Prints one JSON object: the message, its text, its tool and data parts, the
// chunk types in order, and the response headers.
//
//   node read_vercel.mjs send   <base_url> <agent> <chat_id> <text> [extra body JSON]
//   node read_vercel.mjs resume <base_url> <agent> <chat_id>
//
// `resume` prints {"mode": "resume", "active": false} when the server answers 204. It
// GETs <base_url>/v1/vercel/<agent>/<chat_id>/stream, so it also reads a canned stream a
// test serves at that path (test_vercel.py's every-event stream).

import { DefaultChatTransport, readUIMessageStream } from "ai";

const [mode, baseUrl, agent, chatId, text, extraBody] = process.argv.slice(2);

let headers = null;
const transport = new DefaultChatTransport({
  api: `${baseUrl}/v1/vercel/${agent}`,
  body: extraBody ? JSON.parse(extraBody) : undefined,
  fetch: async (url, init) => {
    const response = await fetch(url, init);
    headers = Object.fromEntries(response.headers.entries());
    return response;
  },
});

let chunks;
if (mode === "send") {
  chunks = await transport.sendMessages({
    chatId,
    trigger: "submit-message",
    messageId: undefined,
    abortSignal: undefined,
    messages: [{ id: "user-1", role: "user", parts: [{ type: "text", text }] }],
  });
} else if (mode === "resume") {
  chunks = await transport.reconnectToStream({ chatId });
  if (chunks === null) {
    console.log(JSON.stringify({ mode, active: false, headers }));
    process.exit(0);
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}

const [forTypes, forMessage] = chunks.tee();
const typesRead = (async () => {
  const types = [];
  for await (const chunk of forTypes) types.push(chunk.type);
  return types;
})();

const errors = [];
let message = null;
for await (const snapshot of readUIMessageStream({
  stream: forMessage,
  onError: (error) => errors.push(String(error?.message ?? error)),
})) {
  message = snapshot;
}

const parts = message?.parts ?? [];
console.log(
  JSON.stringify({
    mode,
    active: true,
    headers,
    chunkTypes: await typesRead,
    errors,
    message,
    texts: parts.filter((p) => p.type === "text").map((p) => p.text),
    tools: parts.filter((p) => p.type.startsWith("tool-")),
    agents: parts.filter((p) => p.type === "data-agent").map((p) => p.data),
  }),
);
