package pdfcda

import "strconv"

// Name-tree bounds: depth of Kids, and nodes visited over the whole tree.
const (
	maxTreeDepth = 32
	maxTreeNodes = 100_000
)

// attachments walks the EmbeddedFiles name tree (every Kids level, loops refused) and
// returns its files, the index of cda.xml among them (-1 when absent) and the decoded
// cda.xml. Two file specifications named cda.xml are an *AttachmentError.
func (f *file) attachments() ([]EmbeddedFile, int, []byte, error) {
	cat, err := f.catalog()
	if err != nil {
		return nil, -1, nil, err
	}
	inAF := map[int64]bool{}
	if av, err := f.resolve(cat["AF"]); err != nil {
		return nil, -1, nil, err
	} else if a, ok := av.(array); ok {
		for _, x := range a {
			if r, ok := x.(ref); ok {
				inAF[r.num] = true
			}
		}
	}
	nv, err := f.resolve(cat["Names"])
	if err != nil {
		return nil, -1, nil, err
	}
	nd, _ := nv.(dict)
	var files []EmbeddedFile
	var streams []any // the /EF stream reference of each file
	visited := map[int64]bool{}
	nodes := 0
	var walk func(v any, depth int) error
	walk = func(v any, depth int) error {
		if r, ok := v.(ref); ok {
			if visited[r.num] {
				return &SyntaxError{Offset: -1, Msg: "the EmbeddedFiles name tree loops (object " + strconv.FormatInt(r.num, 10) + ")"}
			}
			visited[r.num] = true
		}
		if nodes++; nodes > maxTreeNodes {
			return &LimitError{What: "EmbeddedFiles name tree nodes", Limit: maxTreeNodes}
		}
		if depth > maxTreeDepth {
			return &LimitError{What: "EmbeddedFiles name tree depth", Limit: maxTreeDepth}
		}
		nv, err := f.resolve(v)
		if err != nil {
			return err
		}
		node, _ := nv.(dict)
		if node == nil {
			return nil
		}
		av, err := f.resolve(node["Names"])
		if err != nil {
			return err
		}
		arr, _ := av.(array)
		for i := 0; i+1 < len(arr); i += 2 {
			key, _ := arr[i].([]byte)
			e := EmbeddedFile{Key: text(key), Size: -1}
			if r, ok := arr[i+1].(ref); ok {
				e.Spec = r.num
			}
			spec, err := f.resolve(arr[i+1])
			if err != nil {
				return err
			}
			sd, _ := spec.(dict)
			if s, ok := sd["F"].([]byte); ok {
				e.F = text(s)
			}
			if s, ok := sd["UF"].([]byte); ok {
				e.UF = text(s)
			}
			if s, ok := sd["Desc"].([]byte); ok {
				e.Desc = text(s)
			}
			if n, ok := sd["AFRelationship"].(name); ok {
				e.AFRelationship = string(n)
			}
			e.InAF = e.Spec != 0 && inAF[e.Spec]
			switch {
			case e.UF != "":
				e.Name = e.UF
			case e.F != "":
				e.Name = e.F
			default:
				e.Name = e.Key
			}
			efv, err := f.resolve(sd["EF"])
			if err != nil {
				return err
			}
			ef, _ := efv.(dict)
			sref := ef["F"]
			if sref == nil {
				sref = ef["UF"]
			}
			if r, ok := sref.(ref); ok {
				e.Stream = r.num
				if se, err := f.lookup(r.num); err != nil {
					return err
				} else if se != nil && se.hasStm {
					sdict := se.v.(dict)
					if n, ok := sdict["Subtype"].(name); ok {
						e.Subtype = string(n)
					}
					if n, ok := sdict["Filter"].(name); ok {
						e.Filter = string(n)
					}
					pv, err := f.resolve(sdict["Params"])
					if err != nil {
						return err
					}
					if pd, ok := pv.(dict); ok {
						if n, ok := pd["Size"].(int64); ok {
							e.Size = n
						}
						if s, ok := pd["CheckSum"].([]byte); ok {
							e.CheckSum = s
						}
						if s, ok := pd["CreationDate"].([]byte); ok {
							e.CreationDate = text(s)
						}
						if s, ok := pd["ModDate"].([]byte); ok {
							e.ModDate = text(s)
						}
					}
				}
			}
			files = append(files, e)
			streams = append(streams, sref)
		}
		kv, err := f.resolve(node["Kids"])
		if err != nil {
			return err
		}
		kids, _ := kv.(array)
		for _, k := range kids {
			if err := walk(k, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if root, ok := nd["EmbeddedFiles"]; ok {
		if err := walk(root, 0); err != nil {
			return nil, -1, nil, err
		}
	}
	idx, count := -1, 0
	for i, e := range files {
		if e.Name == AttachmentName || e.Key == AttachmentName {
			if idx < 0 {
				idx = i
			}
			count++
		}
	}
	if count > 1 {
		return files, -1, nil, &AttachmentError{Name: AttachmentName, Count: count,
			Msg: strconv.Itoa(count) + " embedded files are named cda.xml: which one is the document cannot be told"}
	}
	if idx < 0 {
		return files, -1, nil, nil
	}
	r, ok := streams[idx].(ref)
	var se *entry
	if ok {
		if se, err = f.lookup(r.num); err != nil {
			return nil, -1, nil, err
		}
	}
	if se == nil || !se.hasStm {
		return files, -1, nil, &AttachmentError{Name: AttachmentName, Count: 1,
			Msg: "the file specification has no embedded file stream (/EF /F)"}
	}
	data, err := f.decode(se)
	if err != nil {
		return nil, -1, nil, err
	}
	if data == nil {
		data = []byte{}
	}
	return files, idx, data, nil
}
