"""python3-zeep leg of the fsepuglia bench harness (main.go beside this file, `make bench`).

usage: zeep_bench.py BASE_URL OPERATION N PATIENT DOC_DIR

Calls OPERATION (searchDocuments, statoConsensi or addDocument) N times on a simulator in
relaxed plain-HTTP mode, on one kept-alive requests session, with the client built once from
the WSDL the simulator serves. addDocument sends the N files of DOC_DIR in order (each has its
own CDA id). Only the loop is timed. Prints "RESULT <calls per second> <CPU ms per call>".
"""
import os
import sys
import time

import zeep

BASE, OP, N, PATIENT, DOC_DIR = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
TENANT = "aslba"
REQUESTER = dict(codiceFiscale="PROVAX00X00X000Y", ruolo="AAS", struttura="160101",
                 organizzazione="160", contestoOperativo="TREATMENT", presaInCarico=True,
                 attivita="CONSULTAZIONE")


def service(name):
    url = "%s/%s/%s" % (BASE, TENANT, name)
    client = zeep.Client(url + "?wsdl")
    binding = list(client.wsdl.bindings.values())[0]
    return client.create_service(binding.name, url)


if OP == "statoConsensi":
    svc = service("IGestoreConsensoService")

    def call(i):
        r = svc.statoConsensi(paziente=dict(codiceFiscale=PATIENT), richiedente=REQUESTER)
        assert r.consenso, "statoConsensi: no consents"
elif OP == "searchDocuments":
    svc = service("IDocumentService")

    def call(i):
        r = svc.searchDocuments(patientId=PATIENT, offset=0, limit=100)
        assert r.total > 0 and len(r.metadata) > 0, "searchDocuments: empty"
elif OP == "addDocument":
    svc = service("IDocumentService")
    files = sorted(os.listdir(DOC_DIR))[:N]
    bodies = [open(os.path.join(DOC_DIR, f), "rb").read() for f in files]
    assert len(bodies) == N, "need %d documents in %s" % (N, DOC_DIR)

    def call(i):
        r = svc.addDocument(document=dict(document=bodies[i], documentName="Referto", status="Approved"))
        assert r.uniqueId, "addDocument: no uniqueId"
else:
    sys.exit("unknown operation " + OP)

call(-1) if OP != "addDocument" else None  # warm the connection (not timed)
c0, t0 = time.process_time(), time.perf_counter()
for i in range(N):
    call(i)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print("RESULT %.3f %.4f" % (N / wall, cpu * 1000 / N))
