package pdfcda

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"io"
	"sort"
	"strconv"
	"sync"
	"unicode/utf16"
)

// maxObjNum bounds object numbers: larger ones are not a real file's.
const maxObjNum = 1 << 40

// entry is one parsed object.
type entry struct {
	num    int64
	v      any
	off    int  // offset of the object header, -1 inside an object stream
	hasStm bool // v is a stream dictionary and the file's [start, end) its raw data
	start  int
	end    int
	spans  []span // /Contents strings of this object, file offsets (direct objects only)
}

// loc is where the cross-reference sections say an object is.
type loc struct {
	off  int64 // offset of the "N G obj" header; -1 for a compressed object
	gen  int64
	stm  int64 // the object stream holding a compressed object
	idx  int64 // its index in that stream
	free bool  // deleted in a newer section: older definitions do not count
}

// objStm is a decoded object stream.
type objStm struct {
	data  []byte
	first int64
	nums  []int64
	offs  []int64
}

// file is a PDF being read, strictly through its cross-reference sections (index) or, in
// repair mode, through a scan of its object headers (objs filled by scan).
type file struct {
	b          []byte      // the whole input when it is in memory (Read; ReadRepair's scan)
	ra         io.ReaderAt // the input otherwise (ReadAt), read in windows
	size       int
	chunk      []byte // ReadAt: the read-ahead chunk, at offset chunkOff
	chunkOff   int
	ioErr      error // ReadAt: the first read error
	minWindow  int   // ReadAt: first window of an object (tests make it tiny)
	chunkSize  int   // ReadAt: read-ahead
	lim        Limits
	work       int64
	index      map[int64]loc    // strict: the cross-reference
	objs       map[int64]*entry // parsed objects (strict: a cache of index; repair: the scan)
	busy       map[int64]bool   // objects being parsed (a /Length or stream that refers to itself)
	stms       map[int64]*objStm
	trailer    dict
	revisions  []int // offsets of the revisions' cross-reference sections, newest first
	xrefStream bool
	inflated   int64
	crypt      bool

	// repair mode
	repaired string
	roots    []rootCandidate
	damaged  int
	stmsDone bool
	eofs     []int // repair mode: offsets of "startxref" keywords, for UpdatesAfter
}

type rootCandidate struct {
	off  int
	root any
}

// newFile reads b, in memory; with b nil, size bytes of ra.
func newFile(b []byte, ra io.ReaderAt, size int, lim Limits) *file {
	if b != nil {
		ra, size = bytes.NewReader(b), len(b)
	}
	return &file{b: b, ra: ra, size: size, lim: lim, minWindow: minWindow, chunkSize: chunkSize, index: map[int64]loc{}, objs: map[int64]*entry{}, busy: map[int64]bool{}, stms: map[int64]*objStm{}}
}

func (f *file) objectCount() int {
	if f.repaired != "" {
		return len(f.objs)
	}
	n := 0
	for _, l := range f.index {
		if !l.free {
			n++
		}
	}
	return n
}

// charge adds n bytes of parser work and fails beyond Limits.MaxWork.
func (f *file) charge(n int) error {
	f.work += int64(n) + 1
	if f.work > f.lim.MaxWork {
		return &LimitError{What: "parser work (bytes examined)", Limit: f.lim.MaxWork}
	}
	return nil
}

// parseAt parses one object of buf[:end] at pos, charging the bytes read.
func (f *file) parseAt(buf []byte, pos, end int, spans *[]span) (any, int, error) {
	if pos < 0 || end > len(buf) || pos > end {
		return nil, pos, &SyntaxError{Offset: int64(pos), Msg: "object outside its buffer"}
	}
	p := parser{b: buf[:end], pos: pos, maxDepth: f.lim.MaxDepth, spans: spans}
	v, err := p.object()
	if cerr := f.charge(p.pos - pos); cerr != nil {
		return nil, p.pos, cerr
	}
	return v, p.pos, err
}

