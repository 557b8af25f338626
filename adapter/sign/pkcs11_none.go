//go:build !pkcs11

package sign

import "io"

// OpenPKCS11 is unavailable without the pkcs11 build tag: it returns ErrPKCS11Unavailable.
func OpenPKCS11(PKCS11Config) (Signer, io.Closer, error) { return nil, nil, ErrPKCS11Unavailable }
