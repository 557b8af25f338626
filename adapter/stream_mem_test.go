package adapter

import (
	"bytes"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"testing"
)

// TestBase64Mem: the in-memory document's encoder gives exactly base64.StdEncoding's bytes
// for every length around the group boundaries, whatever the size of the reads (down to
// one byte, where a group is encoded aside).
func TestBase64Mem(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 47, 48, 49, 3 << 10, 3<<10 + 1, 100_001} {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(rng.IntN(256))
		}
		want := base64.StdEncoding.EncodeToString(src)
		for _, chunk := range []int{1, 2, 3, 4, 5, 7, 64, 4096, 1 << 20} {
			r := &base64Mem{src: src}
			var got bytes.Buffer
			buf := make([]byte, chunk)
			for i := 0; ; i++ {
				if i > 4*n+16 {
					t.Fatalf("n=%d chunk=%d: no EOF", n, chunk)
				}
				k, err := r.Read(buf)
				got.Write(buf[:k])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if got.String() != want {
				t.Errorf("n=%d chunk=%d: encoding differs", n, chunk)
			}
		}
	}
}
