package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotline/bus/bustest"
	"hotline/envelope"
)

// pngBytes is the start of a real PNG: what the sniffer looks at.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0}, 200)...)

// fakeFetcher serves canned files by id and counts its calls.
type fakeFetcher struct {
	mu    sync.Mutex
	calls int
	files map[string]fakeFile
	gate  chan struct{} // when set, each fetch waits for it
}

type fakeFile struct {
	body  io.Reader
	data  []byte
	ctype string
	err   error
}

func (f *fakeFetcher) FetchMedia(ctx context.Context, m envelope.Media) (io.ReadCloser, string, error) {
	f.mu.Lock()
	f.calls++
	file, ok := f.files[m.PlatformID+m.URL]
	f.mu.Unlock()
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
	if !ok {
		return nil, "", fmt.Errorf("fake: %q: %w", m.PlatformID, fs.ErrNotExist)
	}
	if file.err != nil {
		return nil, "", file.err
	}
	if file.body != nil {
		return io.NopCloser(file.body), file.ctype, nil
	}
	return io.NopCloser(bytes.NewReader(file.data)), file.ctype, nil
}

func (f *fakeFetcher) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// endless is a body that never ends, counting what was read of it.
type endless struct{ n atomic.Int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xff
	}
	e.n.Add(int64(len(p)))
	return len(p), nil
}

