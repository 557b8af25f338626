package cms

import (
	"errors"
)

// maxBERDepth bounds the nesting berToDER follows.
const maxBERDepth = 32

var errBER = errors.New("cms: bad BER encoding")

// berToDER re-encodes BER as DER as far as CMS envelopes need it: indefinite lengths become
// definite, constructed OCTET STRINGs (chunked content) become one primitive OCTET STRING.
// Other BER liberties (non-minimal lengths inside primitives) are kept as found.
func berToDER(b []byte) ([]byte, error) {
	out, rest, err := convert(b, 0)
	if err != nil {
		return nil, err
	}
	if !allZero(rest) {
		return nil, errBER
	}
	return out, nil
}

// convert re-encodes the first TLV of b and returns what follows it.
func convert(b []byte, depth int) (der, rest []byte, err error) {
	if depth > maxBERDepth {
		return nil, nil, errors.New("cms: BER nested too deeply")
	}
	if len(b) < 2 || b[0]&0x1f == 0x1f {
		return nil, nil, errBER
	}
	tag, constructed := b[0], b[0]&0x20 != 0
	l := int(b[1])
	b = b[2:]
	var content []byte
	indefinite := false
	switch {
	case l < 0x80:
		if l > len(b) {
			return nil, nil, errBER
		}
		content, rest = b[:l], b[l:]
	case l == 0x80:
		if !constructed {
			return nil, nil, errBER
		}
		indefinite = true
	default:
		n := l & 0x7f
		if n > 4 || n > len(b) {
			return nil, nil, errBER
		}
		l = 0
		for _, c := range b[:n] {
			l = l<<8 | int(c)
		}
		b = b[n:]
		if l < 0 || l > len(b) {
			return nil, nil, errBER
		}
		content, rest = b[:l], b[l:]
	}
	if !constructed {
		return appendTLV(nil, tag, content), rest, nil
	}
	var inner []byte
	children := content
	if indefinite {
		children = b
	}
	for {
		if indefinite {
			if len(children) < 2 {
				return nil, nil, errBER
			}
			if children[0] == 0 && children[1] == 0 {
				rest = children[2:]
				break
			}
		} else if len(children) == 0 {
			break
		}
		var d []byte
		if d, children, err = convert(children, depth+1); err != nil {
			return nil, nil, err
		}
		if tag == 0x24 { // constructed OCTET STRING: keep the chunks' content only
			if d[0] != 0x04 {
				return nil, nil, errBER
			}
			_, c := splitTLV(d)
			inner = append(inner, c...)
			continue
		}
		inner = append(inner, d...)
	}
	if tag == 0x24 {
		tag = 0x04
	}
	return appendTLV(nil, tag, inner), rest, nil
}

// splitTLV splits a DER TLV written by appendTLV into its header length and content.
func splitTLV(d []byte) (int, []byte) {
	if d[1] < 0x80 {
		return 2, d[2:]
	}
	n := int(d[1] & 0x7f)
	return 2 + n, d[2+n:]
}

func appendTLV(dst []byte, tag byte, content []byte) []byte {
	dst = append(dst, tag)
	l := len(content)
	switch {
	case l < 0x80:
		dst = append(dst, byte(l))
	case l < 0x100:
		dst = append(dst, 0x81, byte(l))
	case l < 0x10000:
		dst = append(dst, 0x82, byte(l>>8), byte(l))
	case l < 0x1000000:
		dst = append(dst, 0x83, byte(l>>16), byte(l>>8), byte(l))
	default:
		dst = append(dst, 0x84, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
	}
	return append(dst, content...)
}
