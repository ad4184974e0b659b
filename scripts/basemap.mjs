#!/usr/bin/env node
// Build the console's basemap (crates/tocsin-server/console/basemap.json) from Natural Earth
// country outlines as packaged in the npm `world-atlas` TopoJSON files. Run once at development
// time, commit the output:
//
//   npm install --no-save world-atlas@2.0.2   (in any scratch directory)
//   node scripts/basemap.mjs path/to/node_modules/world-atlas/countries-50m.json
//
// Output: { source, license, projection, countries: [{ id, name, d }] } where `d` is an SVG path
// in plate carrée coordinates (x = longitude, y = -latitude, degrees, 2 decimals, relative moves)
// so the console can draw it with a viewBox and no projection code for the outlines.
//
// It also writes console/cities.json: the gazetteer's cities of 100,000 people or more
// (data/gazetteer/cities15000.csv, GeoNames, CC BY 4.0) as [name, lat, lon, population] rows,
// drawn as orientation labels when the map is zoomed to a city, where country outlines say little.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const input = process.argv[2];
if (!input) {
  console.error("usage: node scripts/basemap.mjs .../world-atlas/countries-50m.json [out.json]");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.argv[3] ?? path.join(here, "..", "crates", "tocsin-server", "console", "basemap.json");
const topo = JSON.parse(readFileSync(input, "utf8"));
if (topo.type !== "Topology" || !topo.objects?.countries) {
  console.error(`${input}: not a TopoJSON topology with a "countries" object`);
  process.exit(1);
}

// TopoJSON arcs are quantized and delta-encoded; decode each to absolute [lon, lat] points.
const [sx, sy] = topo.transform?.scale ?? [1, 1];
const [tx, ty] = topo.transform?.translate ?? [0, 0];
const arcs = topo.arcs.map((arc) => {
  let x = 0, y = 0;
  return arc.map(([dx, dy]) => {
    x += dx; y += dy;
    return [x * sx + tx, y * sy + ty];
  });
});

// An arc index i >= 0 is used forwards, ~i (negative) backwards; consecutive arcs share an end.
function ring(indexes) {
  const pts = [];
  for (const i of indexes) {
    const a = i >= 0 ? arcs[i] : arcs[~i].slice().reverse();
    pts.push(...(pts.length ? a.slice(1) : a));
  }
  return pts;
}

const q = (v) => Math.round(v * 100); // hundredths of a degree
function ringPath(pts) {
  let d = "", px = 0, py = 0, n = 0;
  for (const [lon, lat] of pts) {
    const x = q(lon), y = q(-lat);
    if (n > 0 && x === px && y === py) continue;
    const dx = x - px, dy = y - py;
    d += n === 0 ? `M${x / 100} ${y / 100}` : `l${dx / 100} ${dy / 100}`;
    px = x; py = y; n++;
  }
  return n >= 3 ? d + "z" : "";
}

const countries = [];
for (const g of topo.objects.countries.geometries) {
  const polys = g.type === "Polygon" ? [g.arcs] : g.type === "MultiPolygon" ? g.arcs : [];
  const d = polys.flatMap((p) => p.map((r) => ringPath(ring(r)))).join("");
  if (d) countries.push({ id: g.id ?? null, name: g.properties?.name ?? "", d });
}
countries.sort((a, b) => a.name.localeCompare(b.name));
const doc = {
  source: "Natural Earth 1:50m admin-0 countries (public domain), via world-atlas 2.0.2 (ISC)",
  license: "Natural Earth data is in the public domain; world-atlas packaging is ISC-licensed. See BASEMAP-LICENSE.txt.",
  projection: "plate carree: x = longitude, y = -latitude (degrees)",
  countries,
};
writeFileSync(out, JSON.stringify(doc));
console.log(`${out}: ${countries.length} countries, ${JSON.stringify(doc).length} bytes`);

// One CSV row into fields; quoted fields may hold commas and doubled quotes.
function csvRow(line) {
  const out = [];
  let cur = "", q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"') q = true;
    else if (c === ",") { out.push(cur); cur = ""; }
    else cur += c;
  }
  out.push(cur);
  return out;
}

const gaz = path.join(here, "..", "data", "gazetteer", "cities15000.csv");
const lines = readFileSync(gaz, "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
const head = csvRow(lines.shift());
const col = (n) => {
  const i = head.indexOf(n);
  if (i < 0) throw new Error(`${gaz}: no column ${n}`);
  return i;
};
const [iName, iLat, iLon, iPop] = ["name", "lat", "lon", "population"].map(col);
const cities = [];
for (const [n, line] of lines.entries()) {
  const f = csvRow(line);
  const lat = Number(f[iLat]), lon = Number(f[iLon]), pop = Number(f[iPop]);
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) throw new Error(`${gaz}: line ${n + 2}: bad coordinates`);
  if (pop >= 100000) cities.push([f[iName], Math.round(lat * 1e4) / 1e4, Math.round(lon * 1e4) / 1e4, pop]);
}
const cityOut = path.join(path.dirname(out), "cities.json");
writeFileSync(cityOut, JSON.stringify({ source: "GeoNames cities15000 via data/gazetteer (CC BY 4.0, https://www.geonames.org/)", cities }));
console.log(`${cityOut}: ${cities.length} cities`);
