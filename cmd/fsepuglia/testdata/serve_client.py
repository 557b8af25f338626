#!/usr/bin/python3
"""An independent client of `fsepuglia serve`: Python's standard library only (urllib), plus
Debian's python3-prometheus-client to parse /metrics. Run by TestServeAPIFromPython:

    serve_client.py BASE_URL TOKEN PATIENT_CF DOCUMENT.pdf OTHER.pdf

OTHER.pdf has the same uniqueId as DOCUMENT.pdf and other bytes: the region refuses it for good.

It exercises every /v1 endpoint and prints one line per check, then 'N passed, N failed'."""
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from prometheus_client.parser import text_string_to_metric_families

base, token, patient, doc_path, other_path = sys.argv[1:6]
doc = open(doc_path, "rb").read()
other = open(other_path, "rb").read()
passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + name)
    else:
        failed += 1
        print("FAIL " + name + ": " + str(detail))


def call(method, path, body=None, ctype=None, auth=True, accept="application/json"):
    req = urllib.request.Request(base + path, data=body, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    if auth and token:
        req.add_header("Authorization", "Bearer " + token)
    req.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def jcall(method, path, obj=None, **kw):
    body = None if obj is None else json.dumps(obj).encode()
    code, headers, raw = call(method, path, body, "application/json" if body else None, **kw)
    try:
        return code, headers, json.loads(raw) if raw else None
    except ValueError:
        return code, headers, raw


def multipart(parts):
    boundary = uuid.uuid4().hex
    out = b""
    for name, filename, data in parts:
        disp = 'form-data; name="%s"' % name + ('; filename="%s"' % filename if filename else "")
        out += b"--" + boundary.encode() + b"\r\nContent-Disposition: " + disp.encode() + b"\r\n\r\n" + data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return out, "multipart/form-data; boundary=" + boundary


def submit(parts):
    body, ctype = multipart(parts)
    code, headers, raw = call("POST", "/v1/documents", body, ctype)
    return code, headers, json.loads(raw)


q = urllib.parse.quote

code, _, spec = jcall("GET", "/openapi.json", auth=False)
check("openapi.json is OpenAPI 3 with /v1/documents", code == 200 and spec["openapi"].startswith("3.") and "/v1/documents" in spec["paths"], code)
check("healthz", jcall("GET", "/healthz", auth=False)[0] == 200)
code, _, ready = jcall("GET", "/readyz", auth=False)
check("readyz", code == 200 and ready["status"] == "ready", ready)
if token:
    check("no token: 401", jcall("GET", "/v1/documents", auth=False)[0] == 401)
    check("metrics need the token too", call("GET", "/metrics", auth=False)[0] == 401)

code, _, st = jcall("POST", "/v1/consents", {"patient": patient, "consents": {"C2": True, "C3": True}})
check("consent set", code == 200 and any(c["code"] == "C2" and c["value"] for c in st["consents"]), st)
code, _, st = jcall("GET", "/v1/consents?patient=" + q(patient))
check("consent status", code == 200 and any(c["code"] == "C2" and c["value"] for c in st["consents"]), st)
code, _, err = jcall("POST", "/v1/consents", {"patient": patient, "consents": {"C9": True}})
check("consent: unknown code is 400 naming the field", code == 400 and err["error"]["field"] == "consents", err)

code, headers, it = submit([("file", "api.pdf", doc)])
check("submit: 202 queued", code == 202 and it["state"] in ("queued", "sending", "done") and it["source"] == "api", (code, it))
item_id = it["id"]
check("submit: Location", headers.get("Location", "").startswith("/v1/documents/"), headers)
code, _, again = submit([("file", "again.pdf", doc)])
check("submit again: 200, same item", code == 200 and again["id"] == item_id, (code, again))

deadline = time.time() + 60
while time.time() < deadline:
    code, _, it = jcall("GET", "/v1/documents/" + q(item_id, safe=""))
    if it["state"] in ("done", "failed"):
        break
    time.sleep(0.1)
check("published: done, sent, legacy route",
      it["state"] == "done" and it["outcome"] == "sent" and it["route"] == "legacy" and it["attempts"] >= 1, it)

code, _, lst = jcall("GET", "/v1/documents?state=done&limit=10")
check("list by state", code == 200 and any(i["id"] == item_id for i in lst["items"]) and lst["counts"]["done"] >= 1, lst)
code, _, err = jcall("GET", "/v1/documents?state=lost")
check("list: unknown state is 400", code == 400 and err["error"]["field"] == "state", err)

code, _, res = jcall("GET", "/v1/search?patient=" + q(patient))
check("search finds it", code == 200 and any(d.get("unique_id") == it["unique_id"] for d in res["documents"]), res)
code, headers, raw = call("GET", "/v1/retrieve?patient=%s&unique_id=%s" % (q(patient), q(it["unique_id"])), accept="application/pdf")
check("retrieve: the same bytes", code == 200 and raw == doc and headers.get("Content-Type") == "application/pdf", (code, len(raw)))
code, _, err = jcall("GET", "/v1/retrieve?patient=%s&unique_id=NOPE.1" % q(patient))
check("retrieve unknown: 404", code == 404 and err["error"]["code"] == "not_found", (code, err))
code, _, tac = jcall("GET", "/v1/taccuino?patient=" + q(patient))
check("taccuino summary", code == 200 and isinstance(tac["counts"], dict), tac)
code, _, page = jcall("GET", "/v1/taccuino?patient=%s&kind=rilevazioni&limit=5" % q(patient))
check("taccuino items", code == 200 and isinstance(page["items"], list), page)
code, _, err = jcall("GET", "/v1/search?patient=NOTACF")
check("search: bad CF is 400 naming patient", code == 400 and err["error"]["field"] == "patient", err)

body, ctype = multipart([("file", "v.pdf", doc)])
code, _, raw = call("POST", "/v1/validate", body, ctype)
v = json.loads(raw)
check("validate: valid, metadata read from the CDA", code == 200 and v["valid"] and v["metadata"]["unique_id"] == it["unique_id"], v.get("error"))

code, _, err = submit([("file", "junk.pdf", b"not a document at all")])
check("submit junk: 400 input", code == 400 and err["error"]["code"] == "input", err)
code, _, err = submit([("file", "x.pdf", doc), ("metadata", None, b'{"no_such_key": 1}')])
check("submit bad metadata: 400 naming the metadata part", code == 400 and err["error"]["field"] == "metadata part", err)
code, _, err = submit([("metadata", None, b"{}")])
check("submit without file: 400 naming file", code == 400 and err["error"]["field"] == "file", err)

# A permanent fault: another document under a published uniqueId (FSE-00409 with another
# hash); not retried, then retried on request: reconciled first, so not sent again.
code, _, bad = submit([("file", "other.pdf", other)])
check("submit another document under the same unique id: 202, a new item", code == 202 and bad["id"] != item_id, bad)
deadline = time.time() + 30
while time.time() < deadline:
    code, _, bad = jcall("GET", "/v1/documents/" + q(bad["id"], safe=""))
    if bad["state"] in ("done", "failed"):
        break
    time.sleep(0.1)
check("permanent fault: failed, not retryable, class duplicate", bad["state"] == "failed" and not bad.get("retryable") and bad.get("fault_class") == "duplicate" and "different document" in bad.get("reason", ""), bad)
time.sleep(0.5)
code, _, bad2 = jcall("GET", "/v1/documents/" + q(bad["id"], safe=""))
check("permanent fault: not taken again by itself", bad2["attempts"] == bad["attempts"] and bad2["state"] == "failed", bad2)
code, _, r = jcall("POST", "/v1/documents/%s/retry" % q(bad["id"], safe=""))
check("retry: queued again", code == 200 and r["state"] in ("queued", "sending", "failed"), r)
deadline = time.time() + 30
while time.time() < deadline:
    code, _, bad3 = jcall("GET", "/v1/documents/" + q(bad["id"], safe=""))
    if bad3["attempts"] > bad["attempts"] and bad3["state"] == "failed":
        break
    time.sleep(0.1)
check("retry: reconciled at the region (not sent again), failed again", bad3["attempts"] == bad["attempts"] + 1 and bad3["state"] == "failed" and "holds a different document" in bad3.get("reason", ""), bad3)
code, _, _ = jcall("DELETE", "/v1/documents/" + q(bad["id"], safe=""))
check("forget: 204", code == 204, code)
code, _, err = jcall("GET", "/v1/documents/" + q(bad["id"], safe=""))
check("forgotten: 404", code == 404 and err["error"]["code"] == "not_found", err)
code, _, err = jcall("GET", "/v1/nothing")
check("unknown endpoint: 404 JSON", code == 404 and err["error"]["code"] == "not_found", err)

code, _, raw = call("GET", "/metrics", accept="text/plain")
fams = {f.name: f for f in text_string_to_metric_families(raw.decode())}
def samples(name):
    f = fams.get(name)
    return [] if f is None else f.samples
sends_ok = sum(s.value for s in samples("fsepuglia_sends") if s.name.endswith("_total") and s.labels.get("outcome") == "ok")
check("metrics parse; fsepuglia_sends_total{outcome=ok} >= 1", code == 200 and sends_ok >= 1, sorted(fams))
sends_err = [s for s in samples("fsepuglia_sends") if s.labels.get("outcome") == "error"]
check("metrics: failed sends by fault class", any(s.labels.get("fault_class") for s in sends_err), sends_err)
depth = {s.labels["state"]: s.value for s in samples("fsepuglia_queue_items")}
check("metrics: queue depth by state", set(depth) == {"queued", "sending", "in-doubt", "done", "failed"} and depth["done"] >= 1, depth)
check("metrics: call latency histogram", any(s.name == "fsepuglia_call_duration_seconds_count" and s.labels.get("call") == "publish" and s.value >= 1
                                             for s in samples("fsepuglia_call_duration_seconds")), samples("fsepuglia_call_duration_seconds")[:3])
check("metrics: certificate expiry in days", any(s.value > 0 for s in samples("fsepuglia_certificate_expiry_days")), samples("fsepuglia_certificate_expiry_days"))
check("metrics: no fiscal code", patient not in raw.decode())

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
