package router

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/bus/bustest"
)

// adminAPI serves r's admin API and returns a caller of it: status and
// body of one request.
func adminAPI(t *testing.T, r *Router) func(method, path, body string) (int, string) {
	t.Helper()
	api := httptest.NewServer(r.AdminHandler())
	t.Cleanup(api.Close)
	return func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, api.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
}

// withinASecond fails t unless cond holds within a second: how soon an
// edit made on one instance must answer on every other.
func withinASecond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !bustest.Poll(time.Second, cond) {
		t.Fatalf("%s: not within a second", what)
	}
}

// An FAQ entry added through one instance's admin API answers on another
// instance within a second; disabling a built-in entry hides it there
// too, and deleting the edit brings it back.
func TestFAQEditReachesEveryInstance(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r1 := newRouter(t, b, testConfig(), Deps{})
	r2 := newRouter(t, b, testConfig(), Deps{})
	call := adminAPI(t, r1)

	entry := `{"keywords": {"en": ["parcel locker"], "zh": ["快递柜"]}, "answer": {"en": "Parcel lockers keep your parcel for 48 hours.", "zh": "快递柜保留包裹 48 小时。"}, "by": "ops", "reason": "new service"}`
	if code, body := call(http.MethodPut, "/admin/v1/faq/parcel_locker", entry); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	// The instance that took the edit answers with it at once: an
	// operator who adds an entry and tries it gets it.
	if m, ok := r1.knowledge.Match(fold("where is the parcel locker?"), "en"); !ok || m.ID != "parcel_locker" {
		t.Fatal("the instance that stored the edit does not answer with it yet")
	}
	withinASecond(t, "the new entry on the other instance", func() bool {
		m, ok := r2.knowledge.Match(fold("where is the parcel locker?"), "en")
		return ok && m.ID == "parcel_locker"
	})
	m := inbound("80", "where is the parcel locker?")
	process(t, r2, m)
	if got := lastReply(t, b); got.InReplyTo != m.ID || got.Text != "Parcel lockers keep your parcel for 48 hours." {
		t.Fatalf("the other instance answered %q", got.Text)
	}

	if code, _ := call(http.MethodPut, "/admin/v1/faq/reset_password", `{"disabled": true, "by": "ops"}`); code != 200 {
		t.Fatalf("disabling a built-in entry: %d", code)
	}
	withinASecond(t, "the built-in entry hidden", func() bool {
		_, ok := r2.knowledge.Match(fold("i forgot my password"), "en")
		return !ok
	})
	if code, _ := call(http.MethodDelete, "/admin/v1/faq/reset_password?by=ops", ""); code != 200 {
		t.Fatalf("deleting the edit: %d", code)
	}
	withinASecond(t, "the built-in entry back", func() bool {
		m, ok := r2.knowledge.Match(fold("i forgot my password"), "en")
		return ok && m.ID == "reset_password"
	})

	if code, body := call(http.MethodPut, "/admin/v1/faq/parcel_locker", `{"keywords": {"en": ["locker"]}, "answer": {"en": "Lockers: 48 hours."}, "by": "mei"}`); code != 200 {
		t.Fatalf("second version: %d %s", code, body)
	}
	code, body := call(http.MethodGet, "/admin/v1/faq/parcel_locker", "")
	var got struct {
		Entry    FAQListing   `json:"entry"`
		Versions []FAQVersion `json:"versions"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.Versions) != 2 || got.Versions[0].By != "ops" || got.Versions[1].By != "mei" {
		t.Fatalf("GET with versions: %d %s", code, body)
	}
	for _, bad := range []string{
		`{"keywords": {"en": ["x"]}, "answer": {"zh": "只有中文"}, "by": "ops"}`, // no English fallback
		`{"answer": {"en": "no keywords"}, "by": "ops"}`,
		`{"keywords": {"en": ["x"]}, "answer": {"en": "y"}}`, // no by
	} {
		if code, body := call(http.MethodPut, "/admin/v1/faq/bad", bad); code != 400 {
			t.Errorf("PUT %s: %d %s, want 400", bad, code, body)
		}
	}
	if code, _ := call(http.MethodPut, "/admin/v1/faq/has.dot", entry); code != 400 {
		t.Errorf("an id with a dot: %d, want 400", code)
	}
	if err := r1.DeleteFAQ(context.Background(), "never_edited", "ops", ""); !errors.Is(err, ErrFAQNotFound) {
		t.Errorf("deleting what was never edited: %v", err)
	}
}

// A text changed through one instance is what another sends, within a
// second; a placeholder the router does not fill is refused; deleting
// the edit brings the file's text back.
func TestTextEditReachesEveryInstance(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r1 := newRouter(t, b, testConfig(), Deps{})
	r2 := newRouter(t, b, testConfig(), Deps{})
	ctx := context.Background()
	original := r2.catalog.Text("en", "status")
	if _, err := r1.SetText(ctx, "en", "status", "Payments are slow today; everything else runs normally.", "ops", "incident 42"); err != nil {
		t.Fatal(err)
	}
	if got := r1.catalog.Text("en", "status"); got == original {
		t.Fatal("the instance that stored the edit does not send it yet")
	}
	withinASecond(t, "the edited text on the other instance", func() bool { return r2.catalog.Text("en", "status") != original })
	m := inbound("81", "status")
	m.LangHint = "en"
	process(t, r2, m)
	if got := lastReply(t, b).Text; got != "Payments are slow today; everything else runs normally." {
		t.Fatalf("the other instance answered %q", got)
	}
	if listed := r1.Texts("en"); !slices.ContainsFunc(listed, func(l TextListing) bool { return l.Key == "status" && l.Source == "edited" }) {
		t.Fatal("Texts does not show the edit")
	}
	for _, bad := range []struct{ lang, key, text string }{
		{"en", "handoff_ack", "Ticket {ticket} for {customer_name}"}, // a placeholder nobody fills
		{"en", "no_such_text", "x"},
		{"klingon", "status", "x"},
		{"en", "status", "  "},
	} {
		if _, err := r1.SetText(ctx, bad.lang, bad.key, bad.text, "ops", ""); !errors.Is(err, ErrBadText) {
			t.Errorf("SetText(%s, %s, %q): %v, want ErrBadText", bad.lang, bad.key, bad.text, err)
		}
	}
	if err := r1.DeleteText(ctx, "en", "status", "ops", ""); err != nil {
		t.Fatal(err)
	}
	withinASecond(t, "the file's text back", func() bool { return r2.catalog.Text("en", "status") == original })
}

// A late, older state of a key (the watch bringing what this instance
// already replaced) never undoes a newer one.
func TestKnowledgeAppliesNoOlderState(t *testing.T) {
	k := &knowledge{log: slog.New(slog.DiscardHandler), revs: map[string]uint64{}, edited: map[string]FAQEntry{}, texts: map[string]string{}, catalog: &Catalog{}}
	text := func(s string) []byte { return []byte(`{"text": "` + s + `"}`) }
	k.apply(change{key: "text.en.status", value: text("new"), rev: 5})
	k.apply(change{key: "text.en.status", value: text("old"), rev: 3})
	if got := k.texts[textKey("en", "status")]; got != "new" {
		t.Fatalf("after a late older put: %q, want new", got)
	}
	k.apply(change{key: "text.en.status", rev: 6}) // deleted here (the put's revision + 1)
	k.apply(change{key: "text.en.status", value: text("new"), rev: 5})
	if _, ok := k.texts[textKey("en", "status")]; ok {
		t.Fatal("the deleted text came back with a late put")
	}
	k.apply(change{key: "text.en.status", rev: 7}) // the watch's own delete marker
	k.apply(change{key: "text.en.status", value: text("newer"), rev: 9})
	if got := k.texts[textKey("en", "status")]; got != "newer" {
		t.Fatalf("a later put: %q, want newer", got)
	}
}
