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
	for _, kept := range []string{"11502-2", "<fse:document>[redacted 20 bytes]</fse:document>", "<soap:Body>"} {
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

// TestRedactAllowList: the defects found by the review. Codes in every case and position
// inside kept elements and attributes, and the free-text elements the old deny-list kept.
func TestRedactAllowList(t *testing.T) {
	env := `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">` +
		`<soap:Header><wsa:MessageID>uuid:0b7c4d6e-1f2a-4b3c-9d8e-7f6a5b4c3d2e</wsa:MessageID>` +
		`<saml:Assertion ID="_a" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Issuer>fsepuglia</saml:Issuer>` +
		`<saml:Subject><saml:NameID>PROVAX00X00X000Y</saml:NameID></saml:Subject><saml:AttributeStatement>` +
		`<saml:Attribute Name="urn:oasis:names:tc:xacml:2.0:subject:role"><saml:AttributeValue>AAS</saml:AttributeValue></saml:Attribute>` +
		`<saml:Attribute Name="urn:oasis:names:tc:xacml:1.0:resource:resource-id"><saml:AttributeValue>FSEPGL01E41A145J^^^&amp;2.16.840.1.113883.2.9.4.3.2&amp;ISO</saml:AttributeValue></saml:Attribute>` +
		`<saml:Attribute Name="urn:oasis:names:tc:xacml:1.0:subject:subject-id"><saml:AttributeValue>Mario Rossi</saml:AttributeValue></saml:Attribute>` +
		`</saml:AttributeStatement></saml:Assertion></soap:Header><soap:Body>` +
		`<fse:searchDocumentsResponse xmlns:fse="urn:x" ref="X_fsepgl01e41a145j_3"><fse:uniqueId>ID.FSEPGL01E41A145J0001</fse:uniqueId>` +
		`<fse:uniqueId>2.16.840.1.113883.2.9.2.160.4.4^20260101FSEPGL01E41A145J</fse:uniqueId>` +
		`<fse:id>abcFSELBR01C41A145Sxyz</fse:id><fse:typeCode>11502-2</fse:typeCode>` +
		`<fse:titolo>Referto HIV</fse:titolo><fse:title>Referto HIV</fse:title><fse:posologia>1 compressa ogni 8 ore</fse:posologia>` +
		`<fse:codiceAIC>012345678</fse:codiceAIC><fse:parametro>glicemia</fse:parametro><fse:unitaMisura>mg/dL</fse:unitaMisura>` +
		`<fse:documentName>referto-hiv-rossi.pdf</fse:documentName><fse:tipo>visita oncologica</fse:tipo>` +
		`<fse:rilevazione><fse:valore>180</fse:valore></fse:rilevazione>` +
		`<fse:consenso><fse:codice>C2</fse:codice><fse:valore>true</fse:valore></fse:consenso>` +
		`<fse:conteggio><fse:tipo>RILEVAZIONE</fse:tipo><fse:numero>3</fse:numero></fse:conteggio>` +
		`<fse:nuovoCampo>Paziente Prova</fse:nuovoCampo><!-- Mario Rossi --><fse:note><![CDATA[nota riservata]]></fse:note>` +
		`</fse:searchDocumentsResponse></soap:Body></soap:Envelope>`
	got := string(Redact([]byte(env)))
	upper := strings.ToUpper(got)
	for _, secret := range []string{"FSEPGL01E41A145J", "FSELBR01C41A145S", "PROVAX00X00X000Y"} {
		if strings.Contains(upper, secret) {
			t.Errorf("redacted trace still contains %q (any case):\n%s", secret, got)
		}
	}
	for _, secret := range []string{"HIV", "compressa", "012345678", "glicemia", "mg/dL", "referto-hiv", "oncologica", "180",
		"Mario", "Rossi", "Paziente", "riservata"} {
		if strings.Contains(got, secret) {
			t.Errorf("redacted trace still contains %q:\n%s", secret, got)
		}
	}
	for _, kept := range []string{"<wsa:MessageID>uuid:0b7c4d6e-1f2a-4b3c-9d8e-7f6a5b4c3d2e</wsa:MessageID>", "<saml:AttributeValue>AAS</saml:AttributeValue>",
		"<fse:typeCode>11502-2</fse:typeCode>", "<fse:uniqueId>ID.CF[redacted]0001</fse:uniqueId>", "^20260101CF[redacted]</fse:uniqueId>",
		`ref="X_CF[redacted]_3"`, "<fse:codice>C2</fse:codice><fse:valore>true</fse:valore>", "<fse:tipo>RILEVAZIONE</fse:tipo><fse:numero>3</fse:numero>",
		"<fse:titolo>[redacted 11 bytes]</fse:titolo>", `<?xml version="1.0"?>`, "</soap:Envelope>"} {
		if !strings.Contains(got, kept) {
			t.Errorf("redacted trace lost %q:\n%s", kept, got)
		}
	}
	// Truncated input: the tail is redacted, not copied.
	if tr := string(Redact([]byte(`<a><fse:note>Mario Rossi`))); strings.Contains(tr, "Mario") {
		t.Errorf("truncated: %s", tr)
	}
	if tr := string(Redact([]byte(`<a><fse:uniqueId x="FSEPGL01E41A145J`))); strings.Contains(tr, "FSEPGL01E41A145J") {
		t.Errorf("truncated tag: %s", tr)
	}
}

func BenchmarkRedact20MB(b *testing.B) {
	env := []byte(`<soap:Envelope><soap:Body><fse:addDocument><fse:uniqueId>x</fse:uniqueId><fse:document>` +
		strings.Repeat("JVBERi0xLjcKJeLjz9MK", 1<<20) + `</fse:document></fse:addDocument></soap:Body></soap:Envelope>`)
	b.SetBytes(int64(len(env)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Redact(env)
	}
}
