// Drives adkstream's Vercel route the way `useChat` does, with the `ai` package's own
// chat (AbstractChat, the class useChat wraps) on an in-memory state: it sends a message,
// and when the run waits it answers as an app would, through the SDK's own calls:
// `addToolApprovalResponse` for a tool approval, `addToolOutput` from `onToolCall` for
// any other call the client answers (a client tool, a long-running tool's result, a
// credential), the output for each tool name given in <outputs JSON>;
// `sendAutomaticallyWhen` then sends the chat again, which continues the run. Prints
// the final messages, each request's body, and any error, as JSON.
//
//   node chat_pause.mjs <base_url> <agent> <chat_id> <text> <approve|deny|->
//        [outputs JSON: {toolName: output}] [extra body JSON]

import { writeSync } from "node:fs";
import {
  AbstractChat,
  DefaultChatTransport,
  lastAssistantMessageIsCompleteWithApprovalResponses,
  lastAssistantMessageIsCompleteWithToolCalls,
} from "ai";

const [baseUrl, agent, chatId, text, decision, outputsJson, extraBody] = process.argv.slice(2);
const outputs = outputsJson ? JSON.parse(outputsJson) : {};

class MemoryState {
  constructor() {
    this.status = "ready";
    this.error = undefined;
    this.messages = [];
  }
  pushMessage(message) {
    this.messages = [...this.messages, message];
  }
  popMessage() {
    this.messages = this.messages.slice(0, -1);
  }
  replaceMessage(index, message) {
    this.messages = [...this.messages.slice(0, index), message, ...this.messages.slice(index + 1)];
  }
  snapshot(thing) {
    return structuredClone(thing);
  }
}

const requests = [];
const errors = [];
let chat;
// Each response's end (onFinish), counted, so that the script waits on events.
let finished = 0;
const waiters = [];
const finishedCount = (n) =>
  new Promise((resolve) => (finished >= n ? resolve() : waiters.push({ n, resolve })));
const onFinish = () => {
  finished += 1;
  for (const waiter of waiters.filter((w) => finished >= w.n)) waiter.resolve();
};
const transport = new DefaultChatTransport({
  api: `${baseUrl}/v1/vercel/${agent}`,
  body: extraBody ? JSON.parse(extraBody) : undefined,
  fetch: async (url, init) => {
    requests.push(JSON.parse(init.body));
    return fetch(url, init);
  },
});

chat = new AbstractChat({
  id: chatId,
  state: new MemoryState(),
  transport,
  onError: (error) => {
    errors.push(String(error));
    onFinish();
  },
  onFinish,
  onToolCall: ({ toolCall }) => {
    if (toolCall.toolName in outputs) {
      // Not awaited, as the SDK's docs say: the chat is still busy with this response.
      chat.addToolOutput({
        tool: toolCall.toolName,
        toolCallId: toolCall.toolCallId,
        output: outputs[toolCall.toolName],
      });
    }
  },
  sendAutomaticallyWhen: (options) =>
    lastAssistantMessageIsCompleteWithApprovalResponses(options) ||
    lastAssistantMessageIsCompleteWithToolCalls(options),
});

// Should a wait never end, say where the chat was (the exit code is 13 then).
process.on("exit", (code) => {
  if (code !== 0) {
    const state = { finished, status: chat.status, requests, errors, messages: chat.messages };
    writeSync(2, JSON.stringify(state) + "\n");
  }
});

await chat.sendMessage({ text });
await finishedCount(1);
const approvals = chat.messages
  .flatMap((m) => m.parts)
  .filter((p) => p.state === "approval-requested");
for (const part of approvals) {
  await chat.addToolApprovalResponse({ id: part.approval.id, approved: decision === "approve" });
}
// The answer (an approval, or a tool's output) sends the chat again by itself.
await finishedCount(2);
console.log(JSON.stringify({ messages: chat.messages, requests, errors, status: chat.status }));
