package main

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// e2eMain exercises the repaired packages at run time: it marshals requests,
// sends them through gowsdl's soap.Client to a local server, and prints what
// went on the wire, one "KEY<TAB>value" per line.
const e2eMain = `package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/hooklift/gowsdl/soap"

	"MODULE/mx"
	"MODULE/q"
	"MODULE/u"
)

func out(k string, v []byte, err error) {
	if err != nil {
		fmt.Printf("%s\tERROR %v\n", k, err)
		return
	}
	fmt.Printf("%s\t%s\n", k, strings.ReplaceAll(string(v), "\n", " "))
}

func main() {
	var body []byte
	var action string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		action = r.Header.Get("SOAPAction")
		w.Header().Set("Content-Type", "text/xml")
		if r.Header.Get("SOAPAction") == "\"urn:m/mop\"" {
			io.WriteString(w, "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><x:mopResponse xmlns:x=\"urn:m\"><esito>OK</esito><extra>1</extra><extra>2</extra></x:mopResponse></s:Body></s:Envelope>")
			return
		}
		if strings.Contains(string(body), "urn:u") {
			io.WriteString(w, "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><x:uopResponse xmlns:x=\"urn:u\"><r>fine</r></x:uopResponse></s:Body></s:Envelope>")
			return
		}
		io.WriteString(w, "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><opResponse xmlns=\"urn:q\"><ok>true</ok></opResponse></s:Body></s:Envelope>")
	}))
	defer srv.Close()
	c := soap.NewClient(srv.URL, soap.WithHTTPClient(srv.Client()))

	op := &q.Op{Blob: q.Base64Binary("\x00\x01binary\xff"), Flag: false, Count: 0, Five: []string{"a", "b"}, Code: "C2", Item: &q.Item{Label: "l"}}
	b, err := xml.Marshal(op)
	out("Q", b, err)
	var back q.Op
	err = xml.Unmarshal(b, &back)
	out("QBLOB", []byte(fmt.Sprintf("%x", []byte(back.Blob))), err)

	_, err = q.NewP(c).GetThing(&q.Item{Label: "t"})
	out("THING", body, err)
	out("THINGACTION", []byte(action), nil)
	_, err = q.NewP(c).Op(op)
	out("OPACTION", []byte(action), err)

	b, err = xml.Marshal(&u.Uop{A: "1", B: &u.Inner{C: "2"}})
	out("U", b, err)
	resp, err := u.NewU(c).Uop(&u.Uop{A: "1", B: &u.Inner{C: "2"}})
	out("UENV", body, err)
	if err == nil {
		out("URESP", []byte(resp.R), nil)
	}
	var ub u.Uop
	err = xml.Unmarshal([]byte("<x:uop xmlns:x=\"urn:u\"><a>1</a><b><c>2</c></b></x:uop>"), &ub)
	if err == nil && ub.B != nil {
		out("UBACK", []byte(ub.A+"/"+ub.B.C), nil)
	} else {
		out("UBACK", nil, fmt.Errorf("decode: %v", err))
	}

	mreq := &mx.ReqType{Paziente: &mx.Paziente{CodiceFiscale: "X"}, FlagQ: false, Unq: "u"}
	mresp, err := mx.NewM(c).Mop(mreq)
	out("MENV", body, err)
	if err == nil {
		b, err = xml.Marshal(mresp)
		out("MRESP", b, err)
		out("MRESPVAL", []byte(fmt.Sprint(mresp.BaseResp.Esito, mresp.Extra)), nil)
	}
	os.Stdout.Sync()
}
`

