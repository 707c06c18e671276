package weibo

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"hotline/envelope"
	"hotline/outbound"
)

// The wiki's passive reply example, and its curl example for the API.
func TestTextDataKnownAnswer(t *testing.T) {
	tests := []struct{ text, want string }{
		{"中文消息", "%7B%22text%22%3A%22%E4%B8%AD%E6%96%87%E6%B6%88%E6%81%AF%22%7D"},
		{"纯文本回复", "%7B%22text%22%3A%22%E7%BA%AF%E6%96%87%E6%9C%AC%E5%9B%9E%E5%A4%8D%22%7D"},
		{"a b+c & <d>", "%7B%22text%22%3A%22a%20b%2Bc%20%26%20%3Cd%3E%22%7D"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			if got := textData(tc.text); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestSplitFirst(t *testing.T) {
	sentence := strings.Repeat("这是一句话。", 60) // 360 runes
	tests := []struct {
		name, text  string
		limit       int
		first, rest string
	}{
		{"fits", "hello world", 300, "hello world", ""},
		{"exactly the limit", strings.Repeat("a", 300), 300, strings.Repeat("a", 300), ""},
		{"hard cut", strings.Repeat("a", 301), 300, strings.Repeat("a", 300), "a"},
		{"space", strings.Repeat("a", 200) + " " + strings.Repeat("b", 200), 300, strings.Repeat("a", 200), strings.Repeat("b", 200)},
		{"newline preferred to a later sentence end", strings.Repeat("a", 160) + "\n" + strings.Repeat("b. ", 60), 300, strings.Repeat("a", 160), strings.Repeat("b. ", 59) + "b."},
		{"sentence end preferred to a later space", strings.Repeat("b. ", 90) + strings.Repeat("c ", 30), 300, strings.Repeat("b. ", 89) + "b.", strings.Repeat("c ", 29) + "c"},
		{"chinese sentence", sentence, 300, strings.Repeat("这是一句话。", 50), strings.Repeat("这是一句话。", 10)},
		{"no decimal cut", strings.Repeat("x", 150) + " costs 3.5 " + strings.Repeat("y", 200), 300, strings.Repeat("x", 150) + " costs 3.5", strings.Repeat("y", 200)},
		{"boundary too early", "a " + strings.Repeat("b", 400), 300, "a " + strings.Repeat("b", 298), strings.Repeat("b", 102)},
		{"chinese sentence before a closing quote", strings.Repeat("字", 200) + "。」" + strings.Repeat("字", 200), 300,
			strings.Repeat("字", 200) + "。」", strings.Repeat("字", 200)},
		{"emoji sequence kept whole", strings.Repeat("a", 299) + "👩\u200d💻", 300, strings.Repeat("a", 299), "👩\u200d💻"},
		// The passive part does not care how many parts the rest needs.
		{"line break although the rest is long", strings.Repeat("a", 200) + "\n" + strings.Repeat("b", 1500), 300,
			strings.Repeat("a", 200), strings.Repeat("b", 1500)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first, rest := splitFirst(tc.text, tc.limit)
			if first != tc.first || rest != tc.rest {
				t.Fatalf("got %q | %q, want %q | %q", first, rest, tc.first, tc.rest)
			}
		})
	}
}

func TestSplitFirstLineBreak(t *testing.T) {
	text := strings.Repeat("a", 200) + "\n" + strings.Repeat("b", 200)
	first, rest := splitFirst(text, 300)
	if first != strings.Repeat("a", 200) || rest != strings.Repeat("b", 200) {
		t.Fatalf("got %q | %q, want the cut at the line break", first, rest)
	}
}

func TestSplitAllKeepsEveryRune(t *testing.T) {
	text := strings.Repeat("客服回复，内容很长。", 250) // 2,500 runes
	parts := splitAll(text, ActiveTextLimit)
	if len(parts) != 3 {
		t.Fatalf("got %d parts, want 3", len(parts))
	}
	for i, p := range parts {
		if n := utf8.RuneCountInString(p); n > ActiveTextLimit {
			t.Errorf("part %d: got %d runes, want at most %d", i, n, ActiveTextLimit)
		}
	}
	if got := strings.Join(parts, ""); got != text {
		t.Fatal("the parts do not join back into the text")
	}
	// A preferred break that would need a fourth part is not taken.
	text = strings.Repeat("a", 600) + "\n" + strings.Repeat("b", 2300)
	if parts := splitAll(text, ActiveTextLimit); len(parts) != 3 || parts[0] != strings.Repeat("a", 600)+"\n"+strings.Repeat("b", 399) {
		t.Fatalf("got %d parts, the first of %d runes; want 3, the first full", len(parts), utf8.RuneCountInString(parts[0]))
	}
}

func testReply(user, text string) envelope.Reply {
	now := time.Now().UTC()
	return envelope.Reply{ID: envelope.NewID(now), Platform: "weibo", Account: testAccount,
		Conversation: envelope.ConversationKey("weibo", testAccount, user), To: envelope.Party{ID: user},
		Text: text, Source: envelope.SourceBot, CreatedAt: now}
}

func TestSendMapsWeiboAnswers(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{alone: true})
	ctx := context.Background()
	user := newUser()
	rc, err := g.a.Send(ctx, testReply(user, "hello"))
	if err != nil || rc.PlatformMsgID != "4001" {
		t.Fatalf("accepted send: got %+v %v, want id 4001", rc, err)
	}
	tests := []struct {
		name   string
		fail   failure
		kind   outbound.Kind
		reason string
		after  time.Duration
	}{
		{"expired token", failure{200, `{"error_code":21327,"error":"expired_token","request":"/2/messages/reply.json"}`, nil}, outbound.Permanent, "token_expired", 0},
		{"invalid token", failure{400, `{"error_code":21332,"error":"invalid_access_token","request":"/2/messages/reply.json"}`, nil}, outbound.Permanent, "token_expired", 0},
		{"token revoked", failure{400, `{"error_code":"21317","error":"token rejected","request":"/2/messages/reply.json"}`, nil}, outbound.Permanent, "token_expired", 0},
		{"user rate limit", failure{403, `{"error_code":10023,"error":"User requests out of rate limit!","request":"/2/messages/reply.json"}`, nil}, outbound.Throttled, "throttled", DefaultRetryAfter},
		{"ip rate limit with retry-after", failure{403, `{"error_code":10022,"error":"IP requests out of rate limit!"}`, http.Header{"Retry-After": {"7"}}}, outbound.Throttled, "throttled", 7 * time.Second},
		{"http 429", failure{429, `Too Many Requests`, nil}, outbound.Throttled, "throttled", DefaultRetryAfter},
		{"system error", failure{500, `{"error_code":10001,"error":"system error"}`, nil}, outbound.Retryable, "weibo_10001", 0},
		{"html gateway error", failure{502, `<html><body>Bad Gateway</body></html>`, nil}, outbound.Retryable, "http_502", 0},
		{"200 with html", failure{200, `<html>maintenance</html>`, nil}, outbound.Retryable, "bad_response", 0},
		{"outside the 48h window", failure{400, `{"error_code":26104,"error":"reply outside the time limit","request":"/2/messages/reply.json"}`, nil}, outbound.Permanent, "weibo_26104", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g.api.fail(tc.fail)
			_, err := g.a.Send(ctx, testReply(user, "hello"))
			var se *outbound.SendError
			if !errors.As(err, &se) || se.Kind != tc.kind || se.Reason != tc.reason || se.RetryAfter != tc.after {
				t.Fatalf("got %v, want %s %s after %v", err, tc.kind, tc.reason, tc.after)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Fatal("the access token is in the error")
			}
		})
	}
	if got := g.metric(t, "hotline_weibo_token_errors_total", "account", testAccount); got != 3 {
		t.Fatalf("hotline_weibo_token_errors_total: got %v, want 3", got)
	}
	if strings.Contains(g.logs.String(), testToken) {
		t.Fatal("the access token is in the logs")
	}
	bad := testReply("not-a-uid", "hello")
	if _, err := g.a.Send(ctx, bad); !isPermanent(err, "bad_recipient") {
		t.Fatalf("non-numeric receiver: got %v, want permanent bad_recipient", err)
	}
}

