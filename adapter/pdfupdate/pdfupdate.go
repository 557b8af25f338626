// Package pdfupdate appends incremental updates to a PDF (ISO 32000-1 §7.5.6): new and
// replaced objects, a cross-reference section of the same kind as the file's (table or
// stream) with /Prev, and a trailer. The original bytes are never rewritten, so earlier
// signatures stay valid and a PDF/A file keeps its conformance.
//
// The file is read through github.com/digitorus/pdf (the reader digitorus/pdfsign uses)
// from an io.ReaderAt: objects are loaded on demand and nothing is copied, so a 100 MB PDF
// on disk costs kilobytes here. Objects are copied into the update verbatim, indirect
// references kept (see Doc.Format).
//
// A Doc is not safe for concurrent use.
package pdfupdate

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/pdf"
)

// Ref is an indirect object reference.
type Ref struct {
	Num uint32
	Gen uint16
}

// String renders the reference as PDF ("12 0 R").
func (r Ref) String() string { return fmt.Sprintf("%d %d R", r.Num, r.Gen) }

// Error is a PDF that cannot be updated: the message says why and what to do.
type Error struct{ Msg string }

// Error implements error.
func (e *Error) Error() string { return "pdfupdate: " + e.Msg }

// Doc is a PDF open for an incremental update.
type Doc struct {
	src   io.ReaderAt
	size  int64
	r     *pdf.Reader
	next  uint32
	objs  map[uint32]entry
	order []uint32
}

type entry struct {
	gen  uint16
	body []byte // "<< ... >>" or a full "<< ... >>\nstream\n...\nendstream"
}

// Open reads the structure of the PDF in src (size bytes): its last cross-reference
// section, trailer and catalog. A file whose cross-reference does not resolve, or that is
// encrypted, is refused with an *Error.
func Open(src io.ReaderAt, size int64) (d *Doc, err error) {
	defer func() {
		if p := recover(); p != nil {
			d, err = nil, &Error{Msg: fmt.Sprintf("the PDF's structure cannot be read (%v): repair it (e.g. qpdf in.pdf out.pdf) and retry", p)}
		}
	}()
	r, err := pdf.NewReader(src, size)
	if err != nil {
		return nil, &Error{Msg: "the PDF's structure cannot be read (" + err.Error() + "): repair it (e.g. qpdf in.pdf out.pdf) and retry"}
	}
	t := r.Trailer()
	if t.Key("Encrypt").Kind() != pdf.Null {
		return nil, &Error{Msg: "encrypted PDFs cannot be updated: remove the encryption first"}
	}
	if t.Key("Root").Kind() != pdf.Dict {
		return nil, &Error{Msg: "the trailer has no /Root catalog"}
	}
	next := uint32(t.Key("Size").Int64())
	if n := uint32(len(r.Xref())); n > next {
		next = n
	}
	return &Doc{src: src, size: size, r: r, next: next, objs: map[uint32]entry{}}, nil
}

// Reader returns the underlying reader (values are read on demand; its methods may panic
// on a damaged file: use Do).
func (d *Doc) Reader() *pdf.Reader { return d.r }

// Do runs f and turns a panic of the PDF reader into an *Error.
func Do(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &Error{Msg: fmt.Sprintf("the PDF cannot be read (%v)", p)}
		}
	}()
	return f()
}

// Catalog returns the document catalog (the trailer's /Root).
func (d *Doc) Catalog() pdf.Value { return d.r.Trailer().Key("Root") }

// RefOf returns the reference of an object read through a reference (the catalog, a
// value of Key on the trailer); ok is false when there is none.
func RefOf(v pdf.Value) (Ref, bool) {
	p := v.GetPtr()
	if p.GetID() == 0 || v.Kind() == pdf.Null {
		return Ref{}, false
	}
	return Ref{p.GetID(), p.GetGen()}, true
}

// KeyRef returns the reference stored under key in the dictionary dict, ok false when the
// entry is absent or a direct object.
func KeyRef(dict pdf.Value, key string) (Ref, bool) {
	raw := reflect.ValueOf(dict.RawData())
	if raw.Kind() == reflect.Struct && raw.Type().Name() == "stream" { // a stream's header
		raw = raw.Field(0)
	}
	if raw.Kind() != reflect.Map {
		return Ref{}, false
	}
	for _, k := range raw.MapKeys() {
		if k.String() != key {
			continue
		}
		v := raw.MapIndex(k)
		if v.Kind() == reflect.Interface {
			v = v.Elem()
		}
		if v.Kind() == reflect.Struct && v.Type().Name() == "objptr" && v.NumField() == 2 {
			return Ref{uint32(v.Field(0).Uint()), uint16(v.Field(1).Uint())}, true
		}
	}
	return Ref{}, false
}

