package adapter

// Logger is the small logging interface the library writes to; the CLI adapts logrus to it.
// Fields never carry fiscal codes, names, document bytes or assertions: at most operation,
// ASL, environment, duration, HTTP status, fault code and message id.
type Logger interface {
	Debug(msg string, fields map[string]any)
	Info(msg string, fields map[string]any)
	Warn(msg string, fields map[string]any)
}

type nopLogger struct{}

func (nopLogger) Debug(string, map[string]any) {}
func (nopLogger) Info(string, map[string]any)  {}
func (nopLogger) Warn(string, map[string]any)  {}
