package fallback

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
)

// adminServer serves AdminHandler over a fresh bus and store.
type adminServer struct {
	*httptest.Server
	b      *bus.Bus
	store  *Store
	clock  *fakeClock
	review *Review
}

func newAdminServer(t *testing.T) *adminServer {
	t.Helper()
	b := bustest.Open(t)
	clock := newFakeClock()
	s := newStore(t, b, StoreDeps{Now: clock.Now})
	r, err := NewReview(b, ReviewDeps{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(AdminHandler(s, r, b, testAccounts))
	t.Cleanup(srv.Close)
	return &adminServer{Server: srv, b: b, store: s, clock: clock, review: r}
}

// do sends a request and returns the status and the body.
func (a *adminServer) do(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("%s %s: content type %q, want JSON", method, path, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, string(data)
}

func decodeJSON[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

func TestAdminModes(t *testing.T) {
	t.Parallel()
	a := newAdminServer(t)

	code, body := a.do(t, http.MethodGet, "/admin/v1/modes", "")
	if code != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Fatalf("GET modes before: got %d %s, want 200 []", code, body)
	}
	code, body = a.do(t, http.MethodPut, "/admin/v1/modes/announcement",
		`{"scope": "wechat/oa-main", "reason": "payments outage", "set_by": "alice", "ttl": "2h", "announce": {"zh": "支付故障，正在修复", "en": "Payments are down; we are on it."}}`)
	if code != http.StatusOK {
		t.Fatalf("PUT announcement: got %d %s, want 200", code, body)
	}
	set := decodeJSON[Setting](t, body)
	wantExpiry := a.clock.Now().Add(2 * time.Hour)
	if set.Mode != ModeAnnouncement || set.Scope.String() != "wechat/oa-main" || set.SetBy != "alice" ||
		!set.ExpiresAt.Equal(wantExpiry) || set.Announce["zh"] != "支付故障，正在修复" {
		t.Errorf("PUT answer: got %+v, want the announcement on wechat/oa-main until %v", set, wantExpiry)
	}
	code, body = a.do(t, http.MethodPut, "/admin/v1/modes/read_only", `{"scope": "global", "reason": "db failover", "set_by": "bob"}`)
	if code != http.StatusOK {
		t.Fatalf("PUT read_only: got %d %s, want 200", code, body)
	}
	if eff := a.store.Active("wechat", "oa-main"); eff.ReadOnly == nil || eff.Announcement == nil {
		t.Errorf("Active after PUTs: got %+v, want read_only and announcement", eff)
	}

	code, body = a.do(t, http.MethodGet, "/admin/v1/modes", "")
	list := decodeJSON[[]Setting](t, body)
	if code != http.StatusOK || len(list) != 2 || list[0].Mode != ModeReadOnly || list[1].Mode != ModeAnnouncement {
		t.Errorf("GET modes: got %d %+v, want read_only then announcement", code, list)
	}

	code, body = a.do(t, http.MethodDelete, "/admin/v1/modes/read_only?scope=global&by=bob", "")
	if code != http.StatusNoContent || body != "" {
		t.Errorf("DELETE: got %d %q, want 204 and no body", code, body)
	}
	code, body = a.do(t, http.MethodDelete, "/admin/v1/modes/read_only?scope=global&by=bob", "")
	if code != http.StatusNotFound || !strings.Contains(body, "read_only is not set in scope global") {
		t.Errorf("DELETE again: got %d %s, want 404 naming the mode and scope", code, body)
	}

	// The announcement's TTL runs out on the store's clock.
	a.clock.Add(2 * time.Hour)
	code, body = a.do(t, http.MethodGet, "/admin/v1/modes", "")
	if code != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Errorf("GET modes after the TTL: got %d %s, want 200 []", code, body)
	}

	code, body = a.do(t, http.MethodGet, "/admin/v1/audit?limit=50", "")
	recs := decodeJSON[[]AuditRecord](t, body)
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action+" "+r.Mode+" "+r.By)
	}
	want := "mode.set announcement alice,mode.set read_only bob,mode.clear read_only bob"
	if code != http.StatusOK || strings.Join(actions, ",") != want {
		t.Errorf("GET audit: got %d %s, want %s", code, strings.Join(actions, ","), want)
	}
	code, body = a.do(t, http.MethodGet, "/admin/v1/audit?limit=1", "")
	if recs := decodeJSON[[]AuditRecord](t, body); code != http.StatusOK || len(recs) != 1 || recs[0].Action != ActionModeClear {
		t.Errorf("GET audit?limit=1: got %d %+v, want the last record", code, recs)
	}
}