// TestEndToEnd generates two packages with the real pipeline (gowsdl, then the
// fixer), compiles a program against them and checks, at run time, what goes
// on the wire: namespaces (qualified and unqualified), base64, required zero
// values, maxOccurs>1, the XMLName conflict and the quoted soapAction.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a program: skipped in -short mode")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	// The program must live inside the module to import gowsdl's soap package;
	// directories starting with "_" are ignored by ./... patterns.
	dir, err := os.MkdirTemp(".", "_e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, p := range []struct{ pkg, wsdl string }{{"q", qualifiedWSDL}, {"u", unqualifiedWSDL}, {"mx", mixedWSDL}} {
		_, fixed := repairedPackage(t, p.wsdl, p.pkg)
		if err := os.MkdirAll(filepath.Join(dir, p.pkg), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p.pkg, p.pkg+".go"), fixed, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p.pkg, "base64.go"), base64Source(p.pkg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	module := "github.com/fsepuglia/fsepuglia/cmd/gowsdlfix/" + filepath.Base(dir)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(strings.ReplaceAll(e2eMain, "MODULE", module)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "run", "./"+filepath.Base(dir))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, stderr.String())
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		k, v, _ := strings.Cut(line, "\t")
		got[k] = v
		if strings.HasPrefix(v, "ERROR") {
			t.Errorf("%s: %s", k, v)
		}
	}

	t.Run("qualified payload", func(t *testing.T) {
		names := elementNames(t, got["Q"])
		want := []string{"urn:q op", "urn:q blob", "urn:q flag", "urn:q count", "urn:q five", "urn:q five", "urn:q code", "urn:q item", "urn:q label"}
		if strings.Join(names, ",") != strings.Join(want, ",") {
			t.Errorf("elements %v\nwant %v", names, want)
		}
		b64 := base64.StdEncoding.EncodeToString([]byte("\x00\x01binary\xff"))
		for _, frag := range []string{">" + b64 + "</blob>", ">false</flag>", ">0</count>"} {
			if !strings.Contains(got["Q"], frag) {
				t.Errorf("payload lacks %s: %s", frag, got["Q"])
			}
		}
		if got["QBLOB"] != fmt.Sprintf("%x", "\x00\x01binary\xff") {
			t.Errorf("base64 round trip gave %s", got["QBLOB"])
		}
	})
	t.Run("XMLName conflict", func(t *testing.T) {
		names := elementNames(t, got["THING"])
		if len(names) < 3 || names[2] != "urn:q thing" {
			t.Errorf("getThing sent %v, want urn:q thing in the Body", names)
		}
	})
	t.Run("soapAction quoted", func(t *testing.T) {
		if got["THINGACTION"] != `""` || got["OPACTION"] != `"urn:q/op"` {
			t.Errorf("SOAPAction %q and %q, want \"\" and \"urn:q/op\"", got["THINGACTION"], got["OPACTION"])
		}
	})
	t.Run("unqualified payload", func(t *testing.T) {
		for _, k := range []string{"U", "UENV"} {
			names := elementNames(t, got[k])
			if k == "UENV" && len(names) > 2 {
				names = names[2:]
			}
			want := []string{"urn:u uop", " a", " b", " c"}
			if strings.Join(names, ",") != strings.Join(want, ",") {
				t.Errorf("%s elements %q, want %q (%s)", k, names, want, got[k])
			}
		}
		if got["URESP"] != "fine" || got["UBACK"] != "1/2" {
			t.Errorf("unqualified decoding: response %q, request %q", got["URESP"], got["UBACK"])
		}
	})
	t.Run("mixed qualified/unqualified, ref, extension", func(t *testing.T) {
		names := elementNames(t, got["MENV"])
		if len(names) > 2 {
			names = names[2:]
		}
		want := []string{"urn:m mop", "urn:d paziente", "urn:d codiceFiscale", "urn:m flagQ", " unq"}
		if strings.Join(names, ",") != strings.Join(want, ",") {
			t.Errorf("request elements %q\nwant %q\n%s", names, want, got["MENV"])
		}
		if !strings.Contains(got["MENV"], ">false</") {
			t.Errorf("required flagQ=false missing: %s", got["MENV"])
		}
		if got["MRESPVAL"] != "OK[1 2]" {
			t.Errorf("response decoded as %q, want \"OK[1 2]\"", got["MRESPVAL"])
		}
		names = elementNames(t, got["MRESP"])
		want = []string{"urn:m mopResponse", " esito", " extra", " extra"}
		if strings.Join(names, ",") != strings.Join(want, ",") {
			t.Errorf("re-marshalled response elements %q\nwant %q\n%s", names, want, got["MRESP"])
		}
	})
}

// elementNames lists "namespace local" of every element of doc, in order.
func elementNames(t *testing.T, doc string) []string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	var names []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("%v in %s", err, doc)
		}
		if se, ok := tok.(xml.StartElement); ok {
			names = append(names, se.Name.Space+" "+se.Name.Local)
		}
	}
}
