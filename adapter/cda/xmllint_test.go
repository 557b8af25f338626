package cda_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/cda"
	"github.com/fsepuglia/fsepuglia/adapter/internal/testenv"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
)

// xmlCorpus is the documents the well-formedness verdict is compared on: the fuzz seeds,
// XML constructs encoding/xml is known to be lenient with, placed in a CDA body, and
// deterministic mutants of the synthetic CDA (every 7th byte deleted, '<' or '&' inserted,
// every 13th prefix).
func xmlCorpus() map[string][]byte {
	good := pdfcdatest.CDA{}.Bytes()
	out := map[string][]byte{}
	for i, s := range cdaSeeds() {
		out["seed "+strconv.Itoa(i)] = s
	}
	at := bytes.Index(good, []byte("<structuredBody>")) + len("<structuredBody>")
	for name, frag := range map[string]string{
		"undeclared prefix":       `<x:a/>`,
		"duplicate attribute":     `<a b="1" b="2"/>`,
		"same attribute by URI":   `<a xmlns:x="u" xmlns:y="u" x:c="1" y:c="2"/>`,
		"]]> in text":             `<a>]]></a>`,
		"< in an attribute":       `<a b="<"/>`,
		"NUL character ref":       `<a>&#0;</a>`,
		"surrogate ref":           `<a>&#xD800;</a>`,
		"unknown entity":          `<a>&foo;</a>`,
		"-- in a comment":         `<!-- a -- b -->`,
		"two colons":              `<a:b:c xmlns:a="u"/>`,
		"space before >":          `<a></a >`,
		"name starts with digit":  `<1a/>`,
		"name starts with dot":    `<.a/>`,
		"name starts with -":      `<-a/>`,
		"CDATA":                   `<a><![CDATA[x < y]]></a>`,
		"PI":                      `<?pi data?>`,
		"xml PI inside":           `<?xml version="1.0"?>`,
		"bad char":                "<a>\x01</a>",
		"invalid UTF-8":           "<a>\xff</a>",
		"doctype inside":          `<!DOCTYPE x>`,
		"attribute without value": `<a b/>`,
		"unquoted attribute":      `<a b=c/>`,
		"lt in text":              `<a>1 < 2</a>`,
		"gt in text":              `<a>2 > 1</a>`,
		"amp alone":               `<a>a & b</a>`,
		"empty name":              `< a/>`,
		"xmlns empty prefix":      `<a xmlns:x=""/>`,
		"xml prefix":              `<a xml:lang="it"/>`,
		"xmlns:xml rebound":       `<a xmlns:xml="urn:other"/>`,
		"colon name":              `<:a/>`,
	} {
		doc := append(append(append([]byte{}, good[:at]...), frag...), good[at:]...)
		out["construct: "+name] = doc
	}
	out["xml declaration after a space"] = append([]byte(" "), good...)
	for i := 0; i < len(good); i += 7 {
		out["delete "+strconv.Itoa(i)] = append(append([]byte{}, good[:i]...), good[i+1:]...)
	}
	for i := 0; i < len(good); i += 29 {
		out["insert < "+strconv.Itoa(i)] = append(append(append([]byte{}, good[:i]...), '<'), good[i:]...)
		out["insert & "+strconv.Itoa(i)] = append(append(append([]byte{}, good[:i]...), '&'), good[i:]...)
	}
	for i := 0; i < len(good); i += 13 {
		out["prefix "+strconv.Itoa(i)] = good[:i]
	}
	return out
}

// TestXmllintAgrees: whatever ParseHeader accepts, xmllint (libxml2, an independent parser)
// finds well-formed. ParseHeader may refuse more (a root that is not an HL7 CDA, limits,
// rules libxml2 only warns about).
func TestXmllintAgrees(t *testing.T) {
	xmllint := testenv.Tool(t, "xmllint", "apt-get install libxml2-utils")
	dir := t.TempDir()
	n := 0
	for name, doc := range xmlCorpus() {
		if _, err := cda.ParseHeader(bytes.NewReader(doc), cda.Limits{}); err != nil {
			continue
		}
		n++
		p := filepath.Join(dir, "doc.xml")
		if err := os.WriteFile(p, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(xmllint, "--noout", "--nonet", p).CombinedOutput(); err != nil {
			t.Errorf("%s: accepted by ParseHeader, not well-formed for xmllint:\n%s", name, out)
		}
	}
	if n < 20 {
		t.Fatalf("only %d accepted documents compared", n)
	}
}
