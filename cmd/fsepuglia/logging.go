package main

import (
	"io"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
	"github.com/sirupsen/logrus"
)

// logrusLogger adapts logrus to adapter.Logger. Every string field and message is passed
// through redact.Text so that a codice fiscale never reaches the log, whatever the caller
// put in it.
type logrusLogger struct{ l *logrus.Logger }

var _ adapter.Logger = logrusLogger{}

func newLogger(w io.Writer, level string) logrusLogger {
	l := logrus.New()
	l.SetOutput(w)
	l.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	lv, err := logrus.ParseLevel(level)
	if err != nil {
		lv = logrus.WarnLevel
	}
	l.SetLevel(lv)
	return logrusLogger{l}
}

func (x logrusLogger) entry(fields map[string]any) *logrus.Entry {
	f := make(logrus.Fields, len(fields))
	for k, v := range fields {
		f[k] = redact.Value(v)
	}
	return x.l.WithFields(f)
}

// Debug logs at debug level.
func (x logrusLogger) Debug(msg string, fields map[string]any) {
	x.entry(fields).Debug(redact.Text(msg))
}

// Info logs at info level.
func (x logrusLogger) Info(msg string, fields map[string]any) {
	x.entry(fields).Info(redact.Text(msg))
}

// Warn logs at warning level.
func (x logrusLogger) Warn(msg string, fields map[string]any) {
	x.entry(fields).Warn(redact.Text(msg))
}

// Error logs at error level (the CLI's own failures; the library never logs errors).
func (x logrusLogger) Error(msg string, fields map[string]any) {
	x.entry(fields).Error(redact.Text(msg))
}
