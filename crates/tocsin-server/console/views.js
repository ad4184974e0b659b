// The console's pages. Each `render*` fills <main> and returns an optional stop function (for
// pages that poll). Reads go to /api/v1; actions are buttons whose result is announced.
import { h, fill, plain, announce, alertError, when, badge, table, actionButton } from "./dom.js";
import { get, getAll, post, patch, postText, session, ApiError } from "./api.js";
import { drawMap, entityPoint } from "./map.js";

const POLL_MS = 2000;

// ---------- shared bits ----------

export function formatMark(m) {
  if (!m) return "";
  if (typeof m === "string") return m;
  // The originator (USA) leads a REL TO list, the rest follow in order: "REL TO USA, RUS".
  const rel = m.rel_to ? [...m.rel_to].sort((a, b) => (a === "USA" ? -1 : b === "USA" ? 1 : a.localeCompare(b))) : null;
  const parts = [m.classification ?? "U"];
  if (m.sci?.length) parts.push(m.sci.join("/"));
  if (m.fouo) parts.push("FOUO");
  if (m.cui) parts.push("CUI");
  if (m.orcon) parts.push("ORCON");
  if (m.noforn) parts.push("NF");
  if (rel) parts.push(`REL TO ${rel.join(", ")}`);
  if (m.tlp) parts.push(`TLP:${String(m.tlp).toUpperCase()}`);
  return `(${parts.join("//")})`;
}

function markClass(m) {
  const c = (typeof m === "object" && m?.classification) || "U";
  return c === "U" && !m?.fouo && !m?.cui ? "mark-u" : c === "TS" ? "mark-ts" : c === "S" ? "mark-s" : "mark-c";
}

/** `"AmberStrict"`, `"amber_strict"` or `"TLP:AMBER+STRICT"` → `TLP:AMBER+STRICT`. */
const tlpLabel = (t) => `TLP:${String(t ?? "").replace(/^TLP:/i, "").replace(/([a-z])([A-Z])/g, "$1+$2").replace(/_/g, "+").toUpperCase()}`;

const label = (s) => String(s ?? "").replaceAll("_", " ");

function pageHeader(title, ...extra) {
  document.title = `${plain(title)} — Tocsin console`;
  return h("div", { class: "page-head" }, h("h1", { tabindex: "-1", id: "page-title" }, title), ...extra);
}

const can = (role) => {
  const order = ["viewer", "analyst", "approver", "admin"];
  const mine = session?.user?.role;
  // Token logins may not know their role: offer the action and let the server decide.
  if (!order.includes(mine)) return true;
  return order.indexOf(mine) >= order.indexOf(role);
};

function loading(main, what) {
  fill(main, h("p", { class: "muted", role: "status" }, `Loading ${what}…`));
}

/** Poll `f` every POLL_MS until the returned stop function is called. */
function poll(f) {
  let stopped = false;
  let timer = null;
  const loop = async () => {
    if (stopped) return;
    try { await f(); } catch (e) { if (!(e instanceof ApiError && e.status === 401)) console.warn(e); }
    if (!stopped) timer = setTimeout(loop, POLL_MS);
  };
  timer = setTimeout(loop, POLL_MS);
  return () => { stopped = true; clearTimeout(timer); };
}

// ---------- threat queue ----------

export async function renderThreats(main) {
  loading(main, "threats");
  const [threats, tasks] = await Promise.all([getAll("/threats"), get("/tasks").catch(() => ({ items: [] }))]);
  const rows = [];
  for (const t of threats.items) {
    const ds = await get(`/threats/${encodeURIComponent(t.id)}/determinations`).catch(() => ({ items: [] }));
    const ws = await get(`/warnings?threat=${encodeURIComponent(t.id)}`).catch(() => ({ items: [] }));
    const d = ds.items.at(-1);
    const status = !d ? badge("needs determination", "warn") : d.approver ? badge(`${label(d.decision)} approved`, "ok") : badge(`${label(d.decision)} proposed`, "info");
    rows.push([
      h("a", { href: `#/threats/${encodeURIComponent(t.id)}` }, t.title),
      t.id,
      when(t.received),
      label(t.credibility),
      h("span", {}, when(t.window?.from), " – ", when(t.window?.until)),
      String(t.target_count ?? t.targets?.length ?? 0),
      status,
      String(ws.items.length),
    ]);
  }
  fill(main,
    pageHeader("Threat queue"),
    h("section", { "aria-labelledby": "q-h" },
      h("h2", { id: "q-h", class: "sr-only" }, "Threats"),
      table(`${threats.count} threat report(s), newest work first`, ["Threat", "Id", "Received", "Credibility", "Window", "Targets", "Duty", "Warnings"], rows, { empty: "No threat reports yet.", id: "threat-table" })),
    h("section", { "aria-labelledby": "tasks-h" },
      h("h2", { id: "tasks-h" }, "Analysts' tasks"),
      table("Open tasks", ["Task", "Kind", "Threat", "Opened", "Detail"],
        (tasks.items ?? []).map((k) => [String(k.id), label(k.kind), k.threat_id, when(k.opened_at ?? k.at), k.detail ?? ""]),
        { empty: "No open tasks." })));
}

