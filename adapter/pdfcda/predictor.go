package pdfcda

import "strconv"

// predictor is a Flate /DecodeParms predictor. Only the PNG predictors (10-15, one filter
// byte per row) are decoded: cross-reference streams use them almost always (Predictor 12).
type predictor struct {
	kind    int64 // 1 (none) or >= 10 (PNG)
	columns int64
	bpp     int64 // bytes per pixel
	rowLen  int64 // bytes per row, without the filter byte
}

func predictorOf(d dict) (predictor, error) {
	kind, _ := d["Predictor"].(int64)
	if kind <= 1 {
		return predictor{kind: 1}, nil
	}
	if kind < 10 || kind > 15 {
		return predictor{}, &UnsupportedError{What: "Flate predictor " + strconv.FormatInt(kind, 10)}
	}
	int1 := func(k name, def int64) int64 {
		if v, ok := d[k].(int64); ok {
			return v
		}
		return def
	}
	columns, colors, bpc := int1("Columns", 1), int1("Colors", 1), int1("BitsPerComponent", 8)
	if columns < 1 || columns > 1<<24 || colors < 1 || colors > 32 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) {
		return predictor{}, &SyntaxError{Offset: -1, Msg: "bad PNG predictor parameters"}
	}
	bits := columns * colors * bpc
	return predictor{kind: kind, columns: columns, bpp: max(1, colors*bpc/8), rowLen: (bits + 7) / 8}, nil
}

// undo reverses the PNG row filters in place (the output is one byte shorter per row).
func (p predictor) undo(data []byte) ([]byte, error) {
	if p.kind <= 1 {
		return data, nil
	}
	stride := p.rowLen + 1
	if len(data) == 0 {
		return data, nil // and no row buffers: /Columns alone must not size an allocation
	}
	// A whole number of rows, so at least one: the row buffers below are never larger
	// than the (inflate-capped) data.
	if int64(len(data))%stride != 0 {
		return nil, &SyntaxError{Offset: -1, Msg: "PNG-predicted data is not a whole number of rows"}
	}
	rows := int64(len(data)) / stride
	out := data[:0] // rows move left by one byte each: writing never overtakes reading
	prev := make([]byte, p.rowLen)
	cur := make([]byte, p.rowLen)
	for r := int64(0); r < rows; r++ {
		row := data[r*stride : (r+1)*stride]
		ft := row[0]
		copy(cur, row[1:])
		for i := int64(0); i < p.rowLen; i++ {
			var a, c byte
			if i >= p.bpp {
				a, c = cur[i-p.bpp], prev[i-p.bpp]
			}
			up := prev[i]
			switch ft {
			case 0:
			case 1:
				cur[i] += a
			case 2:
				cur[i] += up
			case 3:
				cur[i] += byte((int(a) + int(up)) / 2)
			case 4:
				cur[i] += paeth(a, up, c)
			default:
				return nil, &SyntaxError{Offset: -1, Msg: "bad PNG filter type " + strconv.Itoa(int(ft))}
			}
		}
		out = append(out, cur...)
		prev, cur = cur, prev
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