// parseFile parses one object of the file at off, reading no further than offset end,
// charging the bytes read; it returns the offset after the object. Spans are file offsets.
func (f *file) parseFile(off, end int, spans *[]span) (any, int, error) {
	if off < 0 || off > end || end > f.size {
		return nil, off, &SyntaxError{Offset: int64(off), Msg: "object outside the file"}
	}
	p := f.parserAt(off, end)
	p.spans = spans
	n := 0
	if spans != nil {
		n = len(*spans)
	}
	v, err := p.object()
	if spans != nil {
		for i := n; i < len(*spans); i++ {
			(*spans)[i].start += off
			(*spans)[i].end += off
		}
	}
	if cerr := f.charge(p.pos); cerr != nil {
		return nil, off + p.pos, cerr
	}
	return v, off + p.pos, err
}

// headerAt reads "num gen obj" starting exactly at off.
func (f *file) headerAt(off int) (num, gen int64, body int, ok bool) {
	if off < 0 || off >= f.size {
		return 0, 0, 0, false
	}
	p := f.parserAt(off, f.size)
	if !p.in(0) || p.b[0] < '0' || p.b[0] > '9' {
		return 0, 0, 0, false
	}
	num, ok1 := p.uint()
	gen, ok2 := p.uint()
	p.skipSpace()
	if !ok1 || !ok2 || !p.atKeyword(p.pos, "obj") || num > maxObjNum || gen > 65535 {
		return 0, 0, 0, false
	}
	return num, gen, off + p.pos + 3, true
}

// streamData finds the data of a stream whose dictionary d ends at pos (before the
// "stream" keyword, white space allowed). strict requires /Length to end exactly at
// endstream; otherwise a wrong /Length falls back to searching endstream. ok is false when
// no "stream" keyword follows.
func (f *file) streamData(d dict, pos int, strict bool, what string) (start, end, after int, ok bool, err error) {
	p := f.parserAt(pos, f.size)
	p.skipWS()
	if !p.atKeyword(p.pos, "stream") {
		return 0, 0, pos + p.pos, false, nil
	}
	sp := p.pos + len("stream")
	if p.in(sp) && p.b[sp] == '\r' {
		sp++
	}
	if p.in(sp) && p.b[sp] == '\n' {
		sp++
	}
	s := pos + sp
	end = -1
	lv := d["Length"]
	if strict { // the repair scan runs before every object is known: direct lengths only
		if lv, err = f.resolve(lv); err != nil {
			return 0, 0, 0, true, err
		}
	}
	l, isInt := lv.(int64)
	if isInt && l >= 0 && l <= int64(f.size-s) {
		q := f.parserAt(s+int(l), f.size)
		q.skipSpace() // an end-of-line, or more white space (as qpdf accepts)
		if q.atKeyword(q.pos, "endstream") {
			end, after = s+int(l), q.base+q.pos+len("endstream")
		}
	}
	if end < 0 && strict {
		if !isInt {
			return 0, 0, 0, true, structErr(what, s, "the stream's /Length is not an integer")
		}
		return 0, 0, 0, true, structErr(what, s, "the stream's /Length %d does not end at endstream (the data was changed after the length was written)", l)
	}
	if end < 0 {
		k := f.indexFrom(s, "endstream")
		if k < 0 {
			end, after = f.size, f.size
		} else {
			end, after = k, k+len("endstream")
			if end > s && f.byteAt(end-1) == '\n' {
				end--
			}
			if end > s && f.byteAt(end-1) == '\r' {
				end--
			}
		}
		if err := f.charge(end - s); err != nil {
			return 0, 0, 0, true, err
		}
	}
	return s, end, after, true, nil
}

// resolve follows references (a bounded chain), loading objects as needed.
func (f *file) resolve(v any) (any, error) {
	for range 32 {
		r, ok := v.(ref)
		if !ok {
			return v, nil
		}
		e, err := f.lookup(r.num)
		if err != nil {
			return nil, err
		}
		if e == nil {
			return nil, nil
		}
		v = e.v
	}
	return nil, &LimitError{What: "reference chain", Limit: 32}
}

