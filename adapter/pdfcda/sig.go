package pdfcda

// signatures lists the dictionaries holding /ByteRange and /Contents in the file's direct
// objects (a signature dictionary cannot live in an object stream: its /Contents must be
// excluded from the signed bytes at a known offset).
func (f *file) signatures() ([]Signature, error) {
	es, err := f.directEntries()
	if err != nil {
		return nil, err
	}
	var out []Signature
	var walk func(e *entry, v any, depth int)
	walk = func(e *entry, v any, depth int) {
		if depth > 8 {
			return
		}
		switch x := v.(type) {
		case dict:
			br, ok1 := x["ByteRange"].(array)
			ct, ok2 := x["Contents"].([]byte)
			if ok1 && ok2 {
				out = append(out, f.signature(e, x, br, ct))
				return
			}
			for _, c := range x {
				walk(e, c, depth+1)
			}
		case array:
			for _, c := range x {
				walk(e, c, depth+1)
			}
		}
	}
	for _, e := range es {
		walk(e, e.v, 0)
	}
	return out, nil
}

func (f *file) signature(e *entry, d dict, br array, contents []byte) Signature {
	s := Signature{Object: e.num, ContentsSize: len(contents), Contents: contents}
	str := func(k name) string {
		if b, ok := d[k].([]byte); ok {
			return text(b)
		}
		return ""
	}
	nm := func(k name) string {
		if n, ok := d[k].(name); ok {
			return string(n)
		}
		return ""
	}
	s.Type, s.Filter, s.SubFilter = nm("Type"), nm("Filter"), nm("SubFilter")
	s.Name, s.Reason, s.Location, s.M = str("Name"), str("Reason"), str("Location"), str("M")
	valid := len(br) == 4
	for _, v := range br {
		n, ok := v.(int64)
		if !ok || n < 0 {
			valid = false
			n = -1
		}
		s.ByteRange = append(s.ByteRange, n)
	}
	if !valid {
		return s
	}
	// Where the /Contents string of this very dictionary is: the span whose value is the
	// same slice (hex strings are decoded into their own buffer, literal ones alias it).
	gapStart, gapEnd := -1, -1
	for _, sp := range e.spans {
		if len(sp.val) == len(contents) && (len(contents) == 0 || &sp.val[0] == &contents[0]) {
			gapStart, gapEnd = sp.start, sp.end
			break
		}
	}
	r, size := s.ByteRange, int64(f.size)
	s.CoversWholeFile = r[0] == 0 && gapStart >= 0 && r[1] == int64(gapStart) && r[2] == int64(gapEnd) &&
		r[2] <= size && r[3] == size-r[2]
	// Revisions whose cross-reference section starts after the signed range ends.
	if r[2] <= size && r[3] <= size-r[2] {
		signedEnd := int(r[2] + r[3])
		marks := f.revisions
		if f.repaired != "" {
			marks = f.eofs
		}
		for _, off := range marks {
			if off >= signedEnd {
				s.UpdatesAfter++
			}
		}
	}
	return s
}
