import { HttpAgent } from "@ag-ui/client";
const [url, threadId, text, stateJson] = process.argv.slice(2);
const agent = new HttpAgent({ url, threadId, initialMessages: [{ id: "user-1", role: "user", content: text }], initialState: JSON.parse(stateJson || "{}") });
const eventTypes = [];
agent.subscribe({ onEvent({ event }) { eventTypes.push(event.type); } });
try {
  const { result, newMessages } = await agent.runAgent({ runId: "client-run-1" });
  console.log(JSON.stringify({ ok: true, result, newMessages, state: agent.state, eventTypes }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error?.message ?? error), eventTypes }));
}
