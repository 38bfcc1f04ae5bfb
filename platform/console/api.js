// The console's only way to the server: Tessera's own GraphQL APIs and /auth.
// Signed-in users send the session cookie and the CSRF token on every request.

let csrfToken = null;
let who = null;

export class ApiError extends Error {
  // code: a stable code (FIELD_REQUIRED…); inputPath: where in the input (["input", "name"]);
  // problems: every problem the server listed, each {code, message, inputPath}.
  constructor(message, code, inputPath = [], problems = []) {
    super(message);
    this.code = code;
    this.inputPath = inputPath || [];
    this.problems = problems.length ? problems : [{ code, message, inputPath: this.inputPath }];
  }
}

async function request(path, options = {}) {
  const headers = { "Content-Type": "application/json", Accept: "application/json", ...(options.headers || {}) };
  if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(path, { credentials: "same-origin", ...options, headers });
  } catch (error) {
    throw new ApiError("The server cannot be reached. Check your connection and try again.", "NETWORK");
  }
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    body = null;
  }
  return { response, body };
}

function errorOf(body, fallback) {
  const first = body && body.errors && body.errors[0];
  if (!first) return new ApiError(fallback, "UNKNOWN");
  const ext = first.extensions || {};
  return new ApiError(first.message, ext.code || "UNKNOWN", ext.inputPath || [], ext.problems || []);
}

export async function login(email, password) {
  const { response, body } = await request("/auth/login", {
    method: "POST",
    body: JSON.stringify({ email, password }),
  });
  if (!response.ok) throw errorOf(body, "Signing in failed.");
  csrfToken = body.csrfToken;
  return me();
}

export async function logout() {
  await request("/auth/logout", { method: "POST" });
  csrfToken = null;
  who = null;
}

// The signed-in user ({workspace, name, role, kind}), or null when nobody is.
export async function me() {
  const { response, body } = await request("/auth/me");
  if (!response.ok) {
    who = null;
    return null;
  }
  csrfToken = body.csrfToken || csrfToken;
  who = body;
  return who;
}

export function currentUser() {
  return who;
}

// Run a GraphQL document. api: "records" (/graphql) or "metadata" (/graphql/metadata).
// Resolves to `data`; rejects with an ApiError carrying the first error's code and inputPath.
export async function gql(query, variables = {}, api = "records") {
  const path = api === "metadata" ? "/graphql/metadata" : "/graphql";
  const { response, body } = await request(path, { method: "POST", body: JSON.stringify({ query, variables }) });
  if (response.status === 401) {
    who = null;
    window.dispatchEvent(new CustomEvent("tessera:signed-out"));
  }
  if (!body || body.errors || !response.ok) throw errorOf(body, `The server answered ${response.status}.`);
  return body.data;
}

export const metadata = (query, variables) => gql(query, variables, "metadata");
export const records = (query, variables) => gql(query, variables, "records");
