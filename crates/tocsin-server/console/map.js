// The matches map: Natural Earth country outlines (basemap.json, shipped with the console) drawn
// as SVG in a plate carrée projection whose x axis is scaled by cos(latitude of the view's centre),
// so shapes near the matches keep their proportions. Zoom and pan by buttons, keyboard (arrows,
// + and −, 0 to fit the matches), mouse wheel and drag. Every point is also in the list beside it.
import { h, fill, announce } from "./dom.js";

let basemapPromise = null;
let citiesPromise = null;
function cityList() {
  citiesPromise ??= fetch("/console/cities.json", { cache: "force-cache" }).then((r) => (r.ok ? r.json() : { cities: [] })).catch(() => ({ cities: [] }));
  return citiesPromise;
}
function basemap() {
  basemapPromise ??= fetch("/console/basemap.json", { cache: "force-cache" }).then((r) => {
    if (!r.ok) throw new Error(`basemap.json: HTTP ${r.status}`);
    return r.json();
  });
  return basemapPromise;
}

/**
 * Draw `points` ([{id, name, lat, lon, detail}]) into `container`; returns the SVG element.
 * `label` names the map for screen readers.
 */
/** Names drawn at most (best matches first); the others show on hover or focus. */
const LABELLED = 8;

export async function drawMap(container, points, label) {
  const W = 640, H = 400; // viewBox aspect; the element scales to its box
  const located = points.filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon));
  const lat0 = located.length ? located.reduce((s, p) => s + p.lat, 0) / located.length : 30;
  const kx = Math.max(0.2, Math.cos((lat0 * Math.PI) / 180));
  const project = (lon, lat) => [lon * kx, -lat];

  // The view: centre (projected units) and width; height follows the aspect ratio.
  const fit = () => {
    if (!located.length) return { cx: 0, cy: -20, w: 360 * kx };
    const xs = located.map((p) => project(p.lon, p.lat)[0]);
    const ys = located.map((p) => project(p.lon, p.lat)[1]);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const w = Math.max((x1 - x0) * 1.6, ((y1 - y0) * 1.6 * W) / H, 0.35);
    return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, w };
  };
  let view = fit();

  const svg = h("svg:svg", {
    class: "map",
    role: "group",
    "aria-label": label,
    "aria-describedby": "map-help",
    tabindex: "0",
    preserveAspectRatio: "xMidYMid meet",
  });
  const title = h("svg:title", {}, label);
  const sea = h("svg:rect", { class: "sea", x: -200, y: -100, width: 400, height: 200 });
  const land = h("svg:g", { class: "land", transform: `scale(${kx} 1)`, "aria-hidden": "true" });
  const marks = h("svg:g", { class: "marks", role: "list", "aria-label": "Matched places" });
  // Orientation only (the outlines say little at city zoom); not part of the accessible map.
  const towns = h("svg:g", { class: "towns", "aria-hidden": "true" });
  let cities = [];
  svg.append(title, sea, land, towns, marks);
  const scaleLabel = h("span", { class: "muted map-scale", "aria-live": "off" });

  const markerEls = located.map((p, i) => {
    const [x, y] = project(p.lon, p.lat);
    const g = h("svg:g", {
      class: "mark",
      role: "listitem",
      tabindex: "-1",
      "aria-label": `${i + 1}. ${p.name}${p.detail ? `, ${p.detail}` : ""}, at ${p.lat.toFixed(4)}, ${p.lon.toFixed(4)}`,
      "data-entity": p.id,
    });
    const c = h("svg:circle", { cx: x, cy: y });
    const n = h("svg:text", { x, y, class: "num", "aria-hidden": "true" }, String(i + 1));
    // Names of the best few only: a city's worth of labels would hide each other. The list beside
    // the map names every point, and hovering or focusing a point shows its name too.
    const t = h("svg:text", { x, y, class: "name", "aria-hidden": "true" }, p.name);
    g.append(h("svg:title", {}, p.name), c, n, t);
    marks.append(g);
    return { g, c, n, t, x, y };
  });

  function render() {
    const vh = (view.w * H) / W;
    svg.setAttribute("viewBox", `${view.cx - view.w / 2} ${view.cy - vh / 2} ${view.w} ${vh}`);
    const unit = view.w / W; // projected units per viewBox pixel
    for (const m of markerEls) {
      m.c.setAttribute("r", 7 * unit);
      m.c.setAttribute("stroke-width", 2 * unit);
      m.n.setAttribute("font-size", 9 * unit);
      m.n.setAttribute("y", m.y + 3 * unit);
      m.t.setAttribute("font-size", 12 * unit);
      m.t.setAttribute("stroke-width", 3 * unit);
      m.t.setAttribute("x", m.x + 10 * unit);
      m.t.setAttribute("y", m.y + 4 * unit);
    }
    placeLabels();
    drawTowns(vh, unit);
    const km = (view.w / kx) * 111.32 * kx; // visible width in km at the view's latitude
    scaleLabel.textContent = `Visible width about ${km >= 100 ? Math.round(km / 10) * 10 : km.toFixed(1)} km`;
  }

  // Greedy: in match order, keep a name only where it overlaps no name kept before it.
  function placeLabels() {
    const kept = [];
    for (const [i, m] of markerEls.entries()) {
      m.t.classList.remove("hover-only");
      if (i >= LABELLED || !svg.isConnected) { m.t.classList.add("hover-only"); continue; }
      const b = m.t.getBBox();
      const clash = kept.some((k) => b.x < k.x + k.width && k.x < b.x + b.width && b.y < k.y + k.height && k.y < b.y + b.height);
      if (clash) m.t.classList.add("hover-only");
      else kept.push(b);
    }
  }

  function drawTowns(vh, unit) {
    towns.replaceChildren();
    if (view.w > 12) return;
    const [x0, x1, y0, y1] = [view.cx - view.w / 2, view.cx + view.w / 2, view.cy - vh / 2, view.cy + vh / 2];
    let n = 0;
    for (const [name, lat, lon] of cities) {
      const [x, y] = project(lon, lat);
      if (x < x0 || x > x1 || y < y0 || y > y1) continue;
      towns.append(
        h("svg:circle", { cx: x, cy: y, r: 2 * unit }),
        h("svg:text", { x: x + 4 * unit, y: y - 3 * unit, "font-size": 10 * unit, "stroke-width": 2.5 * unit }, name));
      if (++n >= 12) break; // largest first: the rows are sorted by population
    }
  }

  const zoom = (f) => { view = { ...view, w: Math.min(400, Math.max(0.02, view.w * f)) }; render(); };
  const pan = (dx, dy) => { view = { ...view, cx: view.cx + dx * view.w, cy: view.cy + dy * view.w }; render(); };
  const reset = () => { view = fit(); render(); announce("Map fitted to the matches"); };

  svg.addEventListener("keydown", (e) => {
    const step = 0.15;
    const keys = {
      ArrowLeft: () => pan(-step, 0), ArrowRight: () => pan(step, 0), ArrowUp: () => pan(0, -step), ArrowDown: () => pan(0, step),
      "+": () => zoom(0.6), "=": () => zoom(0.6), "-": () => zoom(1 / 0.6), "0": reset,
    };
    if (keys[e.key]) {
      e.preventDefault();
      keys[e.key]();
    }
  });
  svg.addEventListener("wheel", (e) => { e.preventDefault(); zoom(e.deltaY < 0 ? 0.8 : 1.25); }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, y: e.clientY }; svg.setPointerCapture(e.pointerId); });
  svg.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const box = svg.getBoundingClientRect();
    pan(-(e.clientX - drag.x) / box.width, -(e.clientY - drag.y) / box.width);
    drag = { x: e.clientX, y: e.clientY };
  });
  svg.addEventListener("pointerup", () => { drag = null; });

  const controls = h("div", { class: "map-controls", role: "toolbar", "aria-label": "Map controls" },
    h("button", { type: "button", onclick: () => zoom(0.6), "aria-label": "Zoom in" }, "+"),
    h("button", { type: "button", onclick: () => zoom(1 / 0.6), "aria-label": "Zoom out" }, "−"),
    h("button", { type: "button", onclick: reset }, "Fit matches"),
    h("button", { type: "button", onclick: () => { view = { cx: 0, cy: -20, w: 360 * kx }; render(); } }, "World"),
    scaleLabel);
  fill(container,
    controls,
    svg,
    h("p", { id: "map-help", class: "muted small" },
      "Focus the map and use the arrow keys to pan, + and − to zoom, 0 to fit the matches. ",
      "Country outlines: Natural Earth (public domain)."));
  render();
  requestAnimationFrame(render); // once laid out, so label boxes can be measured

  try {
    const bm = await basemap();
    const frag = document.createDocumentFragment();
    for (const c of bm.countries) frag.append(h("svg:path", { d: c.d, "data-name": c.name }));
    land.append(frag);
    cities = (await cityList()).cities ?? [];
    render();
  } catch (e) {
    container.append(h("p", { class: "muted" }, `The basemap could not be loaded (${e.message}); the points are still shown.`));
  }
  return svg;
}

/** Where an entity is: its own point, or its venue's (events happen at venues). */
export function entityPoint(entity, byId) {
  const loc = entity?.location ?? (entity?.venue ? byId.get(entity.venue)?.location : null);
  return loc && Number.isFinite(loc.lat) && Number.isFinite(loc.lon) ? loc : null;
}