// Add appends a new object with body (a dictionary, array or "<<…>>\nstream\n…\nendstream")
// and returns its reference.
func (d *Doc) Add(body []byte) Ref {
	num := d.next
	d.next++
	d.objs[num] = entry{body: body}
	d.order = append(d.order, num)
	return Ref{Num: num}
}

// Replace stores a new version of the existing object ref.
func (d *Doc) Replace(ref Ref, body []byte) {
	if _, ok := d.objs[ref.Num]; !ok {
		d.order = append(d.order, ref.Num)
	}
	d.objs[ref.Num] = entry{gen: ref.Gen, body: body}
}

// Stream renders a stream object body: dict (without /Length, which is added) and data.
func Stream(dict string, data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(dict) + len(data) + 40)
	dict = strings.TrimSuffix(strings.TrimSpace(dict), ">>")
	fmt.Fprintf(&b, "%s /Length %d >>\nstream\n", dict, len(data))
	b.Write(data)
	b.WriteString("\nendstream")
	return b.Bytes()
}

// Update renders the incremental update: the objects added or replaced, a cross-reference
// section (a stream when the file's last one is a stream, else a table) and a trailer with
// /Prev, /Root, /Info, /Size and /ID (first element kept, second new). The result is meant
// to be written right after the original bytes.
func (d *Doc) Update() ([]byte, error) {
	var out bytes.Buffer
	base := d.size
	// Start on a new line: the original may end right after %%EOF.
	lastByte := make([]byte, 1)
	if _, err := d.src.ReadAt(lastByte, d.size-1); err != nil {
		return nil, fmt.Errorf("pdfupdate: %w", err)
	}
	if lastByte[0] != '\n' && lastByte[0] != '\r' {
		out.WriteByte('\n')
	}
	nums := append([]uint32(nil), d.order...)
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	offs := map[uint32]int64{}
	for _, n := range nums {
		e := d.objs[n]
		offs[n] = base + int64(out.Len())
		fmt.Fprintf(&out, "%d %d obj\n", n, e.gen)
		out.Write(e.body)
		out.WriteString("\nendobj\n")
	}
	var t pdf.Value
	var err error
	if err = Do(func() error { t = d.r.Trailer(); return nil }); err != nil {
		return nil, err
	}
	root, _ := KeyRef(t, "Root")
	trailer := fmt.Sprintf("/Root %s /Prev %d", root, d.r.XrefInformation.StartPos)
	if info, ok := KeyRef(t, "Info"); ok {
		trailer += " /Info " + info.String()
	}
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	first := rnd[:]
	if id := t.Key("ID"); id.Kind() == pdf.Array && id.Len() > 0 && id.Index(0).Kind() == pdf.String {
		first = []byte(id.Index(0).RawString())
	}
	trailer += fmt.Sprintf(" /ID [<%s> <%s>]", hex.EncodeToString(first), hex.EncodeToString(rnd[:]))

	if d.r.XrefInformation.Type == "stream" {
		xnum := d.next
		offs[xnum] = base + int64(out.Len())
		all := append(nums, xnum)
		var idx strings.Builder
		var data []byte
		for i := 0; i < len(all); {
			j := i
			for j+1 < len(all) && all[j+1] == all[j]+1 {
				j++
			}
			fmt.Fprintf(&idx, "%d %d ", all[i], j-i+1)
			for k := i; k <= j; k++ {
				o := offs[all[k]]
				gen := d.objs[all[k]].gen
				data = append(data, 1, byte(o>>24), byte(o>>16), byte(o>>8), byte(o), byte(gen>>8), byte(gen))
			}
			i = j + 1
		}
		if offs[xnum] > 0xffffffff {
			return nil, &Error{Msg: "the PDF is larger than 4 GiB"}
		}
		dict := fmt.Sprintf("<< /Type /XRef /Size %d /W [1 4 2] /Index [%s] %s >>", xnum+1, strings.TrimSpace(idx.String()), trailer)
		fmt.Fprintf(&out, "%d 0 obj\n", xnum)
		out.Write(Stream(dict, data))
		out.WriteString("\nendobj\n")
		fmt.Fprintf(&out, "startxref\n%d\n%%%%EOF\n", offs[xnum])
		return out.Bytes(), nil
	}
	xrefOff := base + int64(out.Len())
	out.WriteString("xref\n")
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		fmt.Fprintf(&out, "%d %d\n", nums[i], j-i+1)
		for k := i; k <= j; k++ {
			fmt.Fprintf(&out, "%010d %05d n \n", offs[nums[k]], d.objs[nums[k]].gen)
		}
		i = j + 1
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n", d.next, trailer, xrefOff)
	return out.Bytes(), nil
}

