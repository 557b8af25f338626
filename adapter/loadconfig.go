package adapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// LoadConfig reads a JSON configuration file: the keys are Config's JSON tags (the same file
// the fsepuglia command reads, and the one the simulator writes). Unknown keys are errors, so
// that a misspelt key does not pass silently; an empty file is an empty Config. Key
// passwords are never read from a file: set TLS.KeyPassword and Signer.KeyPassword from your
// own secret store. Nothing is validated beyond the JSON itself: New does that.
//
// Errors are *ConfigError with Field "config" (the file could not be read, or is not valid
// JSON: the message gives the line and column) or the key that is wrong.
func LoadConfig(path string) (Config, error) {
	var cfg Config
	raw, err := os.ReadFile(path)
	if err != nil {
		cause := err
		var pe *fs.PathError
		if errors.As(err, &pe) {
			cause = pe.Err
		}
		return cfg, &ConfigError{Field: "config", Msg: fmt.Sprintf("cannot read %s: %v", path, cause),
			Fix: "check the path of the configuration file", Err: err}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return cfg, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, configJSONError(path, raw, err)
	}
	if dec.More() {
		return Config{}, &ConfigError{Field: "config", Msg: fmt.Sprintf("%s: more than one JSON value", path),
			Fix: "the file holds one JSON object"}
	}
	return cfg, nil
}

// configJSONError names the line, column and key of a decoding error.
func configJSONError(path string, raw []byte, err error) error {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	at := func(off int64) string {
		if off < 0 {
			off = 0
		}
		if off > int64(len(raw)) {
			off = int64(len(raw))
		}
		before := raw[:off]
		line := bytes.Count(before, []byte("\n")) + 1
		col := int64(len(before)) - int64(bytes.LastIndexByte(before, '\n'))
		return fmt.Sprintf("%s:%d:%d", path, line, col)
	}
	const fix = "fix the file: its keys are those of adapter.Config (fsepuglia help config lists them)"
	switch {
	case errors.As(err, &se):
		return &ConfigError{Field: "config", Msg: fmt.Sprintf("%s: invalid JSON: %v", at(se.Offset-1), se), Fix: fix, Err: err}
	case errors.As(err, &te):
		return &ConfigError{Field: te.Field, Msg: fmt.Sprintf("%s: %s must be a %s, not a JSON %s", at(te.Offset), te.Field, te.Type, te.Value), Fix: fix, Err: err}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &ConfigError{Field: "config", Msg: fmt.Sprintf("%s: invalid JSON: the file ends in the middle of a value", at(int64(len(raw)))), Fix: fix, Err: err}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &ConfigError{Field: strings.Trim(name, `"`), Msg: fmt.Sprintf("%s: unknown key %s", path, name), Fix: fix, Err: err}
	}
	return &ConfigError{Field: "config", Msg: fmt.Sprintf("%s: %v", path, err), Fix: fix, Err: err}
}
