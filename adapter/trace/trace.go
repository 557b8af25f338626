// Package trace keeps SOAP envelopes, one file per message, for support tickets. Envelopes are
// redacted by default: fiscal codes, personal names, document contents, certificates and
// signature values never reach the disk unless the caller asks for raw traces.
package trace

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
)

// Dir writes traces into one directory. The zero value writes nothing. It is safe for
// concurrent use.
type Dir struct {
	// Path is the directory; created (0700) on first write.
	Path string
	// Raw keeps envelopes unredacted.
	Raw bool
	seq atomic.Uint64
}

// Enabled reports whether d writes anything.
func (d *Dir) Enabled() bool { return d != nil && d.Path != "" }

// Write stores one message. kind is "request" or "response"; op is the SOAP operation;
// messageID the WS-Addressing MessageID. It returns the file written.
func (d *Dir) Write(at time.Time, op, messageID, kind string, envelope []byte) (string, error) {
	if !d.Enabled() {
		return "", nil
	}
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return "", fmt.Errorf("trace: create %s: %w", d.Path, err)
	}
	body := envelope
	if !d.Raw {
		body = Redact(envelope)
	}
	name := fmt.Sprintf("%s-%06d-%s-%s-%s.xml", at.UTC().Format("20060102T150405.000Z"), d.seq.Add(1),
		safe(op), safe(strings.TrimPrefix(messageID, "uuid:")), kind)
	path := filepath.Join(d.Path, name)
	if err := os.WriteFile(path, body, 0o600); err != nil {
		return "", fmt.Errorf("trace: write %s: %w", path, err)
	}
	return path, nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safe(s string) string {
	if s == "" {
		return "none"
	}
	s = unsafeChars.ReplaceAllString(s, "_")
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// cfPattern matches anything shaped like a codice fiscale (letters and digits where a CF has
// them, loosely: over-redacting is harmless) or an STP/ENI temporary code.
var cfPattern = regexp.MustCompile(`\b(?:` + codicefiscale.Shape + `|` + codicefiscale.TemporaryShape + `)\b`)

// contentElems are elements whose whole text is personal data or opaque payload.
var contentElems = regexp.MustCompile(`(?s)(<(?:[A-Za-z0-9_]+:)?(` +
	`document|file|content|pdf|BinarySecurityToken|SignatureValue|X509Certificate|` +
	`authorPerson|nome|cognome|givenName|familyName|name|title|notes|note|descrizione|valore|value|AttributeValue|NameID` +
	`)\b[^>]*>)([^<]+)(</[^>]+>)`)

// Redact returns a copy of envelope with personal data and payloads replaced by markers that
// keep the structure readable: fiscal codes become CF[redacted], element text of names,
// values, document bytes, certificates and signature values becomes [redacted N bytes].
func Redact(envelope []byte) []byte {
	out := contentElems.ReplaceAllFunc(envelope, func(m []byte) []byte {
		sub := contentElems.FindSubmatch(m)
		if len(bytes.TrimSpace(sub[3])) == 0 {
			return m
		}
		var b bytes.Buffer
		b.Write(sub[1])
		fmt.Fprintf(&b, "[redacted %d bytes]", len(sub[3]))
		b.Write(sub[4])
		return b.Bytes()
	})
	return cfPattern.ReplaceAll(out, []byte("CF[redacted]"))
}
