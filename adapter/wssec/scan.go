package wssec

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrEnvelope is wrapped when Secure cannot find its way in the envelope it was given.
var ErrEnvelope = errors.New("wssec: unusable SOAP envelope")

// layout locates, by byte offset, what Secure needs in an envelope.
type layout struct {
	prefix            string // prefix of the SOAP 1.1 namespace on Envelope ("" = default namespace)
	hasHeader         bool
	headerSelfClosing bool
	headerStart       int // offset of "<soap:Header"
	headerTagEnd      int // offset just after the Header start tag
	bodyStart         int // offset of "<soap:Body"
	bodyAttrAt        int // offset where attributes can be added to the Body start tag
}

// scanEnvelope reads the envelope's tokens up to the soap:Body start tag and no further,
// so the Body's content is never parsed.
func scanEnvelope(env []byte) (layout, error) {
	var lay layout
	d := xml.NewDecoder(bytes.NewReader(env))
	depth := 0
	soapPrefix := ""
	for {
		before := int(d.InputOffset())
		tok, err := d.RawToken()
		if err == io.EOF {
			return lay, fmt.Errorf("%w: no soap:Body", ErrEnvelope)
		}
		if err != nil {
			return lay, fmt.Errorf("%w: %w", ErrEnvelope, err)
		}
		after := int(d.InputOffset())
		switch t := tok.(type) {
		case xml.StartElement:
			selfClosing := after >= 2 && string(env[after-2:after]) == "/>"
			switch depth {
			case 0:
				if t.Name.Local != "Envelope" {
					return lay, fmt.Errorf("%w: root is not Envelope", ErrEnvelope)
				}
				ns := ""
				for _, a := range t.Attr {
					if (a.Name.Space == "xmlns" && a.Name.Local == t.Name.Space) ||
						(t.Name.Space == "" && a.Name.Space == "" && a.Name.Local == "xmlns") {
						ns = a.Value
					}
				}
				if ns != NSSOAP11 {
					return lay, fmt.Errorf("%w: not a SOAP 1.1 envelope", ErrEnvelope)
				}
				soapPrefix = t.Name.Space
				lay.prefix = soapPrefix
			case 1:
				for _, a := range t.Attr {
					if a.Name.Space == "xmlns" && a.Name.Local == soapPrefix || soapPrefix == "" && a.Name.Space == "" && a.Name.Local == "xmlns" {
						return lay, fmt.Errorf("%w: %s redeclares the SOAP prefix", ErrEnvelope, t.Name.Local)
					}
				}
				if t.Name.Space != soapPrefix {
					return lay, fmt.Errorf("%w: unexpected element %s in Envelope", ErrEnvelope, t.Name.Local)
				}
				switch t.Name.Local {
				case "Header":
					if lay.hasHeader {
						return lay, fmt.Errorf("%w: two soap:Header", ErrEnvelope)
					}
					lay.hasHeader, lay.headerSelfClosing = true, selfClosing
					lay.headerStart, lay.headerTagEnd = before, after
				case "Body":
					lay.bodyStart = before
					lay.bodyAttrAt = after - 1
					if selfClosing {
						lay.bodyAttrAt = after - 2
					}
					return lay, nil
				default:
					return lay, fmt.Errorf("%w: unexpected element %s in Envelope", ErrEnvelope, t.Name.Local)
				}
			}
			depth++
		case xml.EndElement:
			depth--
			if depth == 0 {
				return lay, fmt.Errorf("%w: no soap:Body", ErrEnvelope)
			}
		case xml.CharData:
			if depth <= 1 && len(strings.TrimSpace(string(t))) > 0 {
				return lay, fmt.Errorf("%w: text outside elements", ErrEnvelope)
			}
		}
	}
}
