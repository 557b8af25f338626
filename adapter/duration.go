package adapter

import (
	"encoding/json"
	"fmt"
	"time"
)

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string ("90s", "5m"). A bare number is refused (12 is
// 12 seconds to one reader and 12 nanoseconds to Go), and so is a negative duration.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration %s: write it as a string with its unit, e.g. \"%ss\" or \"5m\"", b, b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w (use a form like 30s or 5m)", s, err)
	}
	if v < 0 {
		return fmt.Errorf("duration %q: must not be negative", s)
	}
	*d = Duration(v)
	return nil
}
