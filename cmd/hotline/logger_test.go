package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"hotline/config"
)

// Durations read the same in both log formats, and in a unit.
func TestLogDurationsAreReadable(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		log, err := newLogger(&buf, config.Log{Level: "info", Format: format})
		if err != nil {
			t.Fatal(err)
		}
		log.Info("up", "uptime", time.Second, "group", struct{}{}, "delay", 1500*time.Millisecond)
		line := buf.String()
		if format == "json" {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			if rec["uptime"] != "1s" || rec["delay"] != "1.5s" {
				t.Errorf("json: uptime %v, delay %v; want \"1s\" and \"1.5s\"", rec["uptime"], rec["delay"])
			}
			continue
		}
		if !strings.Contains(line, "uptime=1s") || !strings.Contains(line, "delay=1.5s") {
			t.Errorf("text: %s", line)
		}
	}
}