func newServer(t *testing.T, cfg Config, f Fetcher, now func() time.Time) *httptest.Server {
	t.Helper()
	reg := NewRegistry()
	reg.Add("telegram", "tg-main", f)
	mux := http.NewServeMux()
	mux.Handle(Pattern, NewHandler(cfg, Deps{Registry: reg, Now: now}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestEndpoint(t *testing.T) {
	html := []byte("<!DOCTYPE html><html><script>alert(document.cookie)</script></html>")
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	pdf := []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
	amr := append([]byte("#!AMR\n"), bytes.Repeat([]byte{0x3c, 0x91, 0x17}, 50)...)
	ogg := append([]byte("OggS\x00\x02"), bytes.Repeat([]byte{1}, 100)...)
	big := &endless{}
	f := &fakeFetcher{files: map[string]fakeFile{
		"photo":     {data: pngBytes, ctype: "application/octet-stream"},
		"lying":     {data: pngBytes, ctype: "text/html"},
		"html":      {data: html, ctype: "image/jpeg"},
		"svg":       {data: svg, ctype: "image/svg+xml"},
		"text":      {data: []byte("just words"), ctype: "image/png"},
		"pdf":       {data: pdf, ctype: "application/pdf"},
		"amr":       {data: amr, ctype: "audio/amr"},
		"amr-nodec": {data: amr},
		"ogg-voice": {data: ogg, ctype: "application/octet-stream"},
		"ogg-video": {data: ogg, ctype: "video/ogg"},
		"huge":      {body: big, ctype: "video/mp4"},
		"empty":     {data: nil, ctype: "image/png"},
		"gone":      {err: fmt.Errorf("fake: errcode 40007: %w", fs.ErrNotExist)},
		"refused":   {err: fmt.Errorf("fake: not this host: %w", fs.ErrInvalid)},
		"toobig":    {err: fmt.Errorf("fake: file is too big: %w", &http.MaxBytesError{Limit: 20 << 20})},
		"down":      {err: errors.New("fake: HTTP 502 from the platform")},
	}}
	srv := newServer(t, Config{MaxBytes: 1 << 20}, f, nil)
	base := srv.URL + "/admin/v1/media/telegram/tg-main"
	tests := []struct {
		name, url   string
		code        int
		ctype       string
		disposition string
		errHas      string
	}{
		{"png by id", base + "?id=photo", 200, "image/png", "inline", ""},
		{"the bytes beat a declared text type", base + "?id=lying", 200, "image/png", "inline", ""},
		{"html declared as a jpeg", base + "?id=html", 415, "", "", "not an image"},
		{"svg may hold script", base + "?id=svg", 415, "", "", "not an image"},
		{"text declared as a png", base + "?id=text", 415, "", "", "text/plain"},
		{"pdf is downloaded, not shown", base + "?id=pdf", 200, "application/pdf", "attachment", ""},
		{"amr: unknown binary, declared audio", base + "?id=amr", 200, "audio/amr", "inline", ""},
		{"unknown binary without a declared type", base + "?id=amr-nodec", 415, "", "", "octet-stream"},
		{"ogg is audio unless declared video", base + "?id=ogg-voice", 200, "audio/ogg", "inline", ""},
		{"ogg declared video", base + "?id=ogg-video", 200, "video/ogg", "inline", ""},
		{"over the cap mid-stream", base + "?id=huge", 413, "", "", "1 MB"},
		{"empty file", base + "?id=empty", 502, "", "", "empty"},
		{"platform: no such file", base + "?id=gone", 404, "", "", "40007"},
		{"platform: unknown id", base + "?id=nope", 404, "", "", "nope"},
		{"fetcher refuses the reference", base + "?id=refused", 400, "", "", "not this host"},
		{"platform: too big", base + "?id=toobig", 413, "", "", "too big"},
		{"platform down", base + "?id=down", 502, "", "", "HTTP 502"},
		{"unknown account", srv.URL + "/admin/v1/media/telegram/other?id=photo", 404, "", "", "no account telegram/other"},
		{"unknown platform", srv.URL + "/admin/v1/media/fax/tg-main?id=photo", 404, "", "", "no account"},
		{"no reference", base, 400, "", "", "id or url is required"},
		{"both id and url", base + "?id=photo&url=https://x.test/a", 400, "", "", "not both"},
		{"url not http", base + "?url=file:///etc/passwd", 400, "", "", "http or https"},
		{"relative url", base + "?url=/etc/passwd", 400, "", "", "http or https"},
		{"control characters", base + "?id=a%0Ab", 400, "", "", "control"},
		{"id too long", base + "?id=" + strings.Repeat("a", 2000), 400, "", "", "too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, tc.url)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tc.code)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", resp.Header.Get("X-Content-Type-Options"))
			}
			if tc.code != 200 {
				var e struct{ Error string }
				if err := json.Unmarshal(body, &e); err != nil || !strings.Contains(e.Error, tc.errHas) {
					t.Errorf("error body %s, want JSON error containing %q", body, tc.errHas)
				}
				return
			}
			if got := resp.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if got := resp.Header.Get("Content-Disposition"); got != tc.disposition {
				t.Errorf("Content-Disposition %q, want %q", got, tc.disposition)
			}
			if got := resp.Header.Get("Cache-Control"); got != "private, max-age=300" {
				t.Errorf("Cache-Control %q", got)
			}
			if got := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(got, "sandbox") {
				t.Errorf("Content-Security-Policy %q, want a sandbox", got)
			}
		})
	}
	// The endless body was read no further than one byte past the cap.
	if n := big.n.Load(); n > 1<<20+1 {
		t.Errorf("read %d bytes of an endless body, want at most %d", n, 1<<20+1)
	}
}

func TestEndpointCaches(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := &fakeFetcher{files: map[string]fakeFile{"photo": {data: pngBytes}, "html": {data: []byte("<html>")}}}
	srv := newServer(t, Config{CacheTTL: time.Minute}, f, clock)
	url := srv.URL + "/admin/v1/media/telegram/tg-main?id=photo"

	for i := range 3 {
		if resp, body := get(t, url); resp.StatusCode != 200 || !bytes.Equal(body, pngBytes) {
			t.Fatalf("request %d: %d, %d bytes", i, resp.StatusCode, len(body))
		}
	}
	if n := f.count(); n != 1 {
		t.Fatalf("three requests fetched %d times, want 1 (cached)", n)
	}
	// A player asks in ranges; they come from the cached copy.
	resp, body := get(t, url, "Range", "bytes=0-7")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, pngBytes[:8]) {
		t.Fatalf("range: %d %q", resp.StatusCode, body)
	}
	if n := f.count(); n != 1 {
		t.Fatalf("a range request fetched again (%d fetches)", n)
	}
	// Refusals are not cached: the platform is asked each time.
	get(t, srv.URL+"/admin/v1/media/telegram/tg-main?id=html")
	get(t, srv.URL+"/admin/v1/media/telegram/tg-main?id=html")
	if n := f.count(); n != 3 {
		t.Fatalf("%d fetches after two refused requests, want 3", n)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	get(t, url)
	if n := f.count(); n != 4 {
		t.Fatalf("%d fetches after the TTL, want 4 (fetched again)", n)
	}
}

