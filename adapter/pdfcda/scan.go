package pdfcda

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"io"
	"sort"
	"strconv"
	"unicode/utf16"
)

// entry is one indexed object.
type entry struct {
	v      any
	off    int  // offset of the object header, -1 inside an object stream
	hasStm bool // v is a stream dictionary and data[start:end] its raw data
	start  int
	end    int
	data   []byte // the buffer start/end refer to
}

// file is a scanned PDF.
type file struct {
	b        []byte
	lim      Limits
	objs     map[int64]*entry
	roots    []rootCandidate
	damaged  int
	crypt    bool // a trailer has /Encrypt
	stmsDone bool
	inflated int64
}

type rootCandidate struct {
	off  int
	root any
}

// scan indexes every "N G obj" in the file, in file order (a later definition of the same
// object number wins, as with incremental updates), without using the cross-reference
// table: this is the recovery strategy of mainstream readers and works the same on
// classic tables, cross-reference streams and damaged files.
func scan(b []byte, lim Limits) (*file, error) {
	f := &file{b: b, lim: lim, objs: map[int64]*entry{}}
	pos := 0
	for pos < len(b) {
		i := bytes.Index(b[pos:], []byte("obj"))
		if i < 0 {
			break
		}
		at := pos + i
		num, hdr, ok := objHeader(b, at)
		if !ok {
			pos = at + 3
			continue
		}
		p := parser{b: b, pos: at + 3, maxDepth: lim.MaxDepth}
		v, err := p.object()
		if err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return nil, err
			}
			f.damaged++
			pos = at + 3
			continue
		}
		e := &entry{v: v, off: hdr, data: b}
		p.skipWS()
		if d, ok := v.(dict); ok && bytes.HasPrefix(b[p.pos:], []byte("stream")) {
			s := p.pos + len("stream")
			if s < len(b) && b[s] == '\r' {
				s++
			}
			if s < len(b) && b[s] == '\n' {
				s++
			}
			end := -1
			if l, ok := d["Length"].(int64); ok && l >= 0 && l <= int64(len(b)-s) {
				q := parser{b: b, pos: s + int(l)}
				q.skipWS()
				if bytes.HasPrefix(b[q.pos:], []byte("endstream")) {
					end = s + int(l)
				}
			}
			if end < 0 {
				k := bytes.Index(b[s:], []byte("endstream"))
				if k < 0 {
					end = len(b)
				} else {
					end = s + k
					if end > s && b[end-1] == '\n' {
						end--
					}
					if end > s && b[end-1] == '\r' {
						end--
					}
				}
			}
			e.hasStm, e.start, e.end = true, s, end
			pos = end
			if d["Type"] == name("XRef") && d["Root"] != nil {
				f.roots = append(f.roots, rootCandidate{hdr, d["Root"]})
				f.crypt = f.crypt || d["Encrypt"] != nil
			}
		} else {
			pos = p.pos
		}
		if _, seen := f.objs[num]; !seen && len(f.objs) >= lim.MaxObjects {
			return nil, &LimitError{What: "object count", Limit: int64(lim.MaxObjects)}
		}
		f.objs[num] = e
	}
	// Classic trailers.
	for pos = 0; pos < len(b); {
		i := bytes.Index(b[pos:], []byte("trailer"))
		if i < 0 {
			break
		}
		p := parser{b: b, pos: pos + i + len("trailer"), maxDepth: lim.MaxDepth}
		p.skipWS()
		if bytes.HasPrefix(b[p.pos:], []byte("<<")) {
			if d, err := p.dict(); err == nil && d["Root"] != nil {
				f.roots = append(f.roots, rootCandidate{pos + i, d["Root"]})
				f.crypt = f.crypt || d["Encrypt"] != nil
			}
		}
		pos += i + len("trailer")
	}
	sort.SliceStable(f.roots, func(i, j int) bool { return f.roots[i].off < f.roots[j].off })
	return f, nil
}