// ---------- threat page ----------

const TABS = [
  ["report", "Report"],
  ["matches", "Matches and map"],
  ["determination", "Determination"],
  ["warnings", "Warnings"],
  ["timeline", "Deliveries and timeline"],
];

export async function renderThreat(main, id, tab = "report") {
  loading(main, `threat ${id}`);
  const t = await get(`/threats/${encodeURIComponent(id)}`);
  const base = `#/threats/${encodeURIComponent(id)}`;
  const nav = h("nav", { class: "tabs", "aria-label": "Threat sections" },
    h("ul", {}, TABS.map(([k, name]) => h("li", {}, h("a", { href: `${base}/${k}`, "aria-current": k === tab ? "page" : null }, name)))));
  const body = h("div", { class: "tab-body" });
  fill(main,
    pageHeader(t.title, h("p", { class: "muted" }, `${t.id} · from ${t.originator} · received `, when(t.received))),
    nav, body);
  const section = TABS.find(([k]) => k === tab)?.[1] ?? "Report";
  document.title = `${section}: ${plain(t.title)} — Tocsin console`;
  switch (tab) {
    case "matches": return renderMatches(body, t);
    case "determination": return renderDetermination(body, t);
    case "warnings": return renderWarnings(body, t);
    case "timeline": return renderTimeline(body, t);
    default: return renderReport(body, t);
  }
}

