package webchat

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseClientFrame(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		data     string
		wantCode string // "" for success
		want     clientFrame
	}{
		{"ok", `{"type":"send","id":"c1","text":"hi"}`, "", clientFrame{Type: "send", ID: "c1", Text: "hi"}},
		{"trimmed", `{"type":"send","id":"A_b-9","text":"  hi\nthere \n"}`, "", clientFrame{Type: "send", ID: "A_b-9", Text: "hi\nthere"}},
		{"unknown fields ignored", `{"type":"send","id":"c1","text":"hi","x":1}`, "", clientFrame{Type: "send", ID: "c1", Text: "hi"}},
		{"not json", `hi`, codeBadFrame, clientFrame{}},
		{"null", `null`, codeBadFrame, clientFrame{}},
		{"trailing data", `{"type":"send","id":"c1","text":"hi"} {}`, codeBadFrame, clientFrame{}},
		{"unknown type", `{"type":"ping"}`, codeBadFrame, clientFrame{}},
		{"bad id", `{"type":"send","id":"c 1","text":"hi"}`, codeBadFrame, clientFrame{}},
		{"64-char id", `{"type":"send","id":"` + strings.Repeat("z", 64) + `","text":"hi"}`, "", clientFrame{Type: "send", ID: strings.Repeat("z", 64), Text: "hi"}},
		{"65-char id", `{"type":"send","id":"` + strings.Repeat("z", 65) + `","text":"hi"}`, codeBadFrame, clientFrame{}},
		{"empty", `{"type":"send","id":"c1","text":""}`, codeEmpty, clientFrame{Type: "send", ID: "c1"}},
		{"invalid utf-8", "{\"type\":\"send\",\"id\":\"c1\",\"text\":\"\xff\"}", codeBadFrame, clientFrame{}},
		{"too long", `{"type":"send","id":"c1","text":"` + strings.Repeat("a", 64<<10+1) + `"}`, codeTooLong, clientFrame{Type: "send", ID: "c1", Text: strings.Repeat("a", 64<<10+1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseClientFrame([]byte(tc.data))
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
			} else {
				var fe *frameError
				if !errors.As(err, &fe) || fe.code != tc.wantCode {
					t.Fatalf("got %v, want code %s", err, tc.wantCode)
				}
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"send","id":"c1","text":"hi"}`,
		`{"type":"send","id":"c1","text":"مرحبا\nשלום"}`,
		`{"type":"send","id":"","text":"x"}`,
		`{"type":"send","id":"c1","text":"\u0000"}`,
		`{"type":5}`,
		`[]`, `null`, `"send"`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	// Files from testdata/fuzz are added by the fuzzing engine itself;
	// the payloads kept in testdata/frames are real pages' frames.
	matches, _ := filepath.Glob("testdata/frames/*.json")
	for _, m := range matches {
		if b, err := os.ReadFile(m); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := parseClientFrame(data)
		if err != nil {
			var fe *frameError
			if !errors.As(err, &fe) || fe.code == "" || fe.msg == "" {
				t.Fatalf("error %v is not a frameError with a code and message", err)
			}
			return
		}
		if fr.Type != "send" || !validClientID(fr.ID) || fr.Text == "" || strings.TrimSpace(fr.Text) != fr.Text || !utf8.ValidString(fr.Text) {
			t.Fatalf("accepted a bad frame: %+v", fr)
		}
	})
}
