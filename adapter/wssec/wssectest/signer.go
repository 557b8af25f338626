package wssectest

import (
	"crypto"
	"io"
	"sync/atomic"
)

// CountingSigner counts the signing operations (RSA or ECDSA) done with the Signer it wraps,
// so that a test can hold the operations computed against the messages sent.
type CountingSigner struct {
	crypto.Signer
	// N is the number of Sign calls so far.
	N atomic.Int64
}

// Sign counts the call and signs with the wrapped Signer.
func (k *CountingSigner) Sign(r io.Reader, digest []byte, o crypto.SignerOpts) ([]byte, error) {
	k.N.Add(1)
	return k.Signer.Sign(r, digest, o)
}