// lookup returns object num, or nil when the file does not define it.
func (f *file) lookup(num int64) (*entry, error) {
	if e, ok := f.objs[num]; ok {
		return e, nil
	}
	if f.repaired != "" {
		if !f.stmsDone {
			f.stmsDone = true
			if err := f.loadObjStms(); err != nil {
				return nil, err
			}
			return f.objs[num], nil
		}
		return nil, nil
	}
	l, ok := f.index[num]
	if !ok || l.free {
		return nil, nil
	}
	if f.busy[num] {
		return nil, structErr("object "+strconv.FormatInt(num, 10)+" "+strconv.FormatInt(l.gen, 10), int(l.off), "the object refers to itself while being read")
	}
	f.busy[num] = true
	defer delete(f.busy, num)
	var e *entry
	var err error
	if l.off >= 0 {
		e, err = f.direct(num, l.gen, l.off)
	} else {
		e, err = f.compressed(num, l.stm, l.idx)
	}
	if err != nil {
		return nil, err
	}
	f.objs[num] = e
	return e, nil
}

// direct parses the indirect object the cross-reference puts at off: the header must name
// it, a stream's /Length must end at endstream, and endobj must follow.
func (f *file) direct(num, gen, off int64) (*entry, error) {
	what := "object " + strconv.FormatInt(num, 10) + " " + strconv.FormatInt(gen, 10)
	if off < 0 || off >= int64(f.size) {
		return nil, structErr(what, -1, "the cross-reference puts it at offset %d, outside the file (%d bytes)", off, f.size)
	}
	n, g, body, ok := f.headerAt(int(off))
	if !ok || n != num || g != gen {
		return nil, structErr(what, int(off), "the cross-reference offset does not point at \"%d %d obj\"", num, gen)
	}
	e := &entry{num: num, off: int(off)}
	v, q, err := f.parseFile(body, f.size, &e.spans)
	if err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			return nil, err
		}
		return nil, structErr(what, int(off), "the object cannot be parsed: %v", err)
	}
	e.v = v
	after := q
	if d, isDict := v.(dict); isDict {
		s, end, a, isStm, err := f.streamData(d, q, true, what)
		if err != nil {
			return nil, err
		}
		if isStm {
			e.hasStm, e.start, e.end, after = true, s, end, a
		}
	}
	p := f.parserAt(after, f.size)
	p.skipWS()
	if !p.atKeyword(p.pos, "endobj") {
		return nil, structErr(what, after+p.pos, "endobj missing after the object")
	}
	return e, nil
}

// compressed reads object num, the idx-th of object stream stm.
func (f *file) compressed(num, stm, idx int64) (*entry, error) {
	what := "object " + strconv.FormatInt(num, 10) + " 0"
	os, err := f.objStream(stm)
	if err != nil {
		return nil, err
	}
	if idx < 0 || idx >= int64(len(os.nums)) || os.nums[idx] != num {
		return nil, structErr(what, -1, "object stream %d does not hold it at index %d", stm, idx)
	}
	// Both bounded by objStream: 0 <= offs[idx] <= len(data)-first.
	start := os.first + os.offs[idx]
	v, _, err := f.parseAt(os.data, int(start), len(os.data), nil)
	if err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			return nil, err
		}
		return nil, structErr(what, -1, "the object in object stream %d cannot be parsed: %v", stm, err)
	}
	return &entry{num: num, v: v, off: -1}, nil
}

