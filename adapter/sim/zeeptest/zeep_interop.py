"""Calls every operation of the three FSE services on a running simulator with zeep.

zeep is an independent SOAP stack: it reads only the WSDLs the simulator serves (?wsdl), builds
the requests from them and deserializes the answers against them. The simulator must run in
relaxed mode over plain HTTP (zeep sends no WS-Security here).

usage: zeep_interop.py BASE_URL PDF_FILE PDF3_FILE PATIENT_WITH_DOCS PATIENT_WITH_TACCUINO OPERATOR_CF

PDF_FILE's CDA has the id extension zeep.1, PDF3_FILE's zeep.3: as observed for addDocument,
the request carries the file, a title and the status only; the service reads the rest from
the CDA. IDocumentService has no requester block (who calls is in the SAML assertion).

Prints one line per call: "OK <operation>" when zeep deserialized a normal answer,
"FAULT <operation> <code>" for an expected fault (a zeep Fault carrying the FSE code),
"OPS <service> <op,op,...>" with the operations the WSDL declares. Exits 1 on anything else.
"""
import datetime
import sys

import zeep
from zeep.exceptions import Fault

BASE, PDF_FILE, PDF3_FILE, PAT_DOCS, PAT_TACC, OPERATOR = sys.argv[1:7]
TENANT = "aslba"
CF_SUFFIX = "^^^&2.16.840.1.113883.2.9.4.3.2&ISO"
UID_ROOT = "2.16.840.1.113883.2.9.2.160.4.4^zeep."
REQUESTER = dict(codiceFiscale=OPERATOR, ruolo="AAS", struttura="160101",
                 organizzazione="160", contestoOperativo="TREATMENT", presaInCarico=True,
                 attivita="CONSULTAZIONE")
failures = []


def service(name):
    url = "%s/%s/%s" % (BASE, TENANT, name)
    client = zeep.Client(url + "?wsdl")
    binding = list(client.wsdl.bindings.values())[0]
    print("OPS %s %s" % (name, ",".join(sorted(binding._operations))))
    # Override the address explicitly, whatever the WSDL says.
    return client, client.create_service(binding.name, url)


def call(svc, op, expect_fault=None, requester=True, **kw):
    if requester:
        kw["richiedente"] = REQUESTER
    try:
        result = getattr(svc, op)(**kw)
    except Fault as f:
        # The code is detail/errorCode (an FSE-00000 passing the middleware's refusal
        # has free text in faultstring, #2717), else the faultstring's prefix.
        code = ""
        if f.detail is not None:
            for el in f.detail.iter():
                if isinstance(el.tag, str) and el.tag.endswith("}errorCode"):
                    code = (el.text or "").strip()
        if not code and f.message:
            code = f.message.split(" ")[0]
        if expect_fault and code == expect_fault:
            print("FAULT %s %s" % (op, code))
            return None
        failures.append("%s: unexpected fault %r" % (op, f.message))
        print("ERROR %s fault %s" % (op, f.message))
        return None
    except Exception as e:  # deserialization or transport problem
        failures.append("%s: %s: %s" % (op, type(e).__name__, e))
        print("ERROR %s %s: %s" % (op, type(e).__name__, e))
        return None
    if expect_fault:
        failures.append("%s: expected fault %s, got an answer" % (op, expect_fault))
        print("ERROR %s no fault" % op)
        return None
    print("OK %s" % op)
    return result


def document(content):
    return dict(document=content, documentName="Referto", status="Approved")


pdf = open(PDF_FILE, "rb").read()
pdf3 = open(PDF3_FILE, "rb").read()

# Consents first: consultation needs C2 (and C3 for older documents).
_, cons = service("IGestoreConsensoService")
r = call(cons, "recuperoInformativa", idInformativa="160^1.0")
if r is not None and not bytes(r.pdf).startswith(b"%PDF-"):
    failures.append("recuperoInformativa: not a PDF")
call(cons, "comunicazioneConsensi", paziente=dict(codiceFiscale=PAT_DOCS), idInformativa="160^1.0",
     consenso=[dict(codice="C2", valore=True), dict(codice="C3", valore=True)])
r = call(cons, "statoConsensi", paziente=dict(codiceFiscale=PAT_DOCS))
if r is not None and sorted((c.codice, c.valore) for c in r.consenso) != [("C2", True), ("C3", True)]:
    failures.append("statoConsensi: %r" % r.consenso)
call(cons, "comunicazioneConsensi", expect_fault="FSE-00400", paziente=dict(codiceFiscale=PAT_DOCS),
     idInformativa="160^1.0", consenso=[dict(codice="C9", valore=True)])

_, docs = service("IDocumentService")
r = call(docs, "addDocument", requester=False, document=document(pdf))
if r is not None and r.uniqueId != UID_ROOT + "1":
    failures.append("addDocument: result %r" % r)
call(docs, "addDocument", expect_fault="FSE-00409", requester=False, document=document(pdf))
call(docs, "addDocument", expect_fault="FSE-00000", requester=False, document=document(b"not a pdf"))
r = call(docs, "searchDocuments", requester=False, patientId=PAT_DOCS, offset=0, limit=10,
         dateFrom=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc))
if r is not None and (r.total != 1 or r.metadata[0].uniqueId != UID_ROOT + "1"):
    failures.append("searchDocuments: %r" % r)
r = call(docs, "retrieveDocument", requester=False, uniqueId=UID_ROOT + "1")
if r is not None and bytes(r.document.document) != pdf:
    failures.append("retrieveDocument: content differs")
call(docs, "retrieveDocument", expect_fault="FSE-00404", requester=False, uniqueId=UID_ROOT + "unknown")
call(docs, "replaceDocument", requester=False, replacedUniqueId=UID_ROOT + "1", document=document(pdf3))
call(docs, "deleteDocument", requester=False, uniqueId=UID_ROOT + "3", patientId=PAT_DOCS)
call(docs, "deleteDocument", expect_fault="FSE-00404", requester=False, uniqueId=UID_ROOT + "3", patientId=PAT_DOCS)

_, tacc = service("ITaccuinoService")
filtro = dict(codiceFiscalePaziente=PAT_TACC, offset=0, limit=5)
r = call(tacc, "getTaccuino", filtro=filtro)
if r is not None and r.total != sum(c.numero for c in r.conteggio):
    failures.append("getTaccuino: total differs from the counts")
for op in ("getRilevazioni", "getFarmaci", "getEventi", "getSintomi", "getDocumentiPersonali"):
    r = call(tacc, op, filtro=filtro)
r = call(tacc, "getRilevazioni", filtro=dict(codiceFiscalePaziente=PAT_TACC, offset=0, limit=3,
                                             dataDa=datetime.date(2025, 1, 6), dataA=datetime.date(2025, 1, 8)))
if r is not None and (r.total != 7 or len(r.rilevazione) != 3):
    failures.append("getRilevazioni with range: total %s, %d items" % (r.total, len(r.rilevazione)))

for f in failures:
    print("FAIL " + f)
sys.exit(1 if failures else 0)
