// Runs an AG-UI agent that pauses with @ag-ui/client's own HttpAgent, and answers the
// interrupts the way an app does: the next run carries `resume[]` (and, for a tool the
// client ran, a tool message with its result). The client's checks run on both runs (a
// run it refuses throws). Prints both runs' outcomes, the interrupts, the thread's
// messages and every warning, as JSON.
//
//   node agui_pause.mjs <url> <thread_id> <text> <approve|deny|tool|PAYLOAD JSON> [tools JSON]
//
// A PAYLOAD JSON answers every interrupt with `status: "resolved"` and that payload
// (`{"result": ...}` for a long-running tool, `{"access_token": ...}` for a credential).

delete process.env.SUPPRESS_TRANSFORMATION_WARNINGS;
const warnings = [];
console.warn = (...args) => warnings.push(args.map(String).join(" "));
console.error = (...args) => warnings.push(args.map(String).join(" "));

const { HttpAgent } = await import("@ag-ui/client");

const [url, threadId, text, decision, toolsJson] = process.argv.slice(2);
const tools = toolsJson ? JSON.parse(toolsJson) : [];
const agent = new HttpAgent({
  url,
  threadId,
  initialMessages: [{ id: "user-1", role: "user", content: text }],
});
const finished = [];
agent.subscribe({
  onRunFinishedEvent({ event }) {
    finished.push(event);
  },
});

try {
  await agent.runAgent({ runId: "run-1", tools });
  const interrupts = finished[0]?.outcome?.interrupts ?? [];
  const resume = interrupts.map((interrupt) => {
    if (decision === "deny") return { interruptId: interrupt.id, status: "cancelled" };
    if (decision === "tool") {
      agent.addMessage({
        id: `tool-${interrupt.id}`,
        role: "tool",
        toolCallId: interrupt.toolCallId,
        content: JSON.stringify({ city: "Paris" }),
      });
      return { interruptId: interrupt.id, status: "resolved" };
    }
    if (decision === "approve") {
      return { interruptId: interrupt.id, status: "resolved", payload: { confirmed: true } };
    }
    return { interruptId: interrupt.id, status: "resolved", payload: JSON.parse(decision) };
  });
  await agent.runAgent({ runId: "run-2", tools, resume });
  console.log(JSON.stringify({ ok: true, finished, interrupts, messages: agent.messages, warnings }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error?.message ?? error), finished, warnings }));
}
