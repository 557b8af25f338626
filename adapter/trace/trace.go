// Package trace keeps SOAP envelopes, one file per message, for support tickets. Envelopes are
// redacted by default, by an allow-list: only the texts of elements known to be safe (codes,
// times, identifiers, WS-Addressing, fault texts) are kept, with fiscal codes masked in them;
// names, titles, dosages, measurements, document contents, certificates and signature values
// never reach the disk unless the caller asks for raw traces.
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

// safeText lists the elements whose text a redacted trace keeps, by local name, or as
// "parent/child" where the meaning depends on the parent (a consent's valore is a boolean, a
// measurement's valore is health data). It is an allow-list: the text of every other element
// (names, titles, dosages, drug codes, measurements, free text, document bytes, certificates,
// signature values, fiscal codes…) becomes "[redacted N bytes]". Kept texts and all attribute
// values still go through the codice fiscale finder (codicefiscale.Find).
var safeText = map[string]bool{
	// SOAP faults (the region's own texts: they are what a support ticket is about).
	"faultcode": true, "faultstring": true, "faultactor": true, "Value": true, "Text": true,
	// WS-Addressing.
	"Action": true, "To": true, "MessageID": true, "RelatesTo": true, "Address": true,
	// WS-Security and XML-DSig: times, digests and certificate references, not the
	// certificates, keys or signature values.
	"Created": true, "Expires": true, "DigestValue": true, "X509IssuerName": true, "X509SerialNumber": true,
	"KeyIdentifier": true,
	// SAML (AttributeValue: see safeAttributes).
	"Issuer": true, "AuthnContextClassRef": true, "Audience": true,
	// IDocumentService metadata and results: codes, times, sizes, hashes and identifiers.
	"typeCode": true, "classCode": true, "formatCode": true, "healthcareFacilityTypeCode": true,
	"practiceSettingCode": true, "confidentialityCode": true, "mimeType": true, "languageCode": true,
	"status": true, "hash": true, "size": true, "creationTime": true, "serviceStartTime": true,
	"serviceStopTime": true, "uniqueId": true, "repositoryUniqueId": true, "replacedUniqueId": true,
	"authorInstitution": true, "administrativeRequest": true, "dateFrom": true, "dateTo": true,
	"offset": true, "limit": true, "total": true, "errorCode": true,
	// IGestoreConsensoService.
	"esito": true, "codice": true, "consenso/valore": true, "errori/descrizione": true, "idInformativa": true,
	"versione": true, "ruolo": true, "ruoloRegistrante": true, "struttura": true, "contestoOperativo": true,
	"presaInCarico": true,
	// ITaccuinoService: counts, dates and item ids, never what was measured, taken or felt.
	"conteggio/tipo": true, "conteggio/numero": true, "dataDa": true, "dataA": true, "id": true, "data": true,
	"dataAcquisizione": true, "dataInizio": true, "dataFine": true,
}

// safeAttributes are the SAML attributes (by Name) whose AttributeValue is kept: role,
// structure, purpose, action, document type, consent flag, calling application. The subject
// (operator CF) and the resource (patient CF) are not among them.
var safeAttributes = map[string]bool{
	"urn:oasis:names:tc:xacml:2.0:subject:role":                      true,
	"urn:oasis:names:tc:xspa:1.0:environment:locality":               true,
	"urn:oasis:names:tc:xspa:1.0:subject:organization-id":            true,
	"urn:oasis:names:tc:xspa:1.0:subject:organization":               true,
	"urn:oasis:names:tc:xspa:1.0:subject:purposeofuse":               true,
	"urn:oasis:names:tc:xacml:1.0:action:action-id":                  true,
	"urn:oasis:names:tc:xspa:1.0:resource:patient:home-community-id": true,
	"urn:oasis:names:tc:xspa:1.0:resource:hl7:type":                  true,
	"urn:oasis:names:tc:xspa:1.0:resource:patient:consent":           true,
	"urn:fsepuglia:names:subject:SubjectApplicationId":               true,
	"urn:fsepuglia:names:subject:SubjectApplicationVendor":           true,
	"urn:fsepuglia:names:subject:SubjectApplicationVersion":          true,
}

// maskCF masks everything codicefiscale.Find finds.
func maskCF(b []byte) []byte {
	if !codicefiscale.Contains(string(b)) {
		return b
	}
	return []byte(codicefiscale.ReplaceAll(string(b), func(string) string { return "CF[redacted]" }))
}

// frame is an open element while Redact scans.
type frame struct {
	local string
	keep  bool   // its own text is kept
	attr  string // for saml:Attribute, its Name
}