func isPermanent(err error, reason string) bool {
	var se *outbound.SendError
	return errors.As(err, &se) && se.Kind == outbound.Permanent && se.Reason == reason
}

func TestSendSplitsAndResumes(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{alone: true})
	ctx := context.Background()
	user := newUser()
	text := strings.Repeat("客服回复，内容很长。", 250) // 2,500 runes: three parts
	rep := testReply(user, text)
	// The second part fails once; the retry must not send the first again.
	rc, err := sendWithFailureAt(t, g, rep, 2)
	if err == nil {
		t.Fatalf("first attempt: got %+v, want the injected failure", rc)
	}
	rc, err = g.a.Send(ctx, rep)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	got := g.api.sentTo(user)
	if len(got) != 3 || strings.Join(got, "") != text {
		t.Fatalf("sent %d parts, want 3 that join into the text, each once", len(got))
	}
	if rc.Segments != 3 || rc.PlatformMsgID == "" {
		t.Fatalf("receipt: got %+v, want 3 segments and the first part's id", rc)
	}
}

// sendWithFailureAt sends rep with call n (1-based) of this send failing
// with a 500.
func sendWithFailureAt(t *testing.T, g *gateway, rep envelope.Reply, n int) (envelope.Receipt, error) {
	t.Helper()
	// The fake answers its failures first, so the failure is armed
	// only when call n starts.
	orig := g.a.http.Transport
	if orig == nil {
		orig = http.DefaultTransport
	}
	calls := 0
	g.a.http = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		if calls == n {
			g.api.fail(failure{status: 500, body: `{"error_code":10001,"error":"system error"}`})
		}
		return orig.RoundTrip(r)
	})}
	defer func() { g.a.http = &http.Client{Transport: orig} }()
	return g.a.Send(context.Background(), rep)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