func TestEndpointSharesOneDownload(t *testing.T) {
	f := &fakeFetcher{files: map[string]fakeFile{"photo": {data: pngBytes}}, gate: make(chan struct{})}
	// No cache: a request that came after the download would fetch the
	// file again, so one fetch for five requests proves they shared it.
	srv := newServer(t, Config{CacheBytes: -1}, f, nil)
	url := srv.URL + "/admin/v1/media/telegram/tg-main?id=photo"
	var wg sync.WaitGroup
	codes := make(chan int, 5)
	for range 5 {
		wg.Go(func() {
			resp, _ := get(t, url)
			codes <- resp.StatusCode
		})
	}
	// Let the download finish only once all five requests wait for a
	// download (Handler.get's select comes after it joined or started
	// one); with a download each, the count below would say so.
	bustest.WaitFor(t, "five requests waiting for the download", func() bool { return waitingForDownload() >= 5 })
	close(f.gate)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("status %d, want 200", c)
		}
	}
	if n := f.count(); n != 1 {
		t.Errorf("5 requests at once fetched %d times, want 1", n)
	}
}

// waitingForDownload counts the goroutines blocked in the select where
// Handler.get waits for a download, read from a dump of every goroutine's
// stack: the first frame outside the runtime is (*Handler).get itself,
// and the goroutine is parked in a select. It counts the whole process:
// a test using it must not run in parallel with other handlers' tests.
func waitingForDownload() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	waiting := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		lines := strings.Split(g, "\n")
		// A header, then a function line and a file line per frame.
		for i := 1; i < len(lines); i += 2 {
			if strings.HasPrefix(lines[i], "runtime.") {
				continue
			}
			if strings.HasPrefix(lines[i], "hotline/media.(*Handler).get(") && strings.Contains(lines[0], "[select") {
				waiting++
			}
			break
		}
	}
	return waiting
}

func TestCacheBoundedInBytes(t *testing.T) {
	now := time.Now()
	c := newCache(100, time.Minute, func() time.Time { return now })
	c.put("a", make([]byte, 40), "image/png")
	c.put("b", make([]byte, 40), "image/png")
	c.get("a") // a is now the most recently used
	c.put("c", make([]byte, 40), "image/png")
	if _, ok := c.get("b"); ok {
		t.Error("b, the least recently used, was kept")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
	c.put("huge", make([]byte, 101), "video/mp4")
	if _, ok := c.get("huge"); ok {
		t.Error("a file larger than the cache was cached")
	}
	if n := c.bytes(); n != 80 {
		t.Errorf("cache holds %d bytes, want 80", n)
	}
	now = now.Add(time.Minute)
	if _, ok := c.get("a"); ok {
		t.Error("an expired file was served")
	}
}

func TestPath(t *testing.T) {
	tests := []struct {
		m    envelope.Media
		want string
	}{
		{envelope.Media{PlatformID: "AgAC+/x="}, "/admin/v1/media/telegram/tg-main?id=AgAC%2B%2Fx%3D"},
		{envelope.Media{URL: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"},
			"/admin/v1/media/telegram/tg-main?url=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC1%2FMessages%2FMM1%2FMedia%2FME1"},
		{envelope.Media{PlatformID: "mid", URL: "http://mmbiz.qpic.cn/x"}, "/admin/v1/media/telegram/tg-main?id=mid"},
		{envelope.Media{}, ""},
	}
	for _, tc := range tests {
		if got := Path("telegram", "tg-main", tc.m); got != tc.want {
			t.Errorf("Path(%+v) = %q, want %q", tc.m, got, tc.want)
		}
	}
}
