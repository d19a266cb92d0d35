// The HTTP API v1 as the page uses it: fetch with the stored API key, errors as
// ApiError carrying the server's `{"error": {"code", "message"}}`.

const KEY_STORAGE = "adkstream.apiKey";

export class ApiError extends Error {
  constructor(message, { status = 0, code = "network_error", field = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field; // the request body field at fault (`answers.0.confirmed`), if named
  }

  /** Worth retrying: the network, a restart (502/503/504) or a rate limit. */
  get transient() {
    return this.status === 0 || this.status === 429 || this.status >= 502;
  }
}

export function apiKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

/** fetch() on the API: resolves to the Response when it is 2xx, else throws ApiError. */
export async function request(path, { method = "GET", body, headers = {}, signal } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, signal };
  const key = apiKey();
  if (key) init.headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError("The server cannot be reached.");
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

export async function getJSON(path, options) {
  const response = await request(path, options);
  return response.status === 204 ? null : response.json();
}

async function errorOf(response) {
  let message = `The server answered ${response.status} ${response.statusText}.`;
  let code = "http_error";
  let field = null;
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) {
      message = body.error.message;
      code = body.error.code || code;
      field = body.error.field || null;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(message, { status: response.status, code, field });
}