// objStream decodes object stream stm (once) and its header of N number/offset pairs.
func (f *file) objStream(stm int64) (*objStm, error) {
	if os, ok := f.stms[stm]; ok {
		return os, nil
	}
	what := "object stream " + strconv.FormatInt(stm, 10)
	l, ok := f.index[stm]
	if !ok || l.free || l.off < 0 {
		return nil, structErr(what, -1, "the object stream is not a direct object of the file")
	}
	e, err := f.lookup(stm)
	if err != nil {
		return nil, err
	}
	d, _ := e.v.(dict)
	if !e.hasStm || d["Type"] != name("ObjStm") {
		return nil, structErr(what, e.off, "the object is not a /Type /ObjStm stream")
	}
	os, err := f.parseObjStm(e)
	if err != nil {
		var le *LimitError
		var ue *UnsupportedError
		if errors.As(err, &le) || errors.As(err, &ue) {
			return nil, err
		}
		return nil, structErr(what, e.off, "%v", err)
	}
	f.stms[stm] = os
	return os, nil
}

// parseObjStm decodes an object stream and checks its header: N pairs of object number
// and offset, each offset inside the data after /First.
func (f *file) parseObjStm(e *entry) (*objStm, error) {
	d := e.v.(dict)
	data, err := f.decode(e)
	if err != nil {
		return nil, err
	}
	n, _ := d["N"].(int64)
	first, _ := d["First"].(int64)
	if n <= 0 || first <= 0 || first > int64(len(data)) {
		return nil, &SyntaxError{Offset: int64(e.off), Msg: "bad /N or /First"}
	}
	if n > first/2+1 {
		// Each pair takes at least four bytes ("1 0 "): more pairs cannot fit.
		return nil, &SyntaxError{Offset: int64(e.off), Msg: "/N " + strconv.FormatInt(n, 10) + " pairs do not fit before /First"}
	}
	os := &objStm{data: data, first: first}
	hp := parser{b: data[:first]}
	for k := int64(0); k < n; k++ {
		num, ok1 := hp.uint()
		off, ok2 := hp.uint()
		// off is checked against the room after first, without adding the two.
		if !ok1 || !ok2 || num > maxObjNum || off > int64(len(data))-first {
			return nil, &SyntaxError{Offset: int64(e.off), Msg: "bad object stream header pair " + strconv.FormatInt(k, 10)}
		}
		os.nums = append(os.nums, num)
		os.offs = append(os.offs, off)
	}
	if err := f.charge(int(first)); err != nil {
		return nil, err
	}
	return os, nil
}

// decode returns the decoded data of a stream entry, inflating at most MaxInflate bytes
// for this stream and 4×MaxInflate over the whole file.
func (f *file) decode(e *entry) ([]byte, error) {
	d := e.v.(dict)
	filt, err := f.resolve(d["Filter"])
	if err != nil {
		return nil, err
	}
	var filters []any
	switch x := filt.(type) {
	case nil:
	case name:
		filters = []any{x}
	case array:
		filters = x
	default:
		return nil, &SyntaxError{Offset: int64(e.off), Msg: "bad /Filter"}
	}
	if len(filters) == 0 {
		if n := int64(e.end - e.start); n > f.lim.MaxInflate {
			return nil, &LimitError{What: "stream size", Limit: f.lim.MaxInflate}
		}
		raw := f.window(e.start, e.end-e.start)
		if f.ioErr != nil {
			return nil, f.ioErr
		}
		return raw, nil
	}
	if len(filters) > 1 {
		return nil, &UnsupportedError{What: "filter chain of " + strconv.Itoa(len(filters))}
	}
	if fl, _ := filters[0].(name); fl != "FlateDecode" && fl != "Fl" {
		return nil, &UnsupportedError{What: "filter " + string(fl)}
	}
	var pred predictor
	parms, err := f.resolve(d["DecodeParms"])
	if err != nil {
		return nil, err
	}
	if a, ok := parms.(array); ok && len(a) == 1 {
		if parms, err = f.resolve(a[0]); err != nil {
			return nil, err
		}
	}
	if pd, ok := parms.(dict); ok {
		if pred, err = predictorOf(pd); err != nil {
			return nil, err
		}
	}
	budget := f.lim.MaxInflate
	if rest := 4*f.lim.MaxInflate - f.inflated; rest < budget {
		budget = rest
	}
	raw := func() io.Reader {
		return trap{io.NewSectionReader(f.ra, int64(e.start), int64(e.end-e.start)), f}
	}
	out, err := inflate(raw, e.end-e.start, budget)
	f.inflated += int64(len(out))
	if f.ioErr != nil {
		return nil, f.ioErr
	}
	if err != nil {
		return nil, err
	}
	return pred.undo(out)
}

