"""Drive Tocsin's TAXII 2.1 server with the OASIS client (taxii2-client), as a partner would.

Usage: taxii_client.py BASE_URL TOKEN COLLECTION_ALIAS_TITLE_PREFIX PAGE_SIZE
Prints one JSON object with what it saw; the Rust test (tocsin/tests/e2e/standards.rs) judges it.
Any exception fails the run (non-zero exit).
"""
import json
import sys
import uuid

from taxii2client.v21 import Server, as_pages

base, token, title_prefix, page_size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

# HTTP Basic: any user name, the API token as password.
server = Server(base + "/taxii2/", user="partner", password=token)
out = {"title": server.title, "api_roots": [r.url for r in server.api_roots]}
root = server.api_roots[0]
out["versions"] = root.versions
out["collections"] = [{"id": c.id, "title": c.title, "can_write": c.can_write} for c in root.collections]
coll = next(c for c in root.collections if c.title.startswith(title_prefix))

pages = []
objects = []
for envelope in as_pages(coll.get_objects, per_request=page_size):
    got = envelope.get("objects", [])
    pages.append(len(got))
    objects.extend(got)
out["pages"] = pages
out["object_ids"] = [o["id"] for o in objects]
out["report_names"] = [o["name"] for o in objects if o["type"] == "report"]
manifest = []
for envelope in as_pages(coll.get_manifest, per_request=page_size):
    manifest.extend(envelope.get("objects", []))
out["manifest_count"] = len(manifest)
out["reports_only"] = [o["id"] for o in coll.get_objects(type="report").get("objects", [])]

indicator = {
    "type": "indicator",
    "spec_version": "2.1",
    "id": "indicator--" + str(uuid.uuid4()),
    "created": "2024-03-07T10:00:00.000Z",
    "modified": "2024-03-07T10:00:00.000Z",
    "name": "Reconnaissance of the venue's ticketing site",
    "pattern": "[domain-name:value = 'tickets.example']",
    "pattern_type": "stix",
    "valid_from": "2024-03-07T10:00:00Z",
}
status = coll.add_objects({"objects": [indicator, {"type": "indicator", "id": "not-an-id"}]})
out["status"] = {"status": status.status, "total": status.total_count, "success": status.success_count, "failure": status.failure_count}
again = root.get_status(status.id)
out["status_again"] = again.status
out["added_readable"] = coll.get_object(indicator["id"])["objects"][0]["id"] == indicator["id"]
print(json.dumps(out))