// objHeader checks that "obj" at 'at' is preceded by "num gen " at a token boundary.
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

// resolve follows references (a bounded chain), loading object streams when needed.
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

func (f *file) lookup(num int64) (*entry, error) {
	if e, ok := f.objs[num]; ok {
		return e, nil
	}
	if !f.stmsDone {
		f.stmsDone = true
		if err := f.loadObjStms(); err != nil {
			return nil, err
		}
		return f.objs[num], nil
	}
	return nil, nil
}

// loadObjStms indexes the objects compressed in object streams (PDF 1.5) that have no
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
		d := e.v.(dict)
		data, err := f.decode(e)
		if err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return err
			}
			f.damaged++
			continue
		}
		n, _ := d["N"].(int64)
		first, _ := d["First"].(int64)
		if n <= 0 || first <= 0 || first > int64(len(data)) {
			f.damaged++
			continue
		}
		hp := parser{b: data[:first], maxDepth: f.lim.MaxDepth}
		for k := int64(0); k < n; k++ {
			a, err1 := hp.object()
			o, err2 := hp.object()
			num, ok1 := a.(int64)
			off, ok2 := o.(int64)
			if err1 != nil || err2 != nil || !ok1 || !ok2 || off < 0 || first+off > int64(len(data)) {
				f.damaged++
				break
			}
			if _, seen := f.objs[num]; seen {
				continue
			}
			if len(f.objs) >= f.lim.MaxObjects {
				return &LimitError{What: "object count", Limit: int64(f.lim.MaxObjects)}
			}
			op := parser{b: data, pos: int(first + off), maxDepth: f.lim.MaxDepth}
			v, err := op.object()
			if err != nil {
				var le *LimitError
				if errors.As(err, &le) {
					return err
				}
				f.damaged++
				continue
			}
			f.objs[num] = &entry{v: v, off: -1, data: data}
		}
	}
	return nil
}

// decode returns the decoded data of a stream entry, inflating at most MaxInflate bytes
// for this stream and 4×MaxInflate over the whole file.
func (f *file) decode(e *entry) ([]byte, error) {
	d := e.v.(dict)
	raw := e.data[e.start:e.end]
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
		return raw, nil
	}
	if len(filters) > 1 {
		return nil, &UnsupportedError{What: "filter chain of " + strconv.Itoa(len(filters))}
	}
	if fl, _ := filters[0].(name); fl != "FlateDecode" && fl != "Fl" {
		return nil, &UnsupportedError{What: "filter " + string(fl)}
	}
	if parms, _ := f.resolve(d["DecodeParms"]); parms != nil {
		if pd, ok := parms.(dict); ok {
			if pr, _ := pd["Predictor"].(int64); pr > 1 {
				return nil, &UnsupportedError{What: "Flate predictor " + strconv.FormatInt(pr, 10)}
			}
		}
	}
	budget := f.lim.MaxInflate
	if rest := 4*f.lim.MaxInflate - f.inflated; rest < budget {
		budget = rest
	}
	out, err := inflate(raw, budget)
	f.inflated += int64(len(out))
	if err != nil {
		return nil, err
	}
	return out, nil
}

