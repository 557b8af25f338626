package trace

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sample = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header>` +
	`<wsse:BinarySecurityToken>MIIBszCCAVmgAwIBAgI=</wsse:BinarySecurityToken>` +
	`<saml:AttributeValue>FSEPGL01E41A145J</saml:AttributeValue></soap:Header><soap:Body>` +
	`<fse:addDocument xmlns:fse="urn:x"><fse:patientId>FSEPGL01E41A145J^^^&amp;2.16.840.1.113883.2.9.4.3.2&amp;ISO</fse:patientId>` +
	`<fse:authorPerson>Mario Rossi</fse:authorPerson><fse:typeCode>11502-2</fse:typeCode>` +
	`<fse:document>JVBERi0xLjcKJeLjz9MK</fse:document><fse:other>STP1234567890123</fse:other>` +
	`<fse:cf>FSELBR01C41A145S</fse:cf><fse:omo>FSEPGLLME41A145J</fse:omo><fse:op>PROVAX00X00X000Y</fse:op></fse:addDocument></soap:Body></soap:Envelope>`

func TestRedact(t *testing.T) {
	got := string(Redact([]byte(sample)))
	for _, secret := range []string{"FSEPGL01E41A145J", "FSELBR01C41A145S", "Mario", "Rossi", "JVBERi0", "MIIBszCC", "STP1234567890123", "FSEPGLLME41A145J", "PROVAX00X00X000Y"} {
		if strings.Contains(got, secret) {
			t.Errorf("redacted trace still contains %q:\n%s", secret, got)
		}
	}
	for _, kept := range []string{"11502-2", "2.16.840.1.113883.2.9.4.3.2", "<fse:document>[redacted 20 bytes]</fse:document>", "<soap:Body>"} {
		if !strings.Contains(got, kept) {
			t.Errorf("redacted trace lost %q:\n%s", kept, got)
		}
	}
}

func TestDirWrite(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, raw := range []bool{false, true} {
		d := &Dir{Path: filepath.Join(t.TempDir(), "traces"), Raw: raw}
		p, err := d.Write(at, "addDocument", "uuid:1234-abcd", "request", []byte(sample))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(filepath.Base(p), "addDocument-1234-abcd-request.xml") {
			t.Errorf("file name %s", p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(b, []byte("FSEPGL01E41A145J")); got != raw {
			t.Errorf("raw=%v: CF present=%v", raw, got)
		}
		fi, _ := os.Stat(p)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", fi.Mode().Perm())
		}
	}
	var off Dir
	if p, err := off.Write(at, "x", "y", "request", []byte(sample)); p != "" || err != nil {
		t.Errorf("zero Dir wrote %q %v", p, err)
	}
}
