package pdfcda

import (
	"errors"
	"sort"
)

// maxSections caps the cross-reference sections followed through /Prev and /XRefStm.
const maxSections = 4096

// readXRef reads the file as a conforming reader does: the offset after the last
// startxref (which %%EOF must follow), the cross-reference section there and those its
// /XRefStm and /Prev entries name (a newer section's entry wins, a free entry deletes), the
// newest trailer. Then every object the sections list is read where they put it, so that a
// broken structure is found now and not when some object happens to be needed.
func (f *file) readXRef() error {
	size := int64(f.size)
	sx := f.lastIndex("startxref")
	if sx < 0 {
		return structErr("startxref", -1, "no startxref keyword: the file is truncated or was never finished")
	}
	p := f.parserAt(sx+len("startxref"), f.size)
	off, ok := p.uint()
	if !ok {
		return structErr("startxref", sx, "startxref is not followed by an offset")
	}
	p.skipSpace()
	if !p.hasPrefix(p.pos, "%%EOF") {
		return structErr("%%EOF", p.base+p.pos, "no %%%%EOF marker after startxref: the file is truncated")
	}
	if off >= size {
		return structErr("startxref", sx, "startxref points at offset %d, beyond the end of the file (%d bytes)", off, size)
	}
	seen := map[int64]bool{}
	type pending struct {
		off      int64
		revision bool // reached from startxref or /Prev (not /XRefStm)
	}
	queue := []pending{{off, true}}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if seen[s.off] {
			return structErr("xref", int(s.off), "the cross-reference sections loop (/Prev or /XRefStm points back)")
		}
		if len(seen) >= maxSections {
			return &LimitError{What: "cross-reference sections", Limit: maxSections}
		}
		seen[s.off] = true
		trailer, stream, err := f.section(int(s.off), s.revision)
		if err != nil {
			return err
		}
		if f.trailer == nil {
			f.trailer, f.xrefStream = trailer, stream
		}
		var next []pending
		if s.revision {
			f.revisions = append(f.revisions, int(s.off))
			if x, ok := trailer["XRefStm"]; ok {
				xo, ok := x.(int64)
				if !ok || xo < 0 || xo >= size {
					return structErr("trailer", int(s.off), "/XRefStm is not an offset inside the file")
				}
				next = append(next, pending{xo, false})
			}
			if pv, ok := trailer["Prev"]; ok {
				po, ok := pv.(int64)
				if !ok || po < 0 || po >= size {
					return structErr("trailer", int(s.off), "/Prev is not an offset inside the file")
				}
				next = append(next, pending{po, true})
			}
		}
		queue = append(next, queue...)
	}
	if f.trailer["Root"] == nil {
		return structErr("trailer", f.revisions[0], "the trailer has no /Root (document catalog)")
	}
	f.crypt = f.trailer["Encrypt"] != nil
	if f.crypt {
		return nil // objects cannot be read; Read reports the file as unsupported
	}
	// Read every listed object, in file order (so the first error is the first in the file).
	nums := make([]int64, 0, len(f.index))
	for num, l := range f.index {
		if !l.free {
			nums = append(nums, num)
		}
	}
	sort.Slice(nums, func(i, j int) bool {
		a, c := f.index[nums[i]], f.index[nums[j]]
		if a.off != c.off {
			return a.off < c.off
		}
		if a.stm != c.stm {
			return a.stm < c.stm
		}
		if a.idx != c.idx {
			return a.idx < c.idx
		}
		return nums[i] < nums[j] // objects listed at one offset: the same order every time
	})
	for _, num := range nums {
		if _, err := f.lookup(num); err != nil {
			return err
		}
	}
	if _, err := f.catalog(); err != nil {
		return err
	}
	return nil
}

// setLoc records where a section puts object num, unless a newer section already did.
func (f *file) setLoc(num int64, l loc) error {
	if _, ok := f.index[num]; ok {
		return nil
	}
	if len(f.index) >= f.lim.MaxObjects {
		return &LimitError{What: "object count", Limit: int64(f.lim.MaxObjects)}
	}
	f.index[num] = l
	return nil
}

// section reads the cross-reference section at off, a classic table with its trailer or a
// cross-reference stream, and returns the trailer dictionary.
func (f *file) section(off int, revision bool) (dict, bool, error) {
	if f.parserAt(off, f.size).atKeyword(0, "xref") {
		if !revision {
			return nil, false, structErr("xref", off, "/XRefStm points at a cross-reference table, not a stream")
		}
		d, err := f.table(off)
		return d, false, err
	}
	num, gen, _, ok := f.headerAt(off)
	if !ok {
		return nil, false, structErr("xref", off, "no cross-reference table (\"xref\") or stream (\"N G obj\") at the offset given by startxref, /Prev or /XRefStm")
	}
	d, err := f.xrefStreamAt(num, gen, off)
	return d, true, err
}

