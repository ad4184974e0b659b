// Small DOM helpers. Text always goes in as text nodes (never innerHTML): report text, names and
// warning drafts come from outside and must not become markup.

/** h("button", {class: "x", onclick: f}, "label", child…) → element. */
export function h(tag, attrs = {}, ...children) {
  const svg = tag.startsWith("svg:");
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    if (c instanceof Node) el.append(c);
    // The API replaces what the reader is not cleared for with {withheld: true, marking}.
    else if (typeof c === "object" && c.withheld === true) el.append(withheld(c.marking));
    else el.append(document.createTextNode(String(c)));
  }
}

/** What stands in for content above the reader's clearance: the marking, never the content. */
export function withheld(marking) {
  const el = document.createElement("span");
  el.className = "withheld";
  el.textContent = `[withheld: ${marking ?? "above your clearance"}]`;
  return el;
}

/** A value as plain text (for titles, labels and attributes, where no element can go): a
 *  withheld marker reads `[withheld: MARKING]`. */
export function plain(v) {
  if (v && typeof v === "object" && v.withheld === true) return `[withheld: ${v.marking ?? "above your clearance"}]`;
  return v ?? "";
}

/** Replace the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Announce `text` to screen readers (and show it in the status bar). */
export function announce(text) {
  const s = document.getElementById("status");
  if (!s) return;
  s.textContent = "";
  // A separate task so assistive technology notices the change even for a repeated message.
  setTimeout(() => { s.textContent = text; }, 30);
}

/** Show an error in the alert region (role=alert). */
export function alertError(err) {
  const a = document.getElementById("alert");
  const msg = err?.message ?? String(err);
  if (a) {
    fill(a, h("p", {}, msg), h("button", { type: "button", class: "link", onclick: () => fill(a) }, "Dismiss"));
  }
  return msg;
}

export function clearAlert() {
  const a = document.getElementById("alert");
  if (a) fill(a);
}

const dateFmt = new Intl.DateTimeFormat("en-GB", {
  year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZone: "UTC", hour12: false,
});

/** "06 Mar 2024, 08:30 UTC" inside a <time> element. */
export function when(ts) {
  if (!ts) return h("span", { class: "muted" }, "—");
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return h("span", {}, String(ts));
  return h("time", { datetime: d.toISOString() }, `${dateFmt.format(d)} UTC`);
}

export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind}`.trim() }, text);
}

/** A table with a caption; rows are arrays of cells (node or text). */
export function table(caption, headers, rows, { empty = "Nothing yet.", id } = {}) {
  if (!rows.length) return h("p", { class: "muted", id }, empty);
  return h("table", { id },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", {}, c)))))));
}

/** A button that shows progress while its async action runs and reports errors. */
export function actionButton(label, action, attrs = {}) {
  const b = h("button", { type: "button", ...attrs }, label);
  b.addEventListener("click", async () => {
    if (b.getAttribute("aria-disabled") === "true") return;
    b.setAttribute("aria-disabled", "true");
    b.classList.add("busy");
    clearAlert();
    try {
      await action(b);
    } catch (e) {
      announce(alertError(e));
    } finally {
      b.removeAttribute("aria-disabled");
      b.classList.remove("busy");
    }
  });
  return b;
}
