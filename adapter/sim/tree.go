package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/xml"
	"hash"
	"io"

	"github.com/beevik/etree"
)

// The envelope is parsed once, by wssec.ParseEnvelope (etree); the signature checks and the
// handler's decoding both read that tree. treeTokens feeds an element of it to
// encoding/xml's decoder as tokens, so that the generated types unmarshal exactly as they do
// from bytes (namespace prefixes resolved by the decoder from the xmlns attributes, which
// the tree keeps as attributes), without the bytes being tokenised a second time.

// treeTokens is an xml.TokenReader over an etree element and its descendants.
type treeTokens struct {
	root    *etree.Element
	inScope []xml.Attr // xmlns declarations of the root's ancestors, put on the root's start tag
	text    func(*etree.CharData) string
	started bool
	stack   []treeFrame
}

type treeFrame struct {
	el   *etree.Element
	next int
}

func newTreeTokens(el *etree.Element, text func(*etree.CharData) string) *treeTokens {
	t := &treeTokens{root: el, text: text}
	// The declarations of the ancestors, outermost first, so that nearer ones (and the
	// element's own, which come after) take precedence as the decoder reads them in order.
	var chain []*etree.Element
	for p := el.Parent(); p != nil; p = p.Parent() {
		chain = append(chain, p)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		for _, a := range chain[i].Attr {
			if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
				t.inScope = append(t.inScope, xml.Attr{Name: xml.Name{Space: a.Space, Local: a.Key}, Value: a.Value})
			}
		}
	}
	return t
}

func startOf(el *etree.Element, extra []xml.Attr) xml.StartElement {
	attrs := make([]xml.Attr, 0, len(extra)+len(el.Attr))
	attrs = append(attrs, extra...)
	for _, a := range el.Attr {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Space: a.Space, Local: a.Key}, Value: a.Value})
	}
	return xml.StartElement{Name: xml.Name{Space: el.Space, Local: el.Tag}, Attr: attrs}
}

// Token implements xml.TokenReader. Comments, processing instructions and directives are
// left out (xml.Unmarshal ignores them too).
func (t *treeTokens) Token() (xml.Token, error) {
	if !t.started {
		t.started = true
		t.stack = append(t.stack, treeFrame{el: t.root})
		return startOf(t.root, t.inScope), nil
	}
	for len(t.stack) > 0 {
		f := &t.stack[len(t.stack)-1]
		if f.next >= len(f.el.Child) {
			t.stack = t.stack[:len(t.stack)-1]
			return xml.EndElement{Name: xml.Name{Space: f.el.Space, Local: f.el.Tag}}, nil
		}
		c := f.el.Child[f.next]
		f.next++
		switch c := c.(type) {
		case *etree.Element:
			t.stack = append(t.stack, treeFrame{el: c})
			return startOf(c, nil), nil
		case *etree.CharData:
			s := c.Data
			if t.text != nil {
				s = t.text(c)
			}
			return xml.CharData(s), nil
		}
	}
	return nil, io.EOF
}

// decodeElement unmarshals el into v as xml.Unmarshal would unmarshal its bytes; text
// maps character data (the elided document's marker to ""), nil keeps it.
func decodeElement(el *etree.Element, v any, text func(*etree.CharData) string) error {
	return xml.NewTokenDecoder(newTreeTokens(el, text)).Decode(v)
}

// hashElement writes a length-prefixed walk of el (names with their namespace URIs,
// attributes but not namespace declarations, character data) into h: two operation elements
// with the same hash say the same thing to the handler, whatever prefixes they use. text maps character data as for decodeElement.
func hashElement(h hash.Hash, el *etree.Element, text func(*etree.CharData) string) {
	var n [8]byte
	str := func(tag byte, s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write([]byte{tag})
		h.Write(n[:])
		io.WriteString(h, s)
	}
	var walk func(*etree.Element)
	walk = func(el *etree.Element) {
		str('<', el.NamespaceURI())
		str(':', el.Tag)
		for i := range el.Attr {
			a := &el.Attr[i]
			if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
				continue // prefixes are not content: names carry their namespace URI
			}
			str('@', a.NamespaceURI())
			str(':', a.Key)
			str('=', a.Value)
		}
		for _, c := range el.Child {
			switch c := c.(type) {
			case *etree.Element:
				walk(c)
			case *etree.CharData:
				s := c.Data
				if text != nil {
					s = text(c)
				}
				str('T', s)
			}
		}
		h.Write([]byte{'>'})
	}
	walk(el)
}

// elementDigest is hashElement's SHA-256.
func elementDigest(el *etree.Element, text func(*etree.CharData) string) []byte {
	h := sha256.New()
	hashElement(h, el, text)
	return h.Sum(nil)
}