// Format renders a value read from the file as PDF source, keeping indirect references as
// references (the reader resolves them on access; this reads its raw data instead, by
// reflection, as the library does not export its object types).
func Format(v pdf.Value) (string, error) {
	var b strings.Builder
	if err := format(&b, reflect.ValueOf(v.RawData()), 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

// FormatElements renders each element of the array v (nil for a non-array), references
// kept as references.
func FormatElements(v pdf.Value) ([]string, error) {
	raw := reflect.ValueOf(v.RawData())
	if raw.Kind() != reflect.Slice {
		return nil, nil
	}
	out := make([]string, 0, raw.Len())
	for i := 0; i < raw.Len(); i++ {
		var b strings.Builder
		if err := format(&b, raw.Index(i), 1); err != nil {
			return nil, err
		}
		out = append(out, b.String())
	}
	return out, nil
}

// FormatDictWithout renders the dictionary v without the keys listed, and with extra
// appended ("/Key value" pairs), e.g. to copy the catalog with a new /AcroForm.
func FormatDictWithout(v pdf.Value, extra string, drop ...string) (string, error) {
	if v.Kind() != pdf.Dict {
		return "", errors.New("pdfupdate: not a dictionary")
	}
	var b strings.Builder
	b.WriteString("<<")
	raw := reflect.ValueOf(v.RawData())
	keys := raw.MapKeys()
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
next:
	for _, k := range keys {
		for _, dk := range drop {
			if k.String() == dk {
				continue next
			}
		}
		b.WriteString(" /" + encodeName(k.String()) + " ")
		if err := format(&b, raw.MapIndex(k), 1); err != nil {
			return "", err
		}
	}
	if extra != "" {
		b.WriteString(" " + extra)
	}
	b.WriteString(" >>")
	return b.String(), nil
}

func format(b *strings.Builder, v reflect.Value, depth int) error {
	if depth > 64 {
		return errors.New("pdfupdate: value nested too deeply")
	}
	if v.Kind() == reflect.Interface {
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		b.WriteString("null")
		return nil
	}
	switch v.Kind() {
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int64:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Float64:
		b.WriteString(strconv.FormatFloat(v.Float(), 'f', -1, 64))
	case reflect.String:
		if v.Type().Name() == "name" {
			b.WriteString("/" + encodeName(v.String()))
		} else {
			b.WriteString("<" + hex.EncodeToString([]byte(v.String())) + ">")
		}
	case reflect.Map:
		b.WriteString("<<")
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			b.WriteString(" /" + encodeName(k.String()) + " ")
			if err := format(b, v.MapIndex(k), depth+1); err != nil {
				return err
			}
		}
		b.WriteString(" >>")
	case reflect.Slice:
		b.WriteString("[")
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteString(" ")
			}
			if err := format(b, v.Index(i), depth+1); err != nil {
				return err
			}
		}
		b.WriteString("]")
	case reflect.Struct:
		if v.Type().Name() == "objptr" && v.NumField() == 2 {
			fmt.Fprintf(b, "%d %d R", v.Field(0).Uint(), v.Field(1).Uint())
			return nil
		}
		return fmt.Errorf("pdfupdate: a %s cannot be copied inline", v.Type().Name())
	default:
		return fmt.Errorf("pdfupdate: unexpected value kind %s", v.Kind())
	}
	return nil
}

// encodeName escapes a name's bytes outside the regular characters as #xx.
func encodeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>[]{}/%#", c) >= 0 {
			fmt.Fprintf(&b, "#%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// String renders s as a PDF literal string, escaped.
func String(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`, "\r", `\r`, "\n", `\n`)
	return "(" + r.Replace(s) + ")"
}

// Date formats t as a PDF date, D:YYYYMMDDHHmmSS+HH'mm' (Z for UTC).
func Date(t time.Time) string {
	_, off := t.Zone()
	if off == 0 {
		return t.Format("D:20060102150405") + "Z"
	}
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%s%c%02d'%02d'", t.Format("D:20060102150405"), sign, off/3600, off%3600/60)
}
