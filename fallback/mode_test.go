package fallback

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"hotline/envelope"
)

func TestParseScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Scope
		key     string
		wantErr string // substring of the error; empty: no error
	}{
		{in: "global", want: Global, key: "global"},
		{in: "wechat", want: Scope{Platform: "wechat"}, key: "wechat"},
		{in: "wechat/oa-main", want: Scope{Platform: "wechat", Account: "oa-main"}, key: "wechat.oa-main"},
		{in: "sms/modem_1", want: Scope{Platform: "sms", Account: "modem_1"}, key: "sms.modem_1"},
		{in: "", wantErr: "scope: required"},
		{in: "wechat/oa.main", wantErr: `scope "wechat/oa.main": account: envelope: not a safe subject token`},
		{in: "wechat/", wantErr: `scope "wechat/": account: envelope: not a safe subject token: empty`},
		{in: "wechat/a/b", wantErr: `scope "wechat/a/b": account:`},
		// Only the form is checked here; the admin API refuses a platform
		// the gateway does not run.
		{in: "icq", want: Scope{Platform: "icq"}, key: "icq"},
		{in: "we chat", wantErr: `scope "we chat": platform: envelope: not a safe subject token`},
		{in: "/oa-main", wantErr: `scope "/oa-main": platform:`},
		{in: "global/x", wantErr: `scope "global/x": platform: "global" is reserved for the global scope`},
		{in: "wechat/" + strings.Repeat("a", 65), wantErr: "65 characters, at most 64"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseScope(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseScope(%q) error: got %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("errors.Is(err, ErrInvalid): got false, want true")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseScope(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseScope(%q): got %+v, want %+v", tc.in, got, tc.want)
			}
			if got.String() != tc.in {
				t.Errorf("String(): got %q, want %q", got.String(), tc.in)
			}
			if k := got.keyPart(); k != tc.key {
				t.Errorf("keyPart(): got %q, want %q", k, tc.key)
			}
		})
	}
}

func TestScopeBadAccountKeepsTokenError(t *testing.T) {
	t.Parallel()
	_, err := ParseScope("wechat/oa.main")
	if !errors.Is(err, envelope.ErrBadToken) {
		t.Errorf("errors.Is(err, envelope.ErrBadToken): got false, want true (err %v)", err)
	}
}

func TestSettingJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	set := Setting{Mode: ModeReadOnly, Scope: Scope{Platform: "wechat", Account: "oa-main"}, Reason: "db down", SetBy: "alice", SetAt: at}
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"mode":"read_only","scope":"wechat/oa-main","reason":"db down","set_by":"alice","set_at":"2026-11-25T09:00:00Z"}`
	if string(data) != want {
		t.Errorf("Marshal: got %s, want %s", data, want)
	}
	set.ExpiresAt = at.Add(time.Hour)
	set.Announce = map[string]string{"en": "hi"}
	data, _ = json.Marshal(set)
	var back Setting
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if back.Scope != set.Scope || !back.ExpiresAt.Equal(set.ExpiresAt) || back.Announce["en"] != "hi" {
		t.Errorf("round trip: got %+v, want %+v", back, set)
	}
	if err := json.Unmarshal([]byte(`{"scope":"wechat/oa.main"}`), &back); err == nil {
		t.Errorf("Unmarshal of a bad scope: got nil error, want one")
	}
}

func TestValidLang(t *testing.T) {
	t.Parallel()
	for tag, want := range map[string]bool{
		"zh": true, "en": true, "pt-BR": true, "zh-Hant-TW": true, "es-419": true,
		"": false, "e": false, "en_US": false, "中文": false, "en-": false, "123": false,
	} {
		if got := validLang(tag); got != want {
			t.Errorf("validLang(%q): got %v, want %v", tag, got, want)
		}
	}
}
