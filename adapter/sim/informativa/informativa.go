// Package informativa generates the privacy notice (informativa) the simulated consent
// service returns as a PDF. The PDF is tiny, valid (PDF 1.4, exact cross-reference table)
// and deterministic: the same id always gives the same bytes (no dates, no random /ID).
//
// The text is a placeholder written for the simulator, not the region's notice.
package informativa

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// DefaultID is the informativa the simulator serves: region 160 (Puglia), version 1.0,
// in the versioned form <region>^<version> (domain.md §5).
const DefaultID = "160^1.0"

var idPattern = regexp.MustCompile(`^(\d{3})\^(\d+\.\d+)$`)

// ParseID splits an informativa id "<region>^<major>.<minor>" into region and version.
func ParseID(id string) (region, version string, err error) {
	m := idPattern.FindStringSubmatch(id)
	if m == nil {
		return "", "", fmt.Errorf("informativa: id %q is not <region>^<major>.<minor>, e.g. %s", id, DefaultID)
	}
	return m[1], m[2], nil
}

// Lines returns the notice's text lines for id (ASCII only, so the PDF needs no font
// encoding tricks).
func Lines(id string) ([]string, error) {
	region, version, err := ParseID(id)
	if err != nil {
		return nil, err
	}
	return []string{
		"Informativa sul trattamento dei dati personali",
		"Fascicolo Sanitario Elettronico - Regione Puglia",
		"Identificativo " + id + " - regione " + region + ", versione " + version,
		"",
		"Documento generato dal simulatore fsepuglia per prove e dimostrazioni.",
		"Non e' l'informativa ufficiale e non ha alcun valore legale.",
		"",
		"Consensi: C1 alimentazione (sempre attivo dal 19/05/2020, DL 34/2020);",
		"C2 consultazione; C3 consultazione dei documenti pregressi;",
		"C4 opposizione; C5-C8 ecosistema dei dati sanitari.",
	}, nil
}

// PDF returns the notice for id as a one-page PDF.
func PDF(id string) ([]byte, error) {
	lines, err := Lines(id)
	if err != nil {
		return nil, err
	}
	var content strings.Builder
	content.WriteString("BT\n/F1 12 Tf\n14 TL\n50 790 Td\n")
	for _, l := range lines {
		content.WriteString("(" + escape(l) + ") Tj T*\n")
	}
	content.WriteString("ET\n")
	title := escape("Informativa FSE " + id)
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		"<< /Title (" + title + ") /Producer (fsepuglia simulator) >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes(), nil
}

// escape makes s safe inside a PDF literal string.
func escape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	return r.Replace(s)
}
