// The cards of a run that waits (`input.requested`): what the agent asks for, and the
// controls that answer it. A card only collects its answer (`entry.draft`); the page
// (chat.js) sends the answers of all a run's requests at once, when each has one.
// All model and tool text goes in with textContent, never as markup.

/**
 * A request entry: {kind: "request", id (request_id), runId, type (the request's kind),
 *   callId, author, name, args, hint, draft, answered, sending, error}
 * `callId` is the id of the paused tool's call (a long-running tool's request is its
 * call); `draft` is the answer's fields once given; `answered` the fields that were sent.
 * `event` is an `input.requested`, or a pending request with the run's `run_id` added.
 */
export function requestEntry(event) {
  return {
    kind: "request",
    id: event.request_id,
    runId: event.run_id,
    type: event.kind,
    callId: event.call_id || event.request_id,
    author: event.author,
    name: event.name,
    args: event.args || {},
    hint: event.hint || "",
    draft: null,
    answered: null,
    sending: false,
    error: "",
  };
}

const TITLES = {
  confirmation: "asks to run",
  tool_result: "waits for the result of",
  client_tool: "asks you to run",
  credential: "needs a credential for",
  input: "asks you about",
};

/** The card of `entry`; `view.answer(entry)` is called when its answer is given. */
export function requestNode(entry, view, authorClass) {
  const node = el("section", `request ${authorClass}`);
  node.dataset.requestId = entry.id;
  node.dataset.kind = entry.type;
  const title = el("div", "request-title");
  title.append(
    el("span", "request-icon", "!"),
    el("strong", "", entry.author),
    ` ${TITLES[entry.type] || "needs an answer for"} `,
    el("code", "request-name", entry.name),
  );
  node.append(title);
  if (entry.hint) node.append(el("div", "request-hint", entry.hint));
  if (Object.keys(entry.args).length) node.append(el("pre", "request-args", JSON.stringify(entry.args, null, 2)));
  const locked = entry.sending || entry.answered !== null;
  node.append(entry.type === "confirmation" ? confirmControls(entry, view, locked) : formControls(entry, view, locked));
  const status = el("div", "request-status", statusText(entry));
  status.setAttribute("role", "status");
  node.append(status);
  if (entry.error) {
    const error = el("div", "request-error", entry.error);
    error.setAttribute("role", "alert");
    node.append(error);
  }
  return node;
}

function confirmControls(entry, view, locked) {
  const row = el("div", "request-actions");
  for (const [label, confirmed, className] of [
    ["Approve", true, "approve"],
    ["Deny", false, "deny"],
  ]) {
    const button = el("button", `request-button ${className}`, label);
    button.type = "button";
    button.disabled = locked;
    const chosen = (entry.answered || entry.draft)?.confirmed === confirmed;
    button.setAttribute("aria-pressed", String(chosen));
    button.addEventListener("click", () => {
      entry.draft = { confirmed };
      entry.error = "";
      view.answer(entry);
    });
    row.append(button);
  }
  return row;
}

const FIELDS = {
  tool_result: { label: "Result (JSON)", key: "result", tag: "textarea", json: true },
  client_tool: { label: "Result (JSON)", key: "result", tag: "textarea", json: true },
  credential: { label: "Access token", key: "access_token", tag: "input", type: "password" },
  input: { label: "Answer", key: "value", tag: "input", type: "text" },
};

function formControls(entry, view, locked) {
  const spec = FIELDS[entry.type] || FIELDS.input;
  const form = el("form", "request-form");
  const label = el("label", "request-label", spec.label);
  const field = el(spec.tag, "request-field");
  if (spec.type) field.type = spec.type;
  if (spec.type === "password") field.autocomplete = "off";
  const given = (entry.answered || entry.draft)?.[spec.key];
  if (given !== undefined && spec.type !== "password") {
    field.value = spec.json ? JSON.stringify(given) : String(given);
  }
  field.disabled = locked;
  label.append(field);
  const button = el("button", "request-button send", "Send");
  button.type = "submit";
  button.disabled = locked;
  form.append(label, button);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    let value = field.value;
    if (spec.json) {
      try {
        value = JSON.parse(value);
      } catch {
        entry.error = "The result must be JSON (a quoted string, a number, an object…).";
        view.changed(entry);
        return;
      }
    } else if (!value) {
      return;
    }
    entry.draft = { [spec.key]: value };
    entry.error = "";
    view.answer(entry);
  });
  return form;
}

/** What the line of the tool that `entry` pauses says: what it waits for, or the answer. */
export function toolStatus(entry) {
  const fields = entry.answered;
  if (!fields) return entry.type === "confirmation" ? "awaiting approval" : "waiting for you";
  if ("confirmed" in fields) return fields.confirmed ? "approved" : "denied";
  return "answered";
}

function statusText(entry) {
  const fields = entry.answered || (entry.sending ? entry.draft : null);
  if (!fields) return entry.draft ? "Ready: answer the other requests to send" : "";
  const prefix = entry.answered ? "" : "Sending: ";
  if ("confirmed" in fields) return prefix + (fields.confirmed ? "Approved" : "Denied");
  if ("access_token" in fields) return `${prefix}Credential sent`;
  const value = "result" in fields ? JSON.stringify(fields.result) : String(fields.value);
  return `${prefix}Answered: ${value.length > 80 ? `${value.slice(0, 77)}…` : value}`;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
