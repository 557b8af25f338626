package pdfcda

import (
	"bytes"
	"errors"
	"sort"
	"strconv"
)

// scan is the repair mode: it indexes every "N G obj" in file order (a later definition of
// the same object number wins, as incremental updates intend), without the cross-reference
// sections, and collects the trailers (classic and cross-reference stream dictionaries)
// that name a /Root.
//
// The scan is linear: each object is parsed within the bytes up to the next object header
// (so a header whose object never ends costs only its own bytes, not the rest of the file),
// stream data is skipped, and every byte parsed is charged to Limits.MaxWork.
func (f *file) scan() error {
	b := f.b
	at, hdr, num := f.nextHeader(0)
	for at >= 0 {
		nat, nhdr, nnum := f.nextHeader(at + 3)
		end := len(b)
		if nat >= 0 {
			end = nhdr
		}
		e := &entry{num: num, off: hdr}
		v, q, err := f.parseAt(b, at+3, end, &e.spans)
		if err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return err
			}
			f.damaged++
			at, hdr, num = nat, nhdr, nnum
			continue
		}
		e.v = v
		if d, ok := v.(dict); ok {
			s, send, after, isStm, err := f.streamData(d, q, false, "")
			if err != nil {
				return err
			}
			if isStm {
				e.hasStm, e.start, e.end = true, s, send
				if d["Type"] == name("XRef") && d["Root"] != nil {
					f.roots = append(f.roots, rootCandidate{hdr, d["Root"]})
					f.crypt = f.crypt || d["Encrypt"] != nil
				}
				if after > end {
					// The stream ran past the next header: that one was inside its data.
					nat, nhdr, nnum = f.nextHeader(after)
				}
			}
		}
		if _, seen := f.objs[num]; !seen && len(f.objs) >= f.lim.MaxObjects {
			return &LimitError{What: "object count", Limit: int64(f.lim.MaxObjects)}
		}
		f.objs[num] = e
		at, hdr, num = nat, nhdr, nnum
	}
	// Classic trailers, each parsed up to the next "trailer" keyword.
	for pos := 0; pos < len(b); {
		i := bytes.Index(b[pos:], []byte("trailer"))
		if i < 0 {
			break
		}
		at := pos + i
		end := len(b)
		if j := bytes.Index(b[at+len("trailer"):], []byte("trailer")); j >= 0 {
			end = at + len("trailer") + j
		}
		p := parser{b: b[:end], pos: at + len("trailer")}
		p.skipWS()
		if bytes.HasPrefix(b[p.pos:end], []byte("<<")) {
			v, _, err := f.parseAt(b, p.pos, end, nil)
			var le *LimitError
			if errors.As(err, &le) {
				return err
			}
			if d, ok := v.(dict); ok && err == nil && d["Root"] != nil {
				f.roots = append(f.roots, rootCandidate{at, d["Root"]})
				f.crypt = f.crypt || d["Encrypt"] != nil
			}
		}
		pos = at + len("trailer")
	}
	sort.SliceStable(f.roots, func(i, j int) bool { return f.roots[i].off < f.roots[j].off })
	// Revision boundaries, for UpdatesAfter: every startxref keyword.
	for pos := 0; ; {
		i := bytes.Index(b[pos:], []byte("startxref"))
		if i < 0 {
			break
		}
		f.eofs = append(f.eofs, pos+i)
		pos += i + len("startxref")
	}
	return nil
}

// nextHeader finds the next "N G obj" at or after from: the offset of "obj", of the header,
// and the object number; at is -1 when there is none.
func (f *file) nextHeader(from int) (at, hdr int, num int64) {
	b := f.b
	for from < len(b) {
		i := bytes.Index(b[from:], []byte("obj"))
		if i < 0 {
			return -1, -1, 0
		}
		at := from + i
		if n, h, ok := objHeader(b, at); ok {
			return at, h, n
		}
		from = at + 3
	}
	return -1, -1, 0
}

// objHeader checks that "obj" at 'at' is preceded by "num gen " at a token boundary. The
// look-back only crosses white space and digits, which cannot hold another "obj": over a
// whole scan it reads each byte a bounded number of times.
func objHeader(b []byte, at int) (num int64, start int, ok bool) {
	if at+3 < len(b) && isRegular(b[at+3]) {
		return 0, 0, false
	}
	i := at - 1
	ws := func() bool {
		n := 0
		for i >= 0 && isWS(b[i]) {
			i--
			n++
		}
		return n > 0
	}
	digits := func() (int, int) {
		end := i + 1
		for i >= 0 && b[i] >= '0' && b[i] <= '9' {
			i--
		}
		return i + 1, end
	}
	if !ws() {
		return 0, 0, false
	}
	gs, ge := digits()
	if gs == ge || ge-gs > 5 {
		return 0, 0, false
	}
	if !ws() {
		return 0, 0, false
	}
	ns, ne := digits()
	if ns == ne || ne-ns > 10 {
		return 0, 0, false
	}
	if i >= 0 && isRegular(b[i]) {
		return 0, 0, false
	}
	n, err := strconv.ParseInt(string(b[ns:ne]), 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return n, ns, true
}

// loadObjStms (repair mode) indexes the objects compressed in object streams that have no
// direct definition.
func (f *file) loadObjStms() error {
	var stms []*entry
	for _, e := range f.objs {
		if d, ok := e.v.(dict); ok && e.hasStm && d["Type"] == name("ObjStm") {
			stms = append(stms, e)
		}
	}
	sort.Slice(stms, func(i, j int) bool { return stms[i].off < stms[j].off })
	for _, e := range stms {
		os, err := f.parseObjStm(e)
		if err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return err
			}
			f.damaged++
			continue
		}
		for k, num := range os.nums {
			if _, seen := f.objs[num]; seen {
				continue
			}
			if len(f.objs) >= f.lim.MaxObjects {
				return &LimitError{What: "object count", Limit: int64(f.lim.MaxObjects)}
			}
			v, _, err := f.parseAt(os.data, int(os.first+os.offs[k]), len(os.data), nil)
			if err != nil {
				var le *LimitError
				if errors.As(err, &le) {
					return err
				}
				f.damaged++
				continue
			}
			f.objs[num] = &entry{num: num, v: v, off: -1}
		}
	}
	return nil
}

// repairCatalog finds the document catalog: the Root of the last trailer (or
// cross-reference stream) that has one, else the last object typed /Catalog.
func (f *file) repairCatalog() (dict, error) {
	for i := len(f.roots) - 1; i >= 0; i-- {
		v, err := f.resolve(f.roots[i].root)
		if err != nil {
			return nil, err
		}
		if d, ok := v.(dict); ok {
			return d, nil
		}
	}
	var best *entry
	for _, e := range f.objs {
		if d, ok := e.v.(dict); ok && d["Type"] == name("Catalog") && (best == nil || e.off > best.off) {
			best = e
		}
	}
	if best == nil {
		return nil, &SyntaxError{Offset: -1, Msg: "no document catalog"}
	}
	return best.v.(dict), nil
}
