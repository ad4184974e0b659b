// The console's only way out: this server's API. A session cookie (password login) with a CSRF
// token on unsafe requests, or a bearer token pasted at login. Errors are RFC 9457 problems.

const KEY = "tocsin.console.session";

export class ApiError extends Error {
  constructor(status, title, detail, type, problem = {}) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.type = type;
    /** The whole RFC 9457 body (e.g. `field`, which names where the input is wrong). */
    this.problem = problem;
  }
}

/** { mode: "session" | "token", token?, csrf?, user: {username, role, …} } or null. */
export let session = load();

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? "null");
  } catch {
    return null;
  }
}

function save(s) {
  session = s;
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

export async function request(method, path, body, contentType = "application/json") {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = contentType;
  if (session?.mode === "token") headers.Authorization = `Bearer ${session.token}`;
  if (session?.csrf && method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = session.csrf;
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : contentType === "application/json" ? JSON.stringify(body) : body,
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, "Network error", `the server did not answer ${method} ${path} (${e.message})`);
  }
  const text = await resp.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text };
    }
  }
  if (!resp.ok) {
    throw new ApiError(resp.status, data?.title ?? `HTTP ${resp.status}`, data?.detail ?? "", data?.type, data ?? {});
  }
  return data;
}

export const get = (p) => request("GET", `/api/v1${p}`);
export const post = (p, body) => request("POST", `/api/v1${p}`, body);
export const patch = (p, body) => request("PATCH", `/api/v1${p}`, body);
/** POST a file's text as it is (registry imports). */
export const postText = (p, text, type = "text/plain; charset=utf-8") => request("POST", `/api/v1${p}`, text, type);

/** Every item of a paged list: follows `next_cursor` until the last page. */
export async function getAll(p) {
  const sep = p.includes("?") ? "&" : "?";
  const items = [];
  let cursor = null;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await get(`${p}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...(page.items ?? []));
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return { count: items.length, items };
}

/** Password login (`POST /auth/login`). */
export async function login(username, password) {
  const r = await request("POST", "/auth/login", { username, password });
  save({ mode: "session", csrf: r.csrf_token, user: r.user });
  return r.user;
}

/** Bearer-token login: the token is checked by reading the threat list with it. */
export async function loginWithToken(token) {
  save({ mode: "token", token, user: null });
  try {
    await get("/threats");
  } catch (e) {
    save(null);
    throw e;
  }
  let user = { username: "API token", role: "unknown" };
  try {
    const me = await request("GET", "/auth/me");
    user = me.user ?? { username: "API token", role: me.role ?? "unknown" };
  } catch {
    // Servers without accounts: the token works, its role shows in what the API allows.
  }
  save({ mode: "token", token, user });
  return user;
}

/** Re-read who is logged in (session cookie); clears the session when it has expired. */
export async function refreshMe() {
  if (!session) return null;
  try {
    const me = await request("GET", "/auth/me");
    const user = me.user ?? { username: "API token", role: me.role ?? "unknown" };
    save({ ...session, user, csrf: me.csrf_token ?? session.csrf });
    return user;
  } catch (e) {
    if (e.status === 401) save(null);
    return session?.user ?? null;
  }
}

export async function logout() {
  try {
    if (session?.mode === "session") await request("POST", "/auth/logout");
  } finally {
    save(null);
  }
}