// inflater is what inflate needs besides the output: a read buffer (flate reads through an
// io.ByteReader) and the zlib and raw-deflate decompressors with their 32 KiB windows. They
// are reset for every stream instead of allocated (≈ 45 KiB per stream: most of the garbage
// of inspecting a batch of PDFs, issue 13), and kept in a pool between documents.
type inflater struct {
	br *bufio.Reader
	zr io.ReadCloser // zlib.Resetter once made
	fr io.ReadCloser // flate.Resetter once made
}

var inflaters = sync.Pool{New: func() any { return &inflater{br: bufio.NewReaderSize(nil, 4<<10)} }}

// inflate decompresses zlib (or, failing the header, raw deflate) data up to max bytes,
// read from raw (called again to read from the start), of size bytes.
func inflate(raw func() io.Reader, size int, max int64) ([]byte, error) {
	in := inflaters.Get().(*inflater)
	defer func() {
		in.br.Reset(nil) // keeps no reference to the file between streams
		inflaters.Put(in)
	}()
	in.br.Reset(raw())
	var err error
	if in.zr == nil {
		in.zr, err = zlib.NewReader(in.br)
	} else {
		err = in.zr.(zlib.Resetter).Reset(in.br, nil)
	}
	r := in.zr
	if err != nil {
		in.br.Reset(raw())
		if in.fr == nil {
			in.fr = flate.NewReader(in.br)
		} else if err := in.fr.(flate.Resetter).Reset(in.br, nil); err != nil {
			return nil, &SyntaxError{Offset: -1, Msg: "corrupt Flate stream: " + err.Error()}
		}
		r = in.fr
	}
	var buf bytes.Buffer
	if n := int64(size) * 4; n < max && n > 0 {
		buf.Grow(int(n))
	}
	n, err := io.Copy(&buf, io.LimitReader(r, max+1))
	if n > max {
		return nil, &LimitError{What: "inflated stream size", Limit: max}
	}
	if err != nil {
		return nil, &SyntaxError{Offset: -1, Msg: "corrupt Flate stream: " + err.Error()}
	}
	return buf.Bytes(), nil
}

// catalog returns the document catalog.
func (f *file) catalog() (dict, error) {
	if f.repaired == "" {
		v, err := f.resolve(f.trailer["Root"])
		if err != nil {
			return nil, err
		}
		d, ok := v.(dict)
		if !ok {
			return nil, structErr("trailer", -1, "/Root does not resolve to the document catalog")
		}
		pv, err := f.resolve(d["Pages"])
		if err != nil {
			return nil, err
		}
		if pd, ok := pv.(dict); !ok || pd["Type"] != name("Pages") {
			return nil, structErr("catalog", -1, "the document catalog has no page tree (/Pages)")
		}
		return d, nil
	}
	return f.repairCatalog()
}

// text decodes a PDF text string (UTF-16BE with BOM, UTF-8 with BOM, else PDFDocEncoding
// approximated as Latin-1).
func text(b []byte) string {
	if len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff {
		u := make([]uint16, 0, len(b)/2)
		for i := 2; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		}
		return string(utf16.Decode(u))
	}
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		return string(b[3:])
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// directEntries returns the direct objects in file order.
func (f *file) directEntries() ([]*entry, error) {
	var es []*entry
	if f.repaired != "" {
		for _, e := range f.objs {
			if e.off >= 0 {
				es = append(es, e)
			}
		}
	} else {
		for num, l := range f.index {
			if l.free || l.off < 0 {
				continue
			}
			e, err := f.lookup(num)
			if err != nil {
				return nil, err
			}
			if e != nil {
				es = append(es, e)
			}
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].off < es[j].off })
	return es, nil
}