func TestAdminBadRequests(t *testing.T) {
	t.Parallel()
	a := newAdminServer(t)
	held := holdReply(t, a.b, "u1", "hello")
	tests := []struct {
		name, method, path, body string
		wantCode                 int
		wantErr                  string // substring of the "error" field
	}{
		{"unknown mode", "PUT", "/admin/v1/modes/panic", `{"scope":"global","reason":"x","set_by":"a"}`, 400, `mode: unknown mode "panic"`},
		{"bad scope", "PUT", "/admin/v1/modes/read_only", `{"scope":"wechat/oa.main","reason":"x","set_by":"a"}`, 400, `scope "wechat/oa.main": account: `},
		{"account not run", "PUT", "/admin/v1/modes/read_only", `{"scope":"wechat/nope","reason":"x","set_by":"a"}`, 400, `scope: "wechat/nope": this gateway runs no wechat account "nope" (it runs oa-main, oa-2)`},
		{"platform without accounts", "PUT", "/admin/v1/modes/sms_fallback", `{"scope":"weibo/wb-main","reason":"x","set_by":"a"}`, 400, `scope: "weibo/wb-main": this gateway runs no weibo account`},
		{"unknown platform", "PUT", "/admin/v1/modes/read_only", `{"scope":"icq","reason":"x","set_by":"a"}`, 400, `scope: "icq": this gateway runs no icq account`},
		{"missing scope", "PUT", "/admin/v1/modes/read_only", `{"reason":"x","set_by":"a"}`, 400, "scope: required"},
		{"bad ttl", "PUT", "/admin/v1/modes/read_only", `{"scope":"global","reason":"x","set_by":"a","ttl":"2 hours"}`, 400, `ttl: "2 hours" is not a duration`},
		{"negative ttl", "PUT", "/admin/v1/modes/read_only", `{"scope":"global","reason":"x","set_by":"a","ttl":"-1h"}`, 400, "ttl: -1h is too short"},
		{"missing reason", "PUT", "/admin/v1/modes/read_only", `{"scope":"global","set_by":"a"}`, 400, "reason: required"},
		{"missing set_by", "PUT", "/admin/v1/modes/read_only", `{"scope":"global","reason":"x"}`, 400, "set_by: required"},
		{"set_by auto", "PUT", "/admin/v1/modes/sms_fallback", `{"scope":"global","reason":"x","set_by":"auto"}`, 400, `set_by: "auto" is reserved`},
		{"announcement without text", "PUT", "/admin/v1/modes/announcement", `{"scope":"global","reason":"x","set_by":"a"}`, 400, "announce: the announcement mode needs text"},
		{"bad language", "PUT", "/admin/v1/modes/announcement", `{"scope":"global","reason":"x","set_by":"a","announce":{"chinese!":"x"}}`, 400, `announce: "chinese!" is not a language code`},
		{"misspelt field", "PUT", "/admin/v1/modes/read_only", `{"scope":"global","reason":"x","setby":"a"}`, 400, `body: json: unknown field "setby"`},
		{"not JSON", "PUT", "/admin/v1/modes/read_only", `scope=global`, 400, "body: "},
		{"empty body", "PUT", "/admin/v1/modes/read_only", ``, 400, "body: empty"},
		{"trailing data", "PUT", "/admin/v1/modes/read_only", `{"scope":"global","reason":"x","set_by":"a"} {}`, 400, "body: trailing data"},
		{"too big", "PUT", "/admin/v1/modes/read_only", `{"scope":"global","reason":"` + strings.Repeat("x", 70<<10) + `","set_by":"a"}`, 413, "body: larger than 64 KiB"},
		{"delete unknown mode", "DELETE", "/admin/v1/modes/panic?scope=global&by=a", ``, 400, `mode: unknown mode "panic"`},
		{"delete without scope", "DELETE", "/admin/v1/modes/read_only?by=a", ``, 400, "scope: required"},
		{"delete bad scope", "DELETE", "/admin/v1/modes/read_only?scope=wechat/a.b&by=a", ``, 400, `scope "wechat/a.b": account:`},
		{"delete without by", "DELETE", "/admin/v1/modes/read_only?scope=global", ``, 400, "by: required"},
		{"audit bad limit", "GET", "/admin/v1/audit?limit=lots", ``, 400, `limit: "lots" is not a number from 1 to 1000`},
		{"audit limit too high", "GET", "/admin/v1/audit?limit=5000", ``, 400, "limit: "},
		{"review bad limit", "GET", "/admin/v1/review?limit=0", ``, 400, "limit: "},
		{"review without by", "POST", "/admin/v1/review/" + held.ID + "/approve", `{}`, 400, "by: required"},
		{"edit without text", "POST", "/admin/v1/review/" + held.ID + "/edit", `{"by":"a"}`, 400, "text: required"},
		{"review unknown field", "POST", "/admin/v1/review/" + held.ID + "/reject", `{"by":"a","why":"x"}`, 400, `unknown field "why"`},
		{"review unknown id", "POST", "/admin/v1/review/" + envelope.NewID(time.Now()) + "/approve", `{"by":"a"}`, 404, "no held reply with that id"},
		{"review malformed id", "POST", "/admin/v1/review/nope/approve", `{"by":"a"}`, 404, `no held reply with id "nope"`},
		{"review unknown action", "POST", "/admin/v1/review/" + held.ID + "/publish", `{"by":"a"}`, 404, `unknown review action "publish"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := a.do(t, tc.method, tc.path, tc.body)
			got := decodeJSON[map[string]string](t, body)
			if code != tc.wantCode || !strings.Contains(got["error"], tc.wantErr) {
				t.Errorf("%s %s: got %d %s, want %d with an error containing %q", tc.method, tc.path, code, body, tc.wantCode, tc.wantErr)
			}
		})
	}
	if got := a.store.List(); len(got) != 0 {
		t.Errorf("settings after bad requests: got %+v, want none", got)
	}
	if recs := auditLog(t, a.b); len(recs) != 0 {
		t.Errorf("audit after bad requests: got %+v, want none", recs)
	}
	if out := bustest.Messages(t, a.b, bus.StreamOut, ""); len(out) != 0 {
		t.Errorf("HOTLINE_OUT after bad requests: got %d messages, want none", len(out))
	}
}

func TestAdminReview(t *testing.T) {
	t.Parallel()
	a := newAdminServer(t)
	first := holdReply(t, a.b, "u1", "Your refund was sent.")
	second := holdReply(t, a.b, "u2", "Please reset your password.")
	third := holdReply(t, a.b, "u3", "Restart the app.")

	code, body := a.do(t, http.MethodGet, "/admin/v1/review", "")
	if pend := decodeJSON[[]envelope.Reply](t, body); code != http.StatusOK || len(pend) != 3 || pend[0].ID != first.ID {
		t.Fatalf("GET review: got %d %s, want the three held replies, oldest first", code, body)
	}

	code, body = a.do(t, http.MethodPost, "/admin/v1/review/"+first.ID+"/approve", `{"by":"alice"}`)
	resp := decodeJSON[ReviewResponse](t, body)
	if code != http.StatusOK || resp.Decision != DecisionApproved || resp.Sent == nil || resp.Sent.ID != first.ID {
		t.Errorf("approve: got %d %s, want 200 with the sent reply", code, body)
	}
	code, body = a.do(t, http.MethodPost, "/admin/v1/review/"+second.ID+"/edit", `{"by":"bob","text":"An agent will call you."}`)
	resp = decodeJSON[ReviewResponse](t, body)
	if code != http.StatusOK || resp.Sent == nil || resp.Sent.Text != "An agent will call you." || resp.Sent.ID != envelope.DeriveID(second.ID, "edited") {
		t.Errorf("edit: got %d %s, want 200 with the edited reply", code, body)
	}
	code, body = a.do(t, http.MethodPost, "/admin/v1/review/"+third.ID+"/reject", `{"by":"carol","reason":"wrong"}`)
	resp = decodeJSON[ReviewResponse](t, body)
	if code != http.StatusOK || resp.Decision != DecisionRejected || resp.Sent != nil {
		t.Errorf("reject: got %d %s, want 200 and nothing sent", code, body)
	}
	for _, id := range []string{first.ID, second.ID, third.ID} {
		code, body = a.do(t, http.MethodPost, "/admin/v1/review/"+id+"/approve", `{"by":"dave"}`)
		if code != http.StatusConflict || !strings.Contains(body, "already decided") {
			t.Errorf("second decision on %s: got %d %s, want 409", id, code, body)
		}
	}
	code, body = a.do(t, http.MethodGet, "/admin/v1/review", "")
	if code != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Errorf("GET review after deciding: got %d %s, want 200 []", code, body)
	}
	if out := outReplies(t, a.b); len(out) != 2 {
		t.Errorf("HOTLINE_OUT: got %d replies, want 2", len(out))
	}
	code, body = a.do(t, http.MethodGet, "/admin/v1/audit", "")
	if recs := decodeJSON[[]AuditRecord](t, body); code != http.StatusOK || len(recs) != 3 || recs[2].Action != ActionReviewReject || recs[2].Reason != "wrong" {
		t.Errorf("audit: got %d %s, want approve, edit, reject", code, body)
	}
}

func TestAdminWithoutReview(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	s := newStore(t, b, StoreDeps{})
	srv := httptest.NewServer(AdminHandler(s, nil, b, testAccounts))
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL + "/admin/v1/review")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET review with no queue: got %d, want 503", resp.StatusCode)
	}
}

// testAccounts is the gateway the admin tests pretend to run.
func testAccounts(platform string) []string {
	return map[string][]string{"wechat": {"oa-main", "oa-2"}, "telegram": {"tg-main"}}[platform]
}
