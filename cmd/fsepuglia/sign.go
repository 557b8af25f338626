package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/pades"
	"github.com/fsepuglia/fsepuglia/adapter/pdfupdate"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/xades"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
)

// signOutput is the JSON of `sign`.
type signOutput struct {
	Input       string    `json:"input"`
	Output      string    `json:"output"`
	Format      string    `json:"format"`
	Signer      string    `json:"signer"`
	SignerCF    string    `json:"signer_cf,omitempty"`
	Algorithm   string    `json:"algorithm"`
	SigningTime time.Time `json:"signing_time"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
}

// signerFlags are the flags that choose the signing key (sign, and the demo's own signer).
func signerFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "pkcs12", Usage: "signer certificate and key as PKCS#12 (password from FSEPUGLIA_SIGNER_KEY_PASSWORD, FSEPUGLIA_KEY_PASSWORD or --key-password-file; default: signer.pkcs12_file)"},
		&cli.StringFlag{Name: "cert", Usage: "signer certificate, PEM (with --key; default: signer.cert_file)"},
		&cli.StringFlag{Name: "key", Usage: "signer private key, PEM (default: signer.key_file)"},
		&cli.StringFlag{Name: "pkcs11-module", EnvVars: []string{"FSEPUGLIA_PKCS11_MODULE"}, Usage: "sign on a smart card or HSM: path of its PKCS#11 library (binaries built with -tags pkcs11)"},
		&cli.StringFlag{Name: "pkcs11-token", EnvVars: []string{"FSEPUGLIA_PKCS11_TOKEN"}, Usage: "token label (default: the first slot)"},
		&cli.IntFlag{Name: "pkcs11-slot", Usage: "slot number, when no token label is given"},
		&cli.StringFlag{Name: "pkcs11-key", EnvVars: []string{"FSEPUGLIA_PKCS11_KEY"}, Usage: "label of the key pair and certificate (default: the token's only signature certificate)"},
		&cli.StringFlag{Name: "pkcs11-id", Usage: "CKA_ID of the key pair, hex"},
		&cli.StringFlag{Name: "pin-file", Usage: "file holding the token PIN (or set FSEPUGLIA_PKCS11_PIN; never a flag value)"},
	}
}

func signCommand(a *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "sign",
		Usage: "sign a CDA (XAdES-BES enveloped) or a PDF (PAdES B-B, incremental update)",
		Description: "--cda CDA.xml signs the CDA as Puglia's legacy services want it (FSE-10001 otherwise);\n" +
			"--pdf IN.pdf signs the PDF, after `inject`, as the national gateway wants it at publication.\n" +
			"The key comes from --pkcs12 / --cert --key (default: the signer.* configuration) or from a\n" +
			"smart card (--pkcs11-module, in binaries built with -tags pkcs11). Output: -o, default\n" +
			"<name>.signed.xml / <name>.signed.pdf beside the input; never overwritten without --force.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "cda", Usage: "CDA XML file to sign (XAdES-BES enveloped)"},
			&cli.StringFlag{Name: "pdf", Usage: "PDF file to sign (PAdES B-B)"},
			&cli.StringFlag{Name: "output-file", Aliases: []string{"o"}, Usage: "file to write (default <name>.signed.xml or <name>.signed.pdf)"},
			&cli.BoolFlag{Name: "force", Usage: "overwrite the output file"},
			&cli.StringFlag{Name: "reason", Usage: "PDF: the signature's /Reason"},
			&cli.StringFlag{Name: "location", Usage: "PDF: the signature's /Location"},
		}, signerFlags()...),
		Action: func(c *cli.Context) error { return a.sign(c) },
	}
}

// signer opens the signing key the flags (or the configuration) name; close releases it.
func (a *appEnv) signer(c *cli.Context) (s sign.Signer, closeFn func(), err error) {
	closeFn = func() {}
	if m := c.String("pkcs11-module"); m != "" {
		pin := a.deps.getenv("FSEPUGLIA_PKCS11_PIN")
		if c.IsSet("pin-file") {
			if pin, err = readSecretFile(c.String("pin-file")); err != nil {
				return nil, nil, err
			}
		}
		cfg := sign.PKCS11Config{Module: m, TokenLabel: c.String("pkcs11-token"), Slot: c.Int("pkcs11-slot"), PIN: pin, KeyLabel: c.String("pkcs11-key")}
		if v := c.String("pkcs11-id"); v != "" {
			if cfg.KeyID, err = hex.DecodeString(v); err != nil {
				return nil, nil, &adapter.InputError{Field: "--pkcs11-id", Value: v, Msg: "not hex", Fix: "give the CKA_ID in hex, e.g. 01 (pkcs11-tool -O lists them)"}
			}
		}
		s, closer, err := sign.OpenPKCS11(cfg)
		if err != nil {
			field := "--pkcs11-module"
			if errors.Is(err, sign.ErrPKCS11Unavailable) {
				return nil, nil, &adapter.InputError{Field: field, Msg: err.Error(), Fix: "rebuild with -tags pkcs11, or use --pkcs12"}
			}
			return nil, nil, &adapter.InputError{Field: field, Value: m, Msg: err.Error(), Fix: "check the module path, --pkcs11-token, --pkcs11-key and the PIN (FSEPUGLIA_PKCS11_PIN or --pin-file)"}
		}
		return s, func() { closer.Close() }, nil
	}
	files := sign.Files{PKCS12File: c.String("pkcs12"), CertFile: c.String("cert"), KeyFile: c.String("key"), Password: a.cfg.Signer.KeyPassword}
	if files.PKCS12File == "" && files.CertFile == "" {
		files.PKCS12File, files.CertFile, files.KeyFile = a.cfg.Signer.PKCS12File, a.cfg.Signer.CertFile, a.cfg.Signer.KeyFile
	}
	if files.PKCS12File == "" && files.CertFile == "" {
		return nil, nil, &adapter.InputError{Field: "--pkcs12", Msg: "no signing key", Fix: "pass --pkcs12 FILE (or --cert and --key, or --pkcs11-module), or set signer.pkcs12_file in the configuration"}
	}
	s, err = sign.Load(files)
	if err != nil {
		field := "--pkcs12"
		if files.PKCS12File == "" {
			field = "--cert"
		}
		return nil, nil, &adapter.InputError{Field: field, Msg: strings.TrimPrefix(err.Error(), "sign: "), Fix: "give a readable PKCS#12 (and its password in FSEPUGLIA_SIGNER_KEY_PASSWORD) or PEM pair"}
	}
	return s, closeFn, nil
}

func (a *appEnv) sign(c *cli.Context) error {
	cdaPath, pdfPath := c.String("cda"), c.String("pdf")
	if (cdaPath == "") == (pdfPath == "") || c.Args().Len() > 0 {
		return usagef("sign needs exactly one of --cda FILE or --pdf FILE (see fsepuglia sign --help)")
	}
	in, ext, field := cdaPath, ".signed.xml", "--cda"
	if pdfPath != "" {
		in, ext, field = pdfPath, ".signed.pdf", "--pdf"
	}
	out := c.String("output-file")
	if out == "" {
		out = strings.TrimSuffix(in, filepath.Ext(in)) + ext
	}
	s, closeSigner, err := a.signer(c)
	if err != nil {
		return err
	}
	defer closeSigner()
	now := a.deps.now
	if now == nil {
		now = time.Now
	}
	at := now()
	res := signOutput{Input: in, Output: out, Signer: s.Certificate().Subject.CommonName, SignerCF: sign.SubjectCF(s.Certificate()),
		Algorithm: sign.Algorithm(s.Public(), sign.Hash(s.Public())), SigningTime: at.UTC()}

	if cdaPath != "" {
		cda, err := os.ReadFile(cdaPath)
		if err != nil {
			return &adapter.InputError{Field: field, Value: cdaPath, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err)), Fix: "check the path"}
		}
		signed, err := xades.Sign(cda, s, xades.SignOptions{Now: func() time.Time { return at }})
		if err != nil {
			var se *xades.SyntaxError
			switch {
			case errors.As(err, &se):
				return &adapter.InputError{Field: field, Value: cdaPath, Msg: se.Error(), Fix: "fix the CDA's XML before signing it"}
			case errors.Is(err, xades.ErrAlreadySigned):
				return &adapter.InputError{Field: field, Value: cdaPath, Msg: "the CDA is already signed", Fix: "sign the CDA before any signature was added, or use it as it is"}
			}
			return err
		}
		res.Format = sign.FormatXAdES
		if err := writeAtomically(out, c.Bool("force"), func(w io.Writer) error { _, err := w.Write(signed); return err }); err != nil {
			return err
		}
	} else {
		if err := a.requireValidation(pdfPath); err != nil {
			return err // FSE 2.0: validate first, then sign
		}
		src, err := os.Open(pdfPath)
		if err != nil {
			return &adapter.InputError{Field: field, Value: pdfPath, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err)), Fix: "check the path"}
		}
		defer src.Close()
		st, err := src.Stat()
		if err != nil {
			return err
		}
		opt := pades.SignOptions{Now: func() time.Time { return at }, Reason: c.String("reason"), Location: c.String("location")}
		err = writeAtomically(out, c.Bool("force"), func(w io.Writer) error { return pades.Sign(w, src, st.Size(), s, opt) })
		if err != nil {
			var ue *pdfupdate.Error
			if errors.As(err, &ue) {
				return &adapter.InputError{Field: field, Value: pdfPath, Msg: ue.Msg, Fix: "give a readable, unencrypted PDF (repair it with qpdf if needed)"}
			}
			return err
		}
		res.Format = sign.FormatPAdES
	}
	if err := fileFacts(out, &res.Size, &res.SHA256); err != nil {
		return err
	}
	return a.emit(res, func(w io.Writer) {
		fmt.Fprintf(w, "SIGNED\t%s\n", res.Output)
		fmt.Fprintf(w, "FROM\t%s\n", res.Input)
		fmt.Fprintf(w, "FORMAT\t%s %s\n", res.Format, res.Algorithm)
		// The table is for people and ends up in transcripts: the CF in the name is masked.
		fmt.Fprintf(w, "SIGNER\t%s\n", redact.Text(res.Signer))
		fmt.Fprintf(w, "TIME\t%s\n", stamp(res.SigningTime))
		fmt.Fprintf(w, "SHA-256\t%s\n", res.SHA256)
	})
}

// writeAtomically writes path through a temporary file in the same directory, renamed into
// place once complete: a failure leaves nothing half-written. An existing path is refused
// unless force.
func writeAtomically(path string, force bool, write func(io.Writer) error) error {
	if _, err := os.Stat(path); err == nil && !force {
		return &adapter.InputError{Field: "--output-file", Value: path, Msg: "file exists", Fix: "choose another file or pass --force"}
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".fsepuglia-*")
	if err != nil {
		return &adapter.InputError{Field: "--output-file", Value: path, Msg: fmt.Sprintf("cannot create: %v", unwrapPath(err)), Fix: "check the directory exists and is writable"}
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if !force {
		// Refuse a file created meanwhile; os.Link fails if path exists.
		if err := os.Link(f.Name(), path); err != nil {
			if os.IsExist(err) {
				return &adapter.InputError{Field: "--output-file", Value: path, Msg: "file exists", Fix: "choose another file or pass --force"}
			}
			return os.Rename(f.Name(), path)
		}
		return nil
	}
	return os.Rename(f.Name(), path)
}

// fileFacts reads path once for its size and SHA-256.
func fileFacts(path string, size *int64, sum *string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	*size, *sum = n, hex.EncodeToString(h.Sum(nil))
	return nil
}
