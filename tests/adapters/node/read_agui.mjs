// Runs an AG-UI agent with @ag-ui/client's own HttpAgent: its fetch, SSE parsing, event
// validation (enforceEvents), order verification (verifyEvents) and the reducer that
// builds the thread's messages and state. A stream the client refuses ends the run with
// an error. Prints one JSON object: ok (or error), result, the new messages, the state,
// the event types in order, the CUSTOM events, the RUN_FINISHED event, and every warning
// the client printed (transformation warnings are not suppressed here).
//
//   node read_agui.mjs <url> <thread_id> <text> [state JSON] [messages JSON]
//
// With a messages JSON the thread starts with those messages instead of one user
// message holding <text>.

delete process.env.SUPPRESS_TRANSFORMATION_WARNINGS;
const warnings = [];
console.warn = (...args) => warnings.push(args.map(String).join(" "));
console.error = (...args) => warnings.push(args.map(String).join(" "));

const { HttpAgent } = await import("@ag-ui/client");

const [url, threadId, text, stateJson, messagesJson] = process.argv.slice(2);
const initialMessages = messagesJson
  ? JSON.parse(messagesJson)
  : [{ id: "user-1", role: "user", content: text }];
const agent = new HttpAgent({
  url,
  threadId,
  initialMessages,
  initialState: JSON.parse(stateJson || "{}"),
});
const eventTypes = [];
const customEvents = [];
let finished = null;
agent.subscribe({
  onEvent({ event }) {
    eventTypes.push(event.type);
  },
  onCustomEvent({ event }) {
    customEvents.push({ name: event.name, value: event.value });
  },
  onRunFinishedEvent({ event }) {
    finished = event;
  },
});
const seen = { eventTypes, customEvents, warnings };
try {
  const { result, newMessages } = await agent.runAgent({ runId: "client-run-1" });
  console.log(JSON.stringify({ ok: true, result, newMessages, state: agent.state, finished, ...seen }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error?.message ?? error), ...seen }));
}
