package pdfcda

import (
	"bytes"
	"errors"
)

// oidSignedData is 1.2.840.113549.1.7.2 (PKCS#7 / CMS SignedData), DER-encoded.
var oidSignedData = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02}

// ErrNotP7M is returned by P7MContent for data that is not a CMS SignedData with
// encapsulated content (a detached signature has none).
var ErrNotP7M = errors.New("pdfcda: not a CAdES/PKCS#7 SignedData envelope with content")

// P7MContent extracts the encapsulated content (eContent) of a CAdES/PKCS#7 SignedData
// envelope, DER or BER (indefinite lengths and chunked OCTET STRINGs, as some signing tools
// write them). It does not verify the signature.
func P7MContent(data []byte) ([]byte, error) {
	tag, body, _, err := berNext(data, 0)
	if err != nil || tag != 0x30 {
		return nil, ErrNotP7M
	}
	tag, oid, body, err := berNext(body, 0)
	if err != nil || tag != 0x06 || !bytes.Equal(oid, oidSignedData) {
		return nil, ErrNotP7M
	}
	tag, explicit, _, err := berNext(body, 0)
	if err != nil || tag != 0xa0 {
		return nil, ErrNotP7M
	}
	tag, sd, _, err := berNext(explicit, 0)
	if err != nil || tag != 0x30 {
		return nil, ErrNotP7M
	}
	// version INTEGER, digestAlgorithms SET, encapContentInfo SEQUENCE.
	if tag, _, sd, err = berNext(sd, 0); err != nil || tag != 0x02 {
		return nil, ErrNotP7M
	}
	if tag, _, sd, err = berNext(sd, 0); err != nil || tag != 0x31 {
		return nil, ErrNotP7M
	}
	tag, eci, _, err := berNext(sd, 0)
	if err != nil || tag != 0x30 {
		return nil, ErrNotP7M
	}
	if tag, _, eci, err = berNext(eci, 0); err != nil || tag != 0x06 {
		return nil, ErrNotP7M
	}
	tag, ec, _, err := berNext(eci, 0)
	if err != nil || tag != 0xa0 {
		return nil, ErrNotP7M // detached: no content
	}
	tag, oct, _, err := berNext(ec, 0)
	if err != nil {
		return nil, ErrNotP7M
	}
	switch tag {
	case 0x04:
		return oct, nil
	case 0x24: // constructed OCTET STRING: concatenate the chunks
		var out []byte
		for len(oct) > 0 {
			t, chunk, rest, err := berNext(oct, 0)
			if err != nil || t != 0x04 {
				return nil, ErrNotP7M
			}
			out = append(out, chunk...)
			oct = rest
		}
		return out, nil
	}
	return nil, ErrNotP7M
}

// berNext reads one BER TLV with a single-byte tag: it returns the tag, the content (for an
// indefinite length, the bytes before the end-of-contents marker) and what follows.
func berNext(b []byte, depth int) (tag byte, content, rest []byte, err error) {
	errBER := &SyntaxError{Offset: -1, Msg: "bad BER encoding"}
	if depth > 32 {
		return 0, nil, nil, &LimitError{What: "BER nesting depth", Limit: 32}
	}
	if len(b) < 2 || b[0]&0x1f == 0x1f {
		return 0, nil, nil, errBER
	}
	tag = b[0]
	l := int(b[1])
	b = b[2:]
	switch {
	case l < 0x80:
	case l == 0x80: // indefinite: only for constructed encodings
		if tag&0x20 == 0 {
			return 0, nil, nil, errBER
		}
		inner := b
		for {
			if len(inner) >= 2 && inner[0] == 0 && inner[1] == 0 {
				n := len(b) - len(inner)
				return tag, b[:n], inner[2:], nil
			}
			_, _, r, err := berNext(inner, depth+1)
			if err != nil {
				return 0, nil, nil, err
			}
			inner = r
		}
	default:
		n := l & 0x7f
		if n > 4 || len(b) < n {
			return 0, nil, nil, errBER
		}
		l = 0
		for _, c := range b[:n] {
			l = l<<8 | int(c)
		}
		b = b[n:]
	}
	if l < 0 || l > len(b) {
		return 0, nil, nil, errBER
	}
	return tag, b[:l], b[l:], nil
}
