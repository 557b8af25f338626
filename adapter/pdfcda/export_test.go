package pdfcda

import "io"

// ReadAtWindows is ReadAt (ReadRepairAt with repair) with the given first window of an
// object and read-ahead chunk: tiny ones make every parse cross window boundaries.
func ReadAtWindows(r io.ReaderAt, size int64, lim Limits, repair bool, first, chunk int) (*Document, error) {
	return readAt(r, size, lim, repair, windows{first, chunk})
}
