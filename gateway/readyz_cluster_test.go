package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"hotline/bus/bustest"
)

// TestReadyzNeedsQuorum: on a three-node cluster /readyz is 200; with two
// nodes gone it is 503 naming the stream without quorum, and answers
// within its bound although the stream's info request is never answered;
// with the nodes back it is 200 again within seconds.
func TestReadyzNeedsQuorum(t *testing.T) {
	t.Parallel()
	c := bustest.StartCluster(t, 3)
	b := bustest.OpenOn(t, c, 3, "readyz-test")
	probe := func() (int, string) {
		rec := httptest.NewRecorder()
		start := time.Now()
		readyz(b, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("/readyz took %s, want at most about 1.5s", took)
		}
		return rec.Code, rec.Body.String()
	}
	if code, body := probe(); code != http.StatusOK {
		t.Fatalf("whole cluster: %d %q, want 200", code, body)
	}

	c.Kill(0)
	c.Kill(1)
	var code int
	var body string
	bustest.WaitFor(t, "/readyz to report no quorum", func() bool {
		code, body = probe()
		return code == http.StatusServiceUnavailable && strings.Contains(body, "no quorum for HOTLINE_")
	})

	c.Restart(0)
	c.Restart(1)
	c.WaitHealthy(t)
	// The client reconnects and the stream's leader settles on its own
	// time after the nodes report healthy: /readyz follows within seconds.
	bustest.WaitFor(t, "/readyz to be 200 with the nodes back", func() bool {
		code, body = probe()
		return code == http.StatusOK
	})
}