// inflate decompresses zlib (or, failing the header, raw deflate) data up to max bytes.
func inflate(raw []byte, max int64) ([]byte, error) {
	var r io.ReadCloser
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err == nil {
		r = zr
	} else {
		r = flate.NewReader(bytes.NewReader(raw))
	}
	defer r.Close()
	var buf bytes.Buffer
	if n := int64(len(raw)) * 4; n < max && n > 0 {
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

// catalog finds the document catalog: the Root of the last trailer (or cross-reference
// stream) that has one, else the last object typed /Catalog.
func (f *file) catalog() (dict, error) {
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

// attachments walks the EmbeddedFiles name tree (its root and at most one level of Kids)
// and returns the attachment names and the decoded cda.xml.
func (f *file) attachments() ([]string, []byte, error) {
	cat, err := f.catalog()
	if err != nil {
		return nil, nil, err
	}
	nv, err := f.resolve(cat["Names"])
	if err != nil {
		return nil, nil, err
	}
	nd, _ := nv.(dict)
	tv, err := f.resolve(nd["EmbeddedFiles"])
	if err != nil {
		return nil, nil, err
	}
	root, _ := tv.(dict)
	if root == nil {
		return nil, nil, nil
	}
	nodes := []dict{root}
	if kv, err := f.resolve(root["Kids"]); err != nil {
		return nil, nil, err
	} else if kids, ok := kv.(array); ok {
		if len(kids) > 10000 {
			return nil, nil, &LimitError{What: "name tree kids", Limit: 10000}
		}
		for _, k := range kids {
			kd, err := f.resolve(k)
			if err != nil {
				return nil, nil, err
			}
			if d, ok := kd.(dict); ok {
				nodes = append(nodes, d)
			}
		}
	}
	var names []string
	var cda []byte
	for _, n := range nodes {
		av, err := f.resolve(n["Names"])
		if err != nil {
			return nil, nil, err
		}
		arr, _ := av.(array)
		for i := 0; i+1 < len(arr); i += 2 {
			key, _ := arr[i].([]byte)
			spec, err := f.resolve(arr[i+1])
			if err != nil {
				return nil, nil, err
			}
			sd, _ := spec.(dict)
			fname := text(key)
			if uf, ok := sd["UF"].([]byte); ok && len(uf) > 0 {
				fname = text(uf)
			} else if fv, ok := sd["F"].([]byte); ok && len(fv) > 0 && fname == "" {
				fname = text(fv)
			}
			names = append(names, fname)
			if cda != nil || (fname != AttachmentName && text(key) != AttachmentName) {
				continue
			}
			efv, err := f.resolve(sd["EF"])
			if err != nil {
				return nil, nil, err
			}
			ef, _ := efv.(dict)
			sref := ef["F"]
			if sref == nil {
				sref = ef["UF"]
			}
			r, ok := sref.(ref)
			if !ok {
				continue
			}
			e, err := f.lookup(r.num)
			if err != nil {
				return nil, nil, err
			}
			if e == nil || !e.hasStm {
				continue
			}
			data, err := f.decode(e)
			if err != nil {
				return nil, nil, err
			}
			cda = data
			if cda == nil {
				cda = []byte{}
			}
		}
	}
	return names, cda, nil
}

// signatures lists the dictionaries holding /ByteRange and /Contents in the file's direct
// objects (a signature dictionary cannot live in an object stream).
func (f *file) signatures() []Signature {
	var es []*entry
	for _, e := range f.objs {
		if e.off >= 0 {
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].off < es[j].off })
	var out []Signature
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 8 {
			return
		}
		switch x := v.(type) {
		case dict:
			br, ok1 := x["ByteRange"].(array)
			ct, ok2 := x["Contents"].([]byte)
			if ok1 && ok2 {
				out = append(out, f.signature(x, br, ct))
				return
			}
			for _, c := range x {
				walk(c, depth+1)
			}
		case array:
			for _, c := range x {
				walk(c, depth+1)
			}
		}
	}
	for _, e := range es {
		walk(e.v, 0)
	}
	return out
}

func (f *file) signature(d dict, br array, contents []byte) Signature {
	s := Signature{ContentsSize: len(contents)}
	if t, ok := d["Type"].(name); ok {
		s.Type = string(t)
	}
	if sf, ok := d["SubFilter"].(name); ok {
		s.SubFilter = string(sf)
	}
	valid := len(br) == 4
	for _, v := range br {
		n, ok := v.(int64)
		if !ok || n < 0 {
			valid = false
			n = -1
		}
		s.ByteRange = append(s.ByteRange, n)
	}
	if valid {
		r := s.ByteRange
		s.CoversWholeFile = r[0] == 0 && r[1] > 0 && r[2] > r[1] && r[2]+r[3] == int64(len(f.b))
	}
	return s
}