// Redact returns a copy of envelope in which only the texts of safeText elements (and of
// safe SAML attributes) are kept, with codici fiscali masked as CF[redacted] there and in
// every attribute value; any other element text becomes "[redacted N bytes]", comments
// "[redacted comment]". The markup is copied as it is, so the trace keeps its structure.
// It scans the bytes without building a tree (a 20 MB envelope costs one pass); anything
// malformed or truncated is treated as text and redacted.
func Redact(envelope []byte) []byte {
	var out bytes.Buffer
	out.Grow(min(len(envelope), 64<<10))
	var stack []frame
	text := func(t []byte) {
		if len(bytes.TrimSpace(t)) == 0 {
			out.Write(t)
			return
		}
		if n := len(stack); n > 0 && stack[n-1].keep {
			out.Write(maskCF(t))
			return
		}
		fmt.Fprintf(&out, "[redacted %d bytes]", len(t))
	}
	s := envelope
	for len(s) > 0 {
		lt := bytes.IndexByte(s, '<')
		if lt < 0 {
			text(s)
			break
		}
		text(s[:lt])
		s = s[lt:]
		switch {
		case bytes.HasPrefix(s, []byte("<!--")):
			end := bytes.Index(s, []byte("-->"))
			if end < 0 {
				text(s)
				return out.Bytes()
			}
			out.WriteString("<!--[redacted comment]-->")
			s = s[end+3:]
		case bytes.HasPrefix(s, []byte("<![CDATA[")):
			end := bytes.Index(s, []byte("]]>"))
			if end < 0 {
				text(s)
				return out.Bytes()
			}
			out.WriteString("<![CDATA[")
			text(s[9:end])
			out.WriteString("]]>")
			s = s[end+3:]
		default:
			end := tagEnd(s)
			if end < 0 {
				text(s)
				return out.Bytes()
			}
			tag := s[:end+1]
			s = s[end+1:]
			switch {
			case bytes.HasPrefix(tag, []byte("</")):
				if n := len(stack); n > 0 {
					stack = stack[:n-1]
				}
				out.Write(tag)
			case bytes.HasPrefix(tag, []byte("<?")), bytes.HasPrefix(tag, []byte("<!")):
				out.Write(maskCF(tag))
			default:
				name, attrs := splitTag(tag)
				out.WriteByte('<')
				out.Write(name)
				out.Write(maskCF(attrs))
				if bytes.HasSuffix(tag, []byte("/>")) {
					continue // empty element: nothing to push
				}
				stack = append(stack, newFrame(stack, localName(name), attrs))
			}
		}
	}
	return out.Bytes()
}

func newFrame(stack []frame, local string, attrs []byte) frame {
	f := frame{local: local}
	var parent frame
	if n := len(stack); n > 0 {
		parent = stack[n-1]
	}
	switch local {
	case "Attribute":
		f.attr = attrValue(attrs, "Name")
	case "AttributeValue":
		f.keep = parent.local == "Attribute" && safeAttributes[parent.attr]
		return f
	}
	f.keep = safeText[local] || safeText[parent.local+"/"+local]
	return f
}

// tagEnd returns the index of the '>' closing the tag at s[0], skipping quoted attribute
// values, or -1.
func tagEnd(s []byte) int {
	var quote byte
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i
		}
	}
	return -1
}

// splitTag splits "<p:name attrs…>" into "p:name" and " attrs…>".
func splitTag(tag []byte) (name, rest []byte) {
	i := 1
	for i < len(tag) && !isSpace(tag[i]) && tag[i] != '>' && tag[i] != '/' {
		i++
	}
	return tag[1:i], tag[i:]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func localName(qname []byte) string {
	if i := bytes.LastIndexByte(qname, ':'); i >= 0 {
		qname = qname[i+1:]
	}
	return string(qname)
}

// attrValue returns the value of the attribute named name (unprefixed) in attrs, or "".
func attrValue(attrs []byte, name string) string {
	for len(attrs) > 0 {
		eq := bytes.IndexByte(attrs, '=')
		if eq < 0 {
			return ""
		}
		key := string(bytes.TrimSpace(attrs[:eq]))
		rest := bytes.TrimLeft(attrs[eq+1:], " \t\r\n")
		if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
			return ""
		}
		end := bytes.IndexByte(rest[1:], rest[0])
		if end < 0 {
			return ""
		}
		if key == name {
			return string(rest[1 : 1+end])
		}
		attrs = rest[2+end:]
	}
	return ""
}
