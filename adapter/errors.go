package adapter

import "fmt"

// InputError is bad input caught before anything is sent: it names the field, what was found
// and how to fix it.
type InputError struct {
	Field string
	Value string // already redacted where it is personal data
	Msg   string
	Fix   string
}

// Error implements error.
func (e *InputError) Error() string {
	s := fmt.Sprintf("%s: %s", e.Field, e.Msg)
	if e.Value != "" {
		s += fmt.Sprintf(" (found %q)", e.Value)
	}
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

// ConfigError is a configuration mistake found by New: it names the configuration field and
// the fix.
type ConfigError struct {
	Field string
	Msg   string
	Fix   string
}

// Error implements error.
func (e *ConfigError) Error() string {
	s := fmt.Sprintf("configuration %s: %s", e.Field, e.Msg)
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}
