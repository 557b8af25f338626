package fault

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
)

// zeepScript parses each fault fixture with zeep (an independent SOAP stack) through its
// SOAP 1.1 binding's own fault processing and prints what it found as JSON.
const zeepScript = `
import json, sys
from zeep.loader import parse_xml
from zeep.exceptions import Fault
from zeep.wsdl.bindings.soap import Soap11Binding

class B: nsmap = Soap11Binding.nsmap
out = {}
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        doc = parse_xml(f.read(), None)
    try:
        Soap11Binding.process_error(B(), doc, None)
    except Fault as e:
        code = None
        if e.detail is not None:
            for el in e.detail.iter():
                if isinstance(el.tag, str) and el.tag.endswith('}errorCode') or el.tag == 'errorCode':
                    code = (el.text or '').strip()
                    break
        out[path.rsplit('/', 1)[-1]] = {'faultcode': e.code, 'faultstring': e.message, 'actor': e.actor, 'errorCode': code}
print(json.dumps(out))
`

// TestFaultsAgreeWithZeep checks Parse against zeep on every fault fixture: same faultcode,
// actor and faultstring, and the same errorCode from detail.
func TestFaultsAgreeWithZeep(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import zeep").Run(); err != nil {
		testenv.Missing(t, "python3-zeep not importable from "+py, "apt-get install python3-zeep")
	}
	var files []string
	all, _ := filepath.Glob(filepath.Join(fixtures, "*.xml"))
	for _, f := range all {
		if !strings.HasPrefix(filepath.Base(f), "notfault_") {
			files = append(files, f)
		}
	}
	out, err := exec.Command(py, append([]string{"-c", zeepScript}, files...)...).Output()
	if err != nil {
		t.Fatalf("zeep: %v", err)
	}
	var got map[string]struct {
		FaultCode, FaultString, Actor string
		ErrorCode                     *string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("zeep output %q: %v", out, err)
	}
	if len(got) != len(files) {
		t.Fatalf("zeep parsed %d of %d fault fixtures", len(got), len(files))
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			z := got[name]
			f, ok := Parse(readFixture(t, name), 500)
			if !ok {
				t.Fatal("Parse found no fault where zeep did")
			}
			if f.FaultCode != z.FaultCode || f.Actor != z.Actor {
				t.Errorf("faultcode/actor %q/%q, zeep %q/%q", f.FaultCode, f.Actor, z.FaultCode, z.Actor)
			}
			rebuilt := f.Text
			if strings.HasPrefix(z.FaultString, f.Code) && f.Code != "" {
				rebuilt = f.Code + " - " + f.Text
			}
			if rebuilt != strings.TrimSpace(z.FaultString) {
				t.Errorf("faultstring %q, zeep %q", rebuilt, z.FaultString)
			}
			if z.ErrorCode != nil && normaliseCode(*z.ErrorCode) != f.Code {
				t.Errorf("code %q, zeep's detail errorCode %q", f.Code, *z.ErrorCode)
			}
			if z.ErrorCode == nil && len(f.Detail) > 0 && strings.Contains(string(f.Detail), "errorCode") {
				t.Errorf("zeep found no errorCode but Go's detail has one")
			}
		})
	}
}