function renderReport(body, t) {
  const dl = (pairs) => h("dl", { class: "facts" }, pairs.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  fill(body,
    h("section", { "aria-labelledby": "facts-h" },
      h("h2", { id: "facts-h" }, "Report"),
      dl([
        ["Actor", h("span", {}, t.actor ?? "unknown", " ", badge(formatMark(t.actor_mark), markClass(t.actor_mark)))],
        ["Harms", (t.harms ?? []).map(label).join(", ")],
        ["Credibility", label(t.credibility)],
        ["Threat window", h("span", {}, when(t.window?.from), " – ", when(t.window?.until))],
        ["Public advice", `${t.public_advice_hours} hours`],
        ["Restricted terms", (t.restricted_terms ?? []).length ? (t.restricted_terms ?? []).join(" · ") : "none listed"],
      ])),
    h("section", { "aria-labelledby": "portions-h" },
      h("h2", { id: "portions-h" }, `Marked portions (${t.portions?.length ?? 0})`),
      h("ol", { class: "portions" }, (t.portions ?? []).map((p) =>
        h("li", { class: `portion ${markClass(p.mark)}${p.tearline ? " tearline" : ""}` },
          h("span", { class: "portion-mark" }, p.tearline ? "TEARLINE " : "", formatMark(p.mark)),
          " ",
          h("span", { class: "portion-text" }, p.text))))),
    h("section", { "aria-labelledby": "targets-h" },
      h("h2", { id: "targets-h" }, "Target specifications"),
      table("What the report says may be hit", ["Target", "Mark", "Name", "Categories", "Area", "Minimum size"],
        (t.targets ?? []).map((s) => [s.label, formatMark(s.mark), s.name ?? "—", (s.categories ?? []).join(", ") || "—",
          s.area ? JSON.stringify(s.area).replace(/[{}"]/g, "").replaceAll(",", ", ") : "—", s.min_size ?? "—"]))),
    h("section", { "aria-labelledby": "measures-h" },
      h("h2", { id: "measures-h" }, "Recommended measures"),
      h("ul", {}, (t.measures ?? []).map((m) => h("li", {}, m)))));
}

async function renderMatches(body, t) {
  const [matches, entities] = await Promise.all([get(`/threats/${encodeURIComponent(t.id)}/matches`), getAll("/entities")]);
  const byId = new Map(entities.items.map((e) => [e.id, e]));
  // One map point per place: events are drawn at their venue, with the event named in the list.
  const points = new Map();
  for (const m of matches.items) {
    const e = byId.get(m.entity_id);
    const loc = entityPoint(e, byId);
    if (!loc) continue;
    const key = `${loc.lat},${loc.lon}`;
    const p = points.get(key) ?? { id: m.entity_id, name: m.entity_name ?? m.entity_id, lat: loc.lat, lon: loc.lon, names: [] };
    p.names.push(`${m.entity_name} (score ${m.score.toFixed(2)})`);
    if (e?.kind === "venue" || !e?.venue) { p.name = m.entity_name; p.id = m.entity_id; }
    points.set(key, p);
  }
  const pts = [...points.values()].map((p) => ({ ...p, detail: p.names.join("; ") }));
  const mapBox = h("div", { class: "map-box", id: "match-map" });
  const rows = matches.items.map((m) => {
    const e = byId.get(m.entity_id);
    const loc = entityPoint(e, byId);
    const idx = pts.findIndex((p) => loc && p.lat === loc.lat && p.lon === loc.lon);
    return [
      h("span", {}, m.entity_name ?? m.entity_id, h("br"), h("span", { class: "muted small" }, label(m.entity_kind))),
      idx >= 0
        ? h("button", { type: "button", class: "link", "aria-label": `Show map point ${idx + 1}`, onclick: () => mapBox.querySelectorAll("svg.map .mark")[idx]?.focus() }, String(idx + 1))
        : h("span", { class: "muted" }, "—"),
      m.score.toFixed(2),
      m.target_label ?? `target ${m.target}`,
      h("ul", { class: "reasons" }, (m.reasons ?? []).map((r) => h("li", {}, `${label(r.descriptor)}: `, r.detail))),
    ];
  });
  fill(body,
    h("div", { class: "split" },
      h("section", { "aria-labelledby": "map-h", class: "map-section" },
        h("h2", { id: "map-h" }, "Map of matched places"),
        mapBox),
      h("section", { "aria-labelledby": "mlist-h", class: "list-section" },
        h("h2", { id: "mlist-h" }, `Matches (${matches.count})`),
        table("Registry entities the report's targets fit, best first", ["Entity", "Map point", "Score", "Target", "Why"], rows,
          { empty: "No registry entity matches this report.", id: "match-table" }))));
  await drawMap(mapBox, pts, `Map of ${pts.length} matched place(s) for ${plain(t.title)}`);
  announce(`${matches.count} matches, ${pts.length} places on the map`);
}

async function renderDetermination(body, t) {
  const tid = encodeURIComponent(t.id);
  const draw = async () => {
    const ds = await get(`/threats/${tid}/determinations`);
    const cur = ds.items.at(-1);
    const actions = h("div", { class: "actions" });
    if (can("analyst")) {
      actions.append(actionButton(cur ? "Propose again (re-evaluate)" : "Propose determination", async () => {
        const d = await post(`/threats/${tid}/determinations`);
        announce(`Determination proposed: ${label(d.decision)}`);
        await draw();
        document.getElementById("current-determination")?.focus();
      }, { id: "propose" }));
    }
    if (cur && !cur.approver && can("approver")) {
      actions.append(actionButton("Approve determination", async () => {
        const d = await post(`/threats/${tid}/determinations/approve`);
        announce(`Determination approved by ${d.approver}`);
        await draw();
        document.getElementById("current-determination")?.focus();
      }, { id: "approve-determination", class: "primary" }));
    }
    const history = ds.items.slice().reverse().map((d) => [
      when(d.proposed_at), label(d.decision), d.proposer, d.approver ?? "—", when(d.approved_at), when(d.deadline)]);
    fill(body,
      h("section", { "aria-labelledby": "det-h" },
        h("h2", { id: "det-h" }, "Duty to warn"),
        cur
          ? h("div", { class: "card", id: "current-determination", tabindex: "-1" },
              h("p", { class: "decision" },
                h("strong", {}, label(cur.decision).toUpperCase()), " ",
                cur.approver ? badge("approved", "ok") : badge("awaiting a second person's approval", "info")),
              h("p", {}, "Proposed by ", h("strong", {}, cur.proposer), " at ", when(cur.proposed_at),
                cur.approver ? h("span", {}, "; approved by ", h("strong", {}, cur.approver), " at ", when(cur.approved_at)) : "",
                "; deliver by ", when(cur.deadline), "."),
              h("h3", {}, "Threshold criteria"),
              h("ul", { class: "criteria" }, (cur.criteria ?? []).map((c) =>
                h("li", { class: c.held ? "held" : "not-held" }, h("span", { class: "tick", "aria-hidden": "true" }, c.held ? "✔" : "✘"),
                  h("span", { class: "sr-only" }, c.held ? "Met: " : "Not met: "), h("strong", {}, label(c.name)), " — ", c.why))),
              (cur.considerations ?? []).length ? h("div", {}, h("h3", {}, "Considerations"), h("ul", {}, cur.considerations.map((c) => h("li", {}, c)))) : "")
          : h("p", { id: "current-determination" }, "No determination yet: propose one to evaluate the duty-to-warn threshold."),
        actions,
        h("p", { class: "muted small" }, "Two-person rule: whoever proposed a determination cannot approve it.")),
      h("section", { "aria-labelledby": "hist-h" },
        h("h2", { id: "hist-h" }, "History"),
        table("Every proposal and approval, newest first", ["Proposed", "Decision", "Proposer", "Approver", "Approved", "Deliver by"], history)));
  };
  await draw();
}

/** The server's leak-gate verdict (`leak_gate`), computed by the real gate against the threat's
 *  restricted terms and withheld portions when the warning was read. The console never re-checks. */
function leakVerdict(w) {
  const v = w.leak_gate;
  if (!v) return { ok: false, text: "not checked (the warning's threat or audience is gone)" };
  if (!v.passed) {
    const b = v.blocked ?? {};
    const rule = b.rule?.rule ? label(b.rule.rule) : "blocked";
    return { ok: false, text: `BLOCKED: ${rule} in ${b.field ?? "?"}${b.excerpt ? ` (“${plain(b.excerpt)}”)` : ""}` };
  }
  return { ok: true, text: `passed (${v.checked_terms} restricted term(s), ${v.withheld_portions} withheld portion(s) checked in ${v.checked_fields} field(s))` };
}

async function renderWarnings(body, t) {
  const tid = encodeURIComponent(t.id);
  const grid = h("div", { class: "drafts", id: "drafts" });
  const editing = new Set(); // drafts open in the editor: polling must not redraw over them
  const top = h("div", { class: "actions" });
  let shown = null; // what is on screen: polling redraws only when it changed
  const draw = async (force = false) => {
    const ws = await get(`/warnings?threat=${tid}`);
    const sig = JSON.stringify(ws.items.map((w) => [w.id, w.state, w.version, w.headline, w.text, w.leak_gate?.passed]));
    if (!force && sig === shown) return;
    shown = sig;
    // The newest version per audience, side by side.
    const latest = new Map();
    for (const w of ws.items) if (!latest.has(w.audience_id) || latest.get(w.audience_id).version < w.version) latest.set(w.audience_id, w);
    // Why a draft is vaguer than its threat (GET /warnings/{id}/specificity): only drafts that do
    // not already name their target can be helped by a release request.
    const advised = new Map(await Promise.all([...latest.values()]
      .filter((w) => w.state === "draft" && w.audience_kind !== "public" && w.specificity !== "named_target")
      .map(async (w) => [w.id, await get(`/warnings/${encodeURIComponent(w.id)}/specificity`).catch(() => null)])));
    const cards = [...latest.values()].map((w) => {
      const wid = encodeURIComponent(w.id);
      const verdict = leakVerdict(w);
      const acts = h("div", { class: "actions" });
      if (w.state === "draft" && can("approver")) {
        acts.append(actionButton(`Approve ${w.audience_id}`, async () => {
          await post(`/warnings/${wid}/approve`);
          announce(`Warning ${w.id} approved`);
          await draw();
          document.getElementById(`w-${w.id}`)?.focus();
        }, { class: "primary", "data-action": "approve-warning", id: `approve-${w.id}` }));
      }
      if (w.state === "draft" && can("analyst")) {
        acts.append(h("button", { type: "button", id: `edit-${w.id}`, "data-action": "edit-warning", onclick: () => openEditor(w) }, `Edit ${w.audience_id}`));
      }
      if (w.state === "approved" && can("approver")) {
        acts.append(actionButton(`Queue ${w.audience_id}`, async () => {
          try {
            await post(`/warnings/${wid}/queue`);
            announce(`Warning ${w.id} queued for delivery`);
          } catch (e) {
            if (e.status === 404) announce(`The scheduler queues ${w.id} on its next pass`);
            else throw e;
          }
          await draw();
          document.getElementById(`w-${w.id}`)?.focus();
        }, { "data-action": "queue-warning", id: `queue-${w.id}` }));
      }
      return h("article", { class: `draft state-${w.state}`, "aria-labelledby": `w-${w.id}`, "data-warning": w.id, "data-audience": w.audience_id },
        h("h3", { id: `w-${w.id}`, tabindex: "-1" }, w.audience_id),
        h("p", { class: "meta" },
          badge(label(w.audience_kind)), " ", badge(tlpLabel(w.tlp), "tlp"), " ",
          badge(`specificity: ${label(w.specificity)}`, "spec"), " ", badge(label(w.state), `st-${w.state}`)),
        h("p", { class: `gate ${verdict.ok ? "ok" : "bad"}`, "data-leak-gate": verdict.ok ? "passed" : "blocked" }, h("strong", {}, "Leak gate: "), verdict.text),
        h("p", { class: "banner-line" }, w.banner),
        h("p", { class: "headline" }, h("strong", {}, w.headline)),
        h("pre", { class: "text", tabindex: "0", id: `text-${w.id}`, "aria-label": `Text of the warning to ${w.audience_id}` }, w.text),
        h("p", { class: "muted small" }, `${w.id} · valid `, when(w.valid?.from), " – ", when(w.valid?.until)),
        specificityAdvice(w, advised.get(w.id)),
        acts);
    });
    // The advice beside a draft: which marks withhold which named targets, and the release request.
    function specificityAdvice(w, a) {
      if (!a || !a.withheld_targets?.length) return "";
      const wid = encodeURIComponent(w.id);
      const items = a.withheld_targets.map((t) => {
        // A target above the reader's clearance arrives as its mark only (need to know).
        if (t.label?.withheld) return h("li", {}, `a named target you may not read (${t.label.marking})`);
        return h("li", {}, `target ${t.target} names `, h("strong", {}, t.name), ` (${t.label}) but is marked ${t.marking}: ${t.denial}`);
      });
      const open = (a.release_requests ?? []).filter((r) => !r.closed_at);
      const acts = h("div", { class: "actions" });
      if (a.can_request_release && can("analyst")) {
        acts.append(actionButton("Request release", async () => {
          const r = await post(`/warnings/${wid}/release-request`);
          announce(`Release request recorded: task ${r.task.id} asks ${a.originator} for a tearline or a REL TO for ${w.audience_id}`);
          await draw(true);
          document.getElementById(`advice-${w.id}`)?.focus();
        }, { "data-action": "request-release", id: `release-request-${w.id}` }));
      }
      return h("section", { class: "advice", id: `advice-${w.id}`, tabindex: "-1", "data-specificity-advice": w.id, "aria-label": `Why the warning to ${w.audience_id} is vague` },
        h("p", {}, h("strong", {}, `Why this warning is ${label(a.specificity)}: `),
          `the threat knows more than ${w.audience_id} may be told. A tearline or a REL TO from ${a.originator} would let it name its target.`),
        h("ul", {}, ...items),
        open.length ? h("p", { class: "muted small", "data-release-request": "open" }, `Release request open: task ${open.map((r) => r.id).join(", ")}`) : "",
        acts);
    }
    // Edit a draft in place; the server runs the leak gate again and refuses a leaking text (422).
    function openEditor(w) {
      const card = grid.querySelector(`article[data-warning="${CSS.escape(w.id)}"]`);
      if (!card) return;
      editing.add(w.id);
      const head = h("input", { id: `edit-headline-${w.id}`, value: w.headline });
      const text = h("textarea", { id: `edit-text-${w.id}`, rows: "12" });
      text.value = plain(w.text);
      const err = h("div", { class: "error", role: "alert", id: `edit-error-${w.id}` });
      const close = async () => { editing.delete(w.id); await draw(true); document.getElementById(`w-${w.id}`)?.focus(); };
      const form = h("form", { class: "editor", "aria-label": `Edit the draft to ${w.audience_id}` },
        h("div", { class: "field wide" }, h("label", { for: head.id }, "Headline"), head),
        h("div", { class: "field wide" }, h("label", { for: text.id }, "Text"), text),
        err,
        h("div", { class: "actions" },
          h("button", { type: "submit", class: "primary" }, "Save draft"),
          h("button", { type: "button", onclick: close }, "Cancel")));
      form.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { ev.preventDefault(); close(); } });
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        fill(err);
        try {
          await patch(`/warnings/${encodeURIComponent(w.id)}`, { headline: head.value, text: text.value });
          announce(`Draft to ${w.audience_id} saved: it passed the leak gate`);
          await close();
        } catch (e) {
          fill(err, h("strong", {}, e.status === 422 ? "Refused by the leak gate or invalid: " : "Not saved: "), e.detail || e.message);
          text.focus();
        }
      });
      card.querySelector(":scope > .actions")?.remove();
      card.querySelector("pre.text")?.replaceWith(form);
      head.focus();
    }
    fill(top);
    if (can("analyst")) {
      top.append(actionButton(latest.size ? "Compose again" : "Compose warnings", async () => {
        const r = await post(`/threats/${tid}/warnings`);
        announce(`${r.count} draft warning(s) composed`);
        await draw();
        grid.querySelector("h3")?.focus();
      }, { id: "compose" }));
    }
    fill(grid, ...(cards.length ? cards : [h("p", { class: "muted" }, "No warnings yet. Compose them once the determination to warn is approved.")]));
  };
  await draw();
  fill(body,
    h("section", { "aria-labelledby": "warn-h" },
      h("h2", { id: "warn-h" }, "Warnings, one per audience"),
      h("p", { class: "muted small" }, "Each audience gets only the portions releasable to it. Partners and operators are sent as soon as they are queued; the public advisory waits for the partners and the policy's hold."),
      top, grid));
  return poll(async () => {
    // Redraw, keeping keyboard focus on the same control (ids are stable per warning).
    const ae = document.activeElement;
    const focused = grid.contains(ae) || top.contains(ae) ? ae.id : null;
    if (editing.size) return;
    if (focused && document.activeElement.getAttribute("aria-disabled") === "true") return; // an action is running
    await draw();
    if (focused) document.getElementById(focused)?.focus();
  });
}

async function renderTimeline(body, t) {
  const tid = encodeURIComponent(t.id);
  const list = h("ol", { class: "timeline", id: "timeline", "aria-label": "Timeline, oldest first" });
  const deliveries = h("div", { id: "deliveries" });
  const acks = h("p", { id: "ack-count", "aria-live": "polite" });
  let seen = -1;
  let shownTl = null;
  const draw = async () => {
    const [tl, ws] = await Promise.all([get(`/timeline?threat=${tid}`), get(`/warnings?threat=${tid}`)]);
    const all = [];
    for (const w of ws.items) all.push([w, (await get(`/warnings/${encodeURIComponent(w.id)}/deliveries`)).items]);
    const sig = JSON.stringify([tl.items.length, all.map(([w, ds]) => [w.state, ds.map((d) => [d.status, d.attempts])])]);
    if (sig === shownTl) return;
    shownTl = sig;
    const rows = [];
    for (const [w, items] of all) {
      const ds = { items };
      for (const d of ds.items) {
        rows.push([w.audience_id, d.notice?.kind ?? "warning", `${d.channel.kind}: ${d.channel.address}`,
          badge(label(d.status), `status ${d.status}`), String(d.attempts), when(d.delivered_at), d.last_error ?? ""]);
      }
    }
    fill(deliveries, table("Deliveries through the outbox", ["Audience", "Kind", "Channel", "Status", "Attempts", "Delivered", "Last error"], rows,
      { empty: "Nothing queued yet." }));
    fill(list, tl.items.map((e) => h("li", { class: `ev ev-${e.event}` }, when(e.at), " ", h("strong", {}, label(e.event)), " ", h("span", {}, e.detail))));
    const n = tl.items.filter((e) => e.event === "acknowledged").length;
    acks.textContent = `${n} acknowledgement(s) received; ${ws.items.filter((w) => ["delivered", "acknowledged", "posture_confirmed"].includes(w.state)).length} warning(s) delivered.`;
    if (seen >= 0 && tl.items.length > seen) {
      const fresh = tl.items.slice(seen).map((e) => label(e.event));
      announce(`${fresh.length} new timeline entr${fresh.length === 1 ? "y" : "ies"}: ${fresh.join(", ")}`);
    }
    seen = tl.items.length;
  };
  fill(body,
    h("section", { "aria-labelledby": "del-h" }, h("h2", { id: "del-h" }, "Delivery and acknowledgement"), acks, deliveries),
    h("section", { "aria-labelledby": "tl-h" }, h("h2", { id: "tl-h" }, "Timeline"), h("p", { class: "muted small" }, "Updates by itself every few seconds."), list));
  await draw();
  return poll(draw);
}

// ---------- posture board ----------

export async function renderPosture(main) {
  loading(main, "posture");
  const board = h("div", { id: "posture-board" });
  // The scheduler's own check-in clocks (GET /posture): the states it reminds and escalates from.
  const STATUS = {
    on_guard: ["on guard", "ok"], lapsed: ["lapsed — overdue", "warn"], reminded: ["lapsed — reminded", "bad"],
    escalated: ["lapsed — escalated", "bad"], closed: ["stood down", ""],
  };
  const draw = async () => {
    const [pb, tasks, dead] = await Promise.all([
      get("/posture"), get("/tasks").catch(() => ({ items: [] })),
      get("/dead-letters").catch(() => get("/deliveries?status=dead")),
    ]);
    const c = pb.counts ?? {};
    const rows = pb.items.map((i) => {
      const [text, kind] = STATUS[i.state] ?? [label(i.state), ""];
      return [i.audience_name ? `${i.audience_name} (${i.audience_id})` : i.audience_id, i.warning_id, label(i.warning_state),
        when(i.last_check_in), i.next_due ? when(i.next_due) : "—", when(i.window_until), `${i.interval_hours} h`,
        h("span", { "data-posture": i.state, "data-audience": i.audience_id }, badge(text, kind), i.overdue ? " " : "", i.overdue ? badge("overdue", "warn") : "")];
    });
    fill(board,
      h("p", { class: "summary", "aria-live": "polite" },
        `${c.on_guard ?? 0} on guard · ${(c.lapsed ?? 0) + (c.reminded ?? 0) + (c.escalated ?? 0)} lapsed (${c.reminded ?? 0} reminded, ${c.escalated ?? 0} escalated) · ${c.overdue ?? 0} overdue · ${c.closed ?? 0} stood down`),
      h("p", { class: "muted small" }, "As of ", when(pb.at), " (the server's clock)."),
      table("Tracked recipients and their posture check-ins", ["Audience", "Warning", "Warning state", "Last check-in", "Next due", "Threat window ends", "Interval", "Posture"], rows,
        { empty: "No recipient is tracked yet: posture tracking starts when a warning is delivered.", id: "posture-table" }),
      h("h2", {}, "Open tasks"),
      table("Escalations and follow-ups for analysts", ["Task", "Kind", "Threat", "Detail"],
        (tasks.items ?? []).map((k) => [String(k.id), label(k.kind), k.threat_id, k.detail ?? ""]), { empty: "No open tasks." }),
      h("h2", {}, "Dead letters"),
      table("Deliveries that gave up", ["Delivery", "Warning", "Audience", "Channel", "Attempts", "Last error"],
        (dead.items ?? []).map((d) => [String(d.id), d.warning_id, d.audience_id, `${d.channel?.kind}: ${d.channel?.address}`, String(d.attempts), d.last_error ?? ""]),
        { empty: "No dead letters." }));
  };
  fill(main, pageHeader("Posture board"), h("p", { class: "muted" }, "Who is on guard, who has lapsed and what is overdue, from the scheduler's own check-in clocks. Updates by itself."), board);
  await draw();
  return poll(draw);
}

// ---------- registry ----------

export async function renderRegistry(main) {
  loading(main, "registry");
  let [ents, auds] = await Promise.all([getAll("/entities"), getAll("/audiences")]);
  let byId = new Map(ents.items.map((e) => [e.id, e]));
  const results = h("div", { id: "entity-results" });
  const filter = h("input", { id: "entity-filter", type: "search", autocomplete: "off" });
  const show = () => {
    const q = filter.value.trim().toLowerCase();
    const hits = ents.items.filter((e) => !q || [e.id, e.name, e.category, e.city, ...(e.aliases ?? [])].some((s) => String(s ?? "").toLowerCase().includes(q)));
    fill(results, table(`${hits.length} of ${ents.count} entities`, ["Name", "Kind", "Category", "City", "Country", "Capacity", "Location", "Audiences"],
      hits.slice(0, 200).map((e) => {
        const loc = entityPoint(e, byId);
        return [e.name, label(e.kind), e.category, e.city ?? "—", e.country ?? "—", e.capacity ?? "—",
          loc ? `${loc.lat.toFixed(4)}, ${loc.lon.toFixed(4)}` : "—", (e.audiences ?? []).join(", ") || "—"];
      }), { empty: "No entity matches the filter." }));
  };
  filter.addEventListener("input", show);

  const progress = h("progress", { id: "import-progress", max: "100", value: "0", hidden: true, "aria-label": "Import progress" });
  const importStatus = h("div", { id: "import-status", "aria-live": "polite" });
  // Audiences and venues before events: events name their venue, which must be stored first.
  const KINDS = [["audiences", "audiences.toml", ".toml"], ["venues", "venues.csv", ".csv,text/csv"], ["events", "events.csv", ".csv,text/csv"]];
  const inputs = KINDS.map(([kind, name, accept]) => {
    const input = h("input", { type: "file", id: `file-${kind}`, accept });
    return { kind, name, input, field: h("div", { class: "field" }, h("label", { for: `file-${kind}` }, name), input) };
  });
  const importForm = h("form", { id: "import-form", "aria-labelledby": "imp-h" },
    h("p", { class: "muted small" }, "The files as `tocsin import` reads them (docs/formats.md). Each is checked whole before anything is stored."),
    inputs.map((i) => i.field),
    h("button", { type: "submit" }, "Import"), " ", progress, importStatus);
  importForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const chosen = inputs.filter((i) => i.input.files?.[0]);
    if (!chosen.length) {
      fill(importStatus, h("p", { class: "error" }, "Choose at least one file to import."));
      return;
    }
    progress.hidden = false;
    const lines = [];
    try {
      for (const i of chosen) {
        progress.value = 0;
        let job;
        try {
          job = await postText(`/entities/import?kind=${i.kind}`, await i.input.files[0].text());
        } catch (e) {
          // A file that does not parse is refused whole, before any job starts (422 with `field`).
          if (!(e instanceof ApiError) || e.status !== 422) throw e;
          lines.push(h("div", {}, h("p", { class: "error" }, `${i.name}: import failed, nothing stored.`),
            h("ul", {}, h("li", {}, e.problem.field ? `${e.problem.field}: ` : "", e.detail))));
          fill(importStatus, ...lines);
          continue;
        }
        let j = job;
        while (j.state === "queued" || j.state === "running") {
          progress.value = j.total ? Math.round((100 * j.done) / j.total) : 0;
          fill(importStatus, ...lines, h("p", {}, `${i.name}: ${label(j.state)}, ${j.done} of ${j.total || "?"} records`));
          await new Promise((r) => setTimeout(r, 500));
          j = await get(`/jobs/${encodeURIComponent(job.id)}`);
        }
        progress.value = j.state === "succeeded" ? 100 : progress.value;
        if (j.state === "succeeded") {
          lines.push(h("p", { class: "ok" }, `${i.name}: imported ${j.done} record(s).`));
        } else {
          lines.push(h("div", {}, h("p", { class: "error" }, `${i.name}: import failed, nothing stored.`),
            h("ul", {}, (j.errors ?? []).map((e) => h("li", {}, [e.line && `line ${e.line}`, e.column && `column ${e.column}`, e.field && `field ${e.field}`].filter(Boolean).join(", "), e.line || e.field ? ": " : "", e.message)))));
        }
        fill(importStatus, ...lines);
      }
      announce(importStatus.textContent);
      ents = await getAll("/entities");
      byId = new Map(ents.items.map((e) => [e.id, e]));
      show();
    } catch (e) {
      fill(importStatus, ...lines, h("p", { class: "error" }, alertError(e)));
    }
  });

  fill(main,
    pageHeader("Registry"),
    h("section", { "aria-labelledby": "ent-h" },
      h("h2", { id: "ent-h" }, "Entities"),
      h("div", { class: "field" }, h("label", { for: "entity-filter" }, "Filter by name, alias, category or city"), filter),
      results),
    h("section", { "aria-labelledby": "aud-h" },
      h("h2", { id: "aud-h" }, "Audiences"),
      table(`${auds.count} audiences`, ["Audience", "Name", "Kind", "Clearance", "TLP ceiling", "Channels", "Check-in every"],
        auds.items.map((a) => [a.id, a.name, label(a.kind), a.clearance, a.tlp_ceiling, (a.channels ?? []).map((c) => `${c.kind}: ${c.address}`).join("; "),
          a.posture_interval_hours ? `${a.posture_interval_hours} h` : "—"]))),
    can("analyst") ? h("section", { "aria-labelledby": "imp-h" }, h("h2", { id: "imp-h" }, "Import"), importForm) : "");
  show();
}

// ---------- audit ----------

export async function renderAudit(main) {
  loading(main, "audit");
  const summary = await get("/audit");
  const events = h("div", { id: "audit-events" });
  let after = 0;
  const pageSize = 50;
  const more = async () => {
    try {
      const page = await get(`/audit/events?after=${after}&limit=${pageSize}`);
      const rows = page.items.map((e) => [String(e.seq), when(e.at), e.actor, e.action, e.subject, h("code", { title: e.hash }, `${e.hash.slice(0, 12)}…`)]);
      const old = events.querySelector("tbody");
      if (old && rows.length) {
        for (const r of rows) old.append(h("tr", {}, r.map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", {}, c)))));
      } else if (!old) {
        fill(events, table("Audit events, oldest first", ["Seq", "At", "Actor", "Action", "Subject", "Hash"], rows, { empty: "No events." }));
      }
      if (page.items.length) after = page.items.at(-1).seq;
      moreBtn.hidden = page.items.length < pageSize;
      announce(`${page.items.length} audit events loaded`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) fill(events, h("p", { class: "muted" }, "The list of events needs the admin role; the chain summary above is open to every role."));
      else throw e;
    }
  };
  const moreBtn = actionButton("Load more events", more, { hidden: true });
  fill(main,
    pageHeader("Audit"),
    h("section", { "aria-labelledby": "chain-h" },
      h("h2", { id: "chain-h" }, "Hash chain"),
      h("p", { id: "audit-summary" },
        summary.verified ? badge("verified", "ok") : badge("BROKEN", "bad"),
        ` ${summary.count} events; head `, h("code", {}, summary.head_hash)),
      summary.break ? h("pre", {}, JSON.stringify(summary.break, null, 2)) : ""),
    h("section", { "aria-labelledby": "ev-h" }, h("h2", { id: "ev-h" }, "Events"), events, moreBtn));
  await more();
}

// ---------- CERT feed runs ----------

const RUN_STATUS = { queued: "ok", not_due: "warn", never: "", no_contact: "bad", inhibited: "" };

/** `#/feeds`: every run, newest first; `#/feeds/<id>`: one run, organisation by organisation. */
export async function renderFeeds(main, runId) {
  loading(main, "feed runs");
  if (runId) return renderFeedRun(main, runId);
  const runs = await get("/feeds/runs");
  const n = (c, k) => String(c?.[k] ?? 0);
  const rows = [...runs.items].reverse().map((r) => [
    h("a", { href: `#/feeds/${encodeURIComponent(r.id)}` }, r.id), when(r.at), r.counts?.report_type ?? "—",
    n(r.counts, "events"), n(r.counts, "matched"), n(r.counts, "notifications"), n(r.counts, "not_due"),
    n(r.counts, "inhibited"), n(r.counts, "no_contact"), n(r.counts, "unmatched"), n(r.counts, "malformed")]);
  fill(main,
    pageHeader("Feed runs"),
    h("p", { class: "muted" }, "Each file ingested with tocsin feed ingest, newest first. Open a run to see, organisation by organisation, what was sent and what was held back and why."),
    table("Feed runs, newest first", ["Run", "At", "Report type", "Events", "Matched", "Notifications", "Not due", "Inhibited", "No contact", "Unmatched", "Malformed"], rows,
      { empty: "No feed run yet: see docs/feeds.md for tocsin feed ingest.", id: "feed-runs" }));
}

async function renderFeedRun(main, id) {
  const r = await get(`/feeds/runs/${encodeURIComponent(id)}`);
  const c = r.counts ?? {};
  const orgs = (c.organisations ?? []).map((o) => [
    o.org_id,
    h("span", { "data-org": o.org_id, "data-status": o.status }, badge(label(o.status), RUN_STATUS[o.status] ?? "")),
    String(o.matched ?? 0), String(o.queued ?? 0), String(o.inhibited ?? 0),
    o.next_due ? when(o.next_due) : "—",
    Object.entries(o.inhibited_by ?? {}).map(([rule, k]) => `${rule} (${k})`).join(", ") || "—"]);
  const malformed = (c.malformed_examples ?? []).map((m) => [String(m.line), m.reason]);
  fill(main,
    pageHeader(`Feed run ${r.id}`, h("a", { href: "#/feeds" }, "All feed runs")),
    h("p", { id: "feed-run-summary" },
      `${c.report_type ?? "?"} · ingested `, when(r.at), ` · ${c.events ?? 0} events, ${c.matched ?? 0} matched `,
      `(${c.matched_by_prefix ?? 0} by prefix, ${c.matched_by_domain ?? 0} by domain, ${c.matched_by_asn ?? 0} by ASN), `,
      `${c.unmatched ?? 0} unmatched, ${c.malformed ?? 0} malformed · ${c.notifications ?? 0} notifications, ${c.deliveries ?? 0} deliveries`),
    c.sha256 ? h("p", { class: "muted small" }, "File SHA-256 ", h("code", {}, c.sha256)) : "",
    h("h2", {}, "Organisations"),
    table("Organisations with matched events: sent, or held back and why", ["Organisation", "Status", "Matched", "Sent", "Inhibited", "Next due", "Inhibited by rule"], orgs,
      { empty: "No organisation had matched events in this run.", id: "feed-run-orgs" }),
    h("h2", {}, "Malformed rows"),
    table("First malformed rows of the file", ["Line", "Reason"], malformed, { empty: "No malformed rows." }));
}
