// Entry point: hash routing, login and the header. Pages live in views.js.
import { h, fill, announce, alertError, clearAlert } from "./dom.js";
import { session, login, loginWithToken, logout, refreshMe } from "./api.js";
import { renderThreats, renderThreat, renderPosture, renderRegistry, renderAudit, renderFeeds } from "./views.js";

const main = document.getElementById("main");
let stopPage = null;

function renderLogin() {
  document.title = "Log in — Tocsin console";
  const user = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const pass = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const token = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", spellcheck: "false" });
  const err = h("p", { id: "login-error", class: "error", role: "alert" });
  const form = h("form", { id: "login-form", "aria-describedby": "login-error" },
    h("div", { class: "field" }, h("label", { for: "username" }, "Username"), user),
    h("div", { class: "field" }, h("label", { for: "password" }, "Password"), pass),
    h("button", { type: "submit", class: "primary" }, "Log in"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    try {
      const u = await login(user.value.trim(), pass.value);
      announce(`Logged in as ${u.username} (${u.role})`);
      go("#/threats");
    } catch (x) {
      err.textContent = x.status === 404 ? "This server has no password login: use an API token below." : `Login failed: ${x.detail || x.message}`;
      pass.value = "";
      pass.focus();
    }
  });
  const tokenForm = h("form", { id: "token-form" },
    h("div", { class: "field" }, h("label", { for: "token" }, "API token (tcn_…)"), token),
    h("button", { type: "submit" }, "Use token"));
  tokenForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    try {
      await loginWithToken(token.value.trim());
      announce("Logged in with an API token");
      go("#/threats");
    } catch (x) {
      err.textContent = `Token refused: ${x.detail || x.message}`;
    }
  });
  fill(main,
    h("div", { class: "login" },
      h("h1", { tabindex: "-1", id: "page-title" }, "Log in to Tocsin"),
      form, err,
      h("details", {}, h("summary", {}, "Log in with an API token instead"), tokenForm)));
  user.focus();
}

function renderWho() {
  const who = document.getElementById("who");
  const nav = document.getElementById("main-nav");
  nav.hidden = !session;
  if (!session) return fill(who);
  const u = session.user ?? {};
  fill(who,
    h("span", { id: "whoami" }, h("span", { class: "sr-only" }, "Logged in as "), h("strong", {}, u.username ?? "?"), ` · ${u.role ?? "?"}`,
      u.clearance ? ` · cleared ${u.clearance}` : ""),
    h("button", { type: "button", class: "link", id: "logout", onclick: async () => { await logout(); announce("Logged out"); go("#/login"); } }, "Log out"));
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  stopPage?.();
  stopPage = null;
  clearAlert();
  document.getElementById("status").textContent = "";
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (!session && parts[0] !== "login") return go("#/login");
  renderWho();
  for (const a of document.querySelectorAll("#main-nav a")) {
    a.toggleAttribute("aria-current", a.dataset.section === (parts[0] || "threats"));
    if (a.hasAttribute("aria-current")) a.setAttribute("aria-current", "page");
  }
  try {
    switch (parts[0]) {
      case "login": renderLogin(); return;
      case "posture": stopPage = await renderPosture(main); break;
      case "registry": stopPage = await renderRegistry(main); break;
      case "audit": stopPage = await renderAudit(main); break;
      case "feeds": stopPage = await renderFeeds(main, parts[1]); break;
      case "threats":
      case "":
        stopPage = parts[1] ? await renderThreat(main, parts[1], parts[2]) : await renderThreats(main);
        break;
      default:
        fill(main, h("h1", { tabindex: "-1", id: "page-title" }, "Not found"), h("p", {}, h("a", { href: "#/threats" }, "Back to the threat queue")));
    }
    // Move focus to the new page's heading so keyboard and screen-reader users start there.
    document.getElementById("page-title")?.focus();
  } catch (e) {
    if (e.status === 401) {
      await logout();
      return go("#/login");
    }
    fill(main, h("h1", { tabindex: "-1", id: "page-title" }, "Could not load this page"), h("p", {}, alertError(e)));
  }
}

window.addEventListener("hashchange", route);
// The skip link must not change the hash (that is the router's): move focus instead.
document.querySelector(".skip")?.addEventListener("click", (e) => {
  e.preventDefault();
  (document.getElementById("page-title") ?? main).focus();
});
(async () => {
  if (session?.mode === "session") await refreshMe();
  route();
})();
