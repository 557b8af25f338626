package wiretest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// zeepScript reads every golden envelope with zeep (python3-zeep: an
// independent SOAP stack driven only by our WSDLs), re-serialises what it
// read, and reports whether the element infoset (names, namespaces, text) is
// the same as ours. It also reports the soapAction zeep found in the WSDL.
const zeepScript = `
import sys, json, os
from lxml import etree
import zeep
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
wsdl_dir, env_dir = sys.argv[1], sys.argv[2]
def infoset(el):
    return [(e.tag, (e.text or "").strip()) for e in el.iter() if isinstance(e.tag, str)]
def payload(env):
    body = env.find("{%s}Body" % SOAP)
    return [c for c in body if isinstance(c.tag, str)][0]
out = []
for svc in ["IDocumentService", "IGestoreConsensoService", "ITaccuinoService"]:
    c = zeep.Client(os.path.join(wsdl_dir, svc + ".wsdl"))
    binding = list(c.wsdl.bindings.values())[0]
    for name, op in sorted(binding._operations.items()):
        r = {"op": name, "soapAction": op.soapaction}
        for kind, msg in (("request", op.input), ("response", op.output)):
            path = os.path.join(env_dir, "%s.%s.xml" % (name, kind))
            if not os.path.exists(path):
                r[kind] = "missing golden"; continue
            env = etree.parse(path).getroot()
            try:
                values = msg.deserialize(env)
            except Exception as e:
                r[kind] = "zeep cannot read it: %s" % e; continue
            # Re-serialise with zeep from what it read and compare the infosets.
            if kind == "request":
                elems = msg.body.type.elements
                if len(elems) == 1:
                    # zeep unwraps a request with a single child element too.
                    values = {elems[0][0]: values}
                again = msg.serialize(**{k: values[k] for k in values}).content
            else:
                elems = msg.body.type.elements
                if len(elems) == 1:
                    # zeep unwraps a response with a single child element.
                    values = {elems[0][0]: values}
                body = msg.body.type(**{k: values[k] for k in values})
                node = etree.Element("x")
                msg.body.render(node, body)
                again = etree.Element("{%s}Envelope" % SOAP); b = etree.SubElement(again, "{%s}Body" % SOAP); b.append(node[0])
            a, z = infoset(payload(env)), infoset(payload(again))
            r[kind] = "same" if a == z else "differs: ours %s zeep %s" % ([x for x in a if x not in z][:3], [x for x in z if x not in a][:3])
        out.append(r)
print(json.dumps(out, indent=1))
`

// TestZeepReadsGoldens cross-checks the golden envelopes with zeep. It needs
// /usr/bin/python3 with zeep importable (python3-zeep), and skips otherwise.
func TestZeepReadsGoldens(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import zeep, lxml").Run(); err != nil {
		missingChecker(t, "python3-zeep not importable from "+py, "apt-get install python3-zeep")
	}
	script := filepath.Join(t.TempDir(), "zeepcheck.py")
	if err := os.WriteFile(script, []byte(zeepScript), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, script, wsdlDir, envelopeDir).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("zeep check failed: %v\n%s", err, stderr)
	}
	var results []struct {
		Op         string `json:"op"`
		SOAPAction string `json:"soapAction"`
		Request    string `json:"request"`
		Response   string `json:"response"`
	}
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("zeep output: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, r := range results {
		seen[r.Op] = true
		t.Run(r.Op, func(t *testing.T) {
			if r.SOAPAction != fseNS+r.Op {
				t.Errorf("zeep reads soapAction %q", r.SOAPAction)
			}
			if r.Request != "same" {
				t.Errorf("request: %s", r.Request)
			}
			if r.Response != "same" {
				t.Errorf("response: %s", r.Response)
			}
		})
	}
	for _, tc := range cases() {
		if !seen[tc.op] {
			t.Errorf("zeep does not see operation %s in the WSDLs", tc.op)
		}
	}
}