// table reads a classic cross-reference table at off and the trailer after it.
func (f *file) table(off int) (dict, error) {
	p := f.parserAt(off, f.size)
	p.pos = len("xref")
	for {
		p.skipWS()
		if p.atKeyword(p.pos, "trailer") {
			p.pos += len("trailer")
			break
		}
		at := off + p.pos
		start, ok1 := p.uint()
		count, ok2 := p.uint()
		if !ok1 || !ok2 {
			return nil, structErr("xref", at, "bad cross-reference subsection header (want \"first count\", or trailer)")
		}
		if start > maxObjNum || count > int64(f.lim.MaxObjects) {
			return nil, &LimitError{What: "cross-reference subsection size", Limit: int64(f.lim.MaxObjects)}
		}
		for i := range count {
			at := off + p.pos
			o, ok1 := p.uint()
			g, ok2 := p.uint()
			p.skipWS()
			typ := p.keyword()
			if !ok1 || !ok2 || len(typ) != 1 || (typ[0] != 'n' && typ[0] != 'f') {
				return nil, structErr("xref", at, "bad cross-reference entry for object %d (want \"oooooooooo ggggg n|f\")", start+i)
			}
			if err := f.setLoc(start+i, loc{off: o, gen: g, free: typ[0] == 'f'}); err != nil {
				return nil, err
			}
		}
	}
	if err := f.charge(p.pos); err != nil {
		return nil, err
	}
	p.skipWS()
	at := off + p.pos
	if !p.hasPrefix(p.pos, "<<") {
		return nil, structErr("trailer", at, "the trailer keyword is not followed by a dictionary")
	}
	v, _, err := f.parseFile(at, f.size, nil)
	if err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			return nil, err
		}
		return nil, structErr("trailer", at, "the trailer dictionary cannot be parsed: %v", err)
	}
	return v.(dict), nil
}

// xrefStreamAt reads a cross-reference stream (PDF 1.5) at off: /W field widths, /Index
// subsections (default [0 /Size]), entries of type 0 (free), 1 (offset) and 2 (in an
// object stream).
func (f *file) xrefStreamAt(num, gen int64, off int) (dict, error) {
	e, err := f.direct(num, gen, int64(off))
	if err != nil {
		return nil, err
	}
	d, _ := e.v.(dict)
	if !e.hasStm || d["Type"] != name("XRef") {
		return nil, structErr("xref", off, "object %d at the cross-reference offset is not a /Type /XRef stream", num)
	}
	data, err := f.decode(e)
	if err != nil {
		var le *LimitError
		var ue *UnsupportedError
		if errors.As(err, &le) || errors.As(err, &ue) {
			return nil, err
		}
		return nil, structErr("xref", off, "the cross-reference stream cannot be decoded: %v", err)
	}
	wv, _ := d["W"].(array)
	var w [3]int
	for i := range w {
		if len(wv) != 3 {
			return nil, structErr("xref", off, "/W is not an array of three field widths")
		}
		n, ok := wv[i].(int64)
		if !ok || n < 0 || n > 8 {
			return nil, structErr("xref", off, "/W field width %v is not 0-8 bytes", wv[i])
		}
		w[i] = int(n)
	}
	row := w[0] + w[1] + w[2]
	if row == 0 {
		return nil, structErr("xref", off, "/W gives rows of zero bytes")
	}
	size, ok := d["Size"].(int64)
	if !ok || size < 0 || size > maxObjNum {
		return nil, structErr("xref", off, "/Size is missing or not a count")
	}
	index := array{int64(0), size}
	if iv, ok := d["Index"].(array); ok {
		index = iv
	}
	if len(index)%2 != 0 {
		return nil, structErr("xref", off, "/Index has an odd number of entries")
	}
	field := func(bs []byte) int64 {
		var v uint64
		for _, c := range bs {
			v = v<<8 | uint64(c)
		}
		if v > 1<<62 {
			return -1 // beyond any offset or object number: rejected by the callers
		}
		return int64(v)
	}
	pos := 0
	for k := 0; k < len(index); k += 2 {
		start, ok1 := index[k].(int64)
		count, ok2 := index[k+1].(int64)
		if !ok1 || !ok2 || start < 0 || count < 0 || start > maxObjNum {
			return nil, structErr("xref", off, "bad /Index subsection %v %v", index[k], index[k+1])
		}
		if count > int64((len(data)-pos)/row) {
			return nil, structErr("xref", off, "/Index wants %d entries from object %d, the stream holds only %d more", count, start, (len(data)-pos)/row)
		}
		for i := range count {
			r := data[pos : pos+row]
			pos += row
			typ := int64(1)
			if w[0] > 0 {
				typ = field(r[:w[0]])
			}
			f2, f3 := field(r[w[0]:w[0]+w[1]]), field(r[w[0]+w[1]:])
			var l loc
			switch typ {
			case 0:
				l = loc{free: true}
			case 1:
				if f2 < 0 || f3 < 0 {
					return nil, structErr("xref", off, "entry for object %d has an offset beyond any file", start+i)
				}
				l = loc{off: f2, gen: f3}
			case 2:
				if f2 < 0 || f3 < 0 || f2 > maxObjNum {
					return nil, structErr("xref", off, "entry for object %d names an impossible object stream", start+i)
				}
				l = loc{off: -1, stm: f2, idx: f3}
			default:
				continue // reserved types are references to null
			}
			if err := f.setLoc(start+i, l); err != nil {
				return nil, err
			}
		}
	}
	if err := f.charge(len(data)); err != nil {
		return nil, err
	}
	return d, nil
}
