package webchat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"hotline/bus"
	"hotline/envelope"
)

// Small files of each kind, as content sniffing sees them.
var (
	pngFile = func() []byte {
		img := image.NewRGBA(image.Rect(0, 0, 4, 4))
		img.Set(1, 1, color.RGBA{R: 200, A: 255})
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			panic(err)
		}
		return buf.Bytes()
	}()
	// An ftyp box with the isom/mp41 brands, then some of an mdat.
	mp4File = append([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41\x00\x00\x00\x10mdat"), bytes.Repeat([]byte{7}, 64)...)
	// What an iPhone records: the "qt  " brand.
	movFile  = append([]byte("\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  \x00\x00\x00\x10mdat"), bytes.Repeat([]byte{9}, 64)...)
	htmlFile = []byte("<!DOCTYPE html><html><script>alert(document.cookie)</script></html>")
	elfFile  = append([]byte("\x7fELF\x02\x01\x01\x00"), bytes.Repeat([]byte{0}, 120)...)
)

// visitorJar opens the page with a fresh jar, so it holds a visitor
// cookie, and returns it with the visitor's id.
func (f *fixture) visitorJar(t *testing.T) (http.CookieJar, string) {
	t.Helper()
	jar := newJar(t)
	resp, err := (&http.Client{Jar: jar}).Get(f.srv.URL + "/chat/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(f.srv.URL + "/chat/")
	cookies := jar.Cookies(u)
	if len(cookies) != 1 {
		t.Fatalf("cookies after the page: %v", cookies)
	}
	visitor, _, _ := strings.Cut(cookies[0].Value, ".")
	return jar, visitor
}

type uploadResult struct {
	status int
	resp   uploadResponse
}

// upload posts body as the page does: same origin, the jar's cookie.
// chunked sends it without a Content-Length.
func (f *fixture) upload(t *testing.T, jar http.CookieJar, id, name string, body []byte, header http.Header, chunked bool) uploadResult {
	t.Helper()
	q := url.Values{"id": {id}, "name": {name}}
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // hides the length
	}
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/chat/upload?"+q.Encode(), r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", f.srv.URL)
	req.Header.Set("Content-Type", "application/octet-stream")
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{Timeout: 30 * time.Second}
	if jar != nil {
		client.Jar = jar
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("upload %s: %v", id, err)
	}
	defer resp.Body.Close()
	var out uploadResult
	out.status = resp.StatusCode
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out.resp); err != nil {
		t.Fatalf("upload %s: status %d, body %q: %v", id, resp.StatusCode, data, err)
	}
	return out
}

func (f *fixture) getMedia(t *testing.T, jar http.CookieJar, path string) (int, string, []byte) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	if jar != nil {
		client.Jar = jar
	}
	resp, err := client.Get(f.srv.URL + "/chat/" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), data
}

func (f *fixture) objectExists(t *testing.T, name string) bool {
	t.Helper()
	_, err := f.b.ObjectStore(bus.BucketMedia).GetInfo(context.Background(), name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return false
	}
	if err != nil {
		t.Fatalf("object %s: %v", name, err)
	}
	return true
}

func TestUploadStoresAndReferences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		file     []byte
		fileName string
		kind     envelope.Kind
		mime     string
		wantName string
	}{
		{"png", pngFile, "screenshot.png", envelope.KindImage, "image/png", "screenshot.png"},
		{"mp4", mp4File, "clip.mp4", envelope.KindVideo, "video/mp4", "clip.mp4"},
		{"quicktime", movFile, "IMG_0001.MOV", envelope.KindVideo, "video/quicktime", "IMG_0001.MOV"},
		// The bytes decide, not the name: an image it is.
		{"png named mp4", pngFile, "clip.mp4", envelope.KindImage, "image/png", "clip.mp4.png"},
		{"path and controls in the name", pngFile, "C:\\Users\\me\\evil\x00\"name\".png", envelope.KindImage, "image/png", "evil_name_.png"},
		{"no name", pngFile, "", envelope.KindImage, "image/png", "attachment.png"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Config{}, nil)
			jar, visitor := f.visitorJar(t)
			got := f.upload(t, jar, "u-1", tc.fileName, tc.file, nil, false)
			if got.status != http.StatusOK || got.resp.Type != "ack" || got.resp.ID != "u-1" || got.resp.Entry == nil {
				t.Fatalf("upload: %d %+v, want 200 and an ack with the entry", got.status, got.resp)
			}
			in := f.inbound(t)
			if len(in) != 1 {
				t.Fatalf("HOTLINE_IN: %d messages, want 1", len(in))
			}
			m := in[0]
			object := "webchat.demo." + visitor + ".u-1"
			want := envelope.Media{Kind: tc.kind, PlatformID: object, MIME: tc.mime, FileName: tc.wantName, Size: int64(len(tc.file))}
			if m.Kind != tc.kind || len(m.Media) != 1 || m.Media[0] != want || m.PlatformMsgID != visitor+"-u-1" || m.From.ID != visitor {
				t.Errorf("message: kind %s media %+v (from %s, id %s), want %s %+v", m.Kind, m.Media, m.From.ID, m.PlatformMsgID, tc.kind, want)
			}
			if !f.objectExists(t, object) {
				t.Errorf("object %s not stored", object)
			}
			e := got.resp.Entry
			if e.ID != m.ID || e.ClientID != "u-1" || e.Media == nil || e.Media.URL != "media/"+object || e.Media.Kind != string(tc.kind) {
				t.Errorf("entry %+v (media %+v), want the message's, with media/%s", e, e.Media, object)
			}
			if tr := f.transcript(t, visitor); len(tr) != 1 || tr[0].Media == nil || tr[0].Media.URL != e.Media.URL {
				t.Errorf("transcript %+v, want the attachment", tr)
			}
			status, ct, data := f.getMedia(t, jar, e.Media.URL)
			if status != http.StatusOK || ct != tc.mime || !bytes.Equal(data, tc.file) {
				t.Errorf("GET %s: %d %s %d bytes, want 200 %s and the file", e.Media.URL, status, ct, len(data), tc.mime)
			}
		})
	}
}

func TestUploadRefused(t *testing.T) {
	t.Parallel()
	big := append(append([]byte(nil), pngFile...), make([]byte, 11<<20)...)
	tests := []struct {
		name    string
		file    []byte
		header  http.Header
		noJar   bool
		chunked bool
		status  int
		code    string
	}{
		{"html named png", htmlFile, nil, false, false, http.StatusUnsupportedMediaType, codeUnsupported},
		{"executable named png", elfFile, nil, false, false, http.StatusUnsupportedMediaType, codeUnsupported},
		{"plain text", []byte("just some words, typed"), nil, false, false, http.StatusUnsupportedMediaType, codeUnsupported},
		{"empty", nil, nil, false, false, http.StatusBadRequest, codeEmpty},
		{"11 MB", big, nil, false, false, http.StatusRequestEntityTooLarge, codeTooBig},
		{"11 MB without a length", big, nil, false, true, http.StatusRequestEntityTooLarge, codeTooBig},
		{"cross-origin", pngFile, http.Header{"Origin": {"http://evil.example"}}, false, false, http.StatusForbidden, codeForbidden},
		{"cross-site fetch", pngFile, http.Header{"Sec-Fetch-Site": {"cross-site"}}, false, false, http.StatusForbidden, codeForbidden},
		{"no cookie", pngFile, nil, true, false, http.StatusForbidden, codeForbidden},
	}
	f := newFixture(t, Config{UploadBurst: 100, UploadsPerMinute: 100}, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jar, visitor := f.visitorJar(t)
			if tc.noJar {
				jar = nil
			}
			got := f.upload(t, jar, "r-1", "evidence.png", tc.file, tc.header, tc.chunked)
			if got.status != tc.status || got.resp.Type != "error" || got.resp.Code != tc.code {
				t.Errorf("got %d %+v, want %d %s", got.status, got.resp, tc.status, tc.code)
			}
			if f.objectExists(t, "webchat.demo."+visitor+".r-1") {
				t.Errorf("a refused upload left its object")
			}
		})
	}
	if in := f.inbound(t); len(in) != 0 {
		t.Errorf("HOTLINE_IN: %d messages, want none", len(in))
	}
}

func TestUploadRetryIsStoredOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	jar, visitor := f.visitorJar(t)
	first := f.upload(t, jar, "again", "a.png", pngFile, nil, false)
	second := f.upload(t, jar, "again", "a.png", pngFile, nil, false)
	if first.status != 200 || second.status != 200 || first.resp.Entry == nil || second.resp.Entry == nil ||
		first.resp.Entry.ID != second.resp.Entry.ID {
		t.Fatalf("two sends of one id: %+v then %+v, want the same ack twice", first, second)
	}
	if in := f.inbound(t); len(in) != 1 {
		t.Errorf("HOTLINE_IN: %d messages, want 1", len(in))
	}
	if tr := f.transcript(t, visitor); len(tr) != 1 {
		t.Errorf("transcript: %d entries, want 1", len(tr))
	}
}

func TestUploadRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{UploadBurst: 1, UploadsPerMinute: 1}, nil)
	jar, _ := f.visitorJar(t)
	if got := f.upload(t, jar, "one", "a.png", pngFile, nil, false); got.status != 200 {
		t.Fatalf("first upload: %+v", got)
	}
	if got := f.upload(t, jar, "two", "b.png", pngFile, nil, false); got.status != http.StatusTooManyRequests || got.resp.Code != codeRateLimited {
		t.Errorf("second upload: %+v, want 429 rate_limited", got)
	}
	// Another visitor has a budget of their own.
	other, _ := f.visitorJar(t)
	if got := f.upload(t, other, "one", "a.png", pngFile, nil, false); got.status != 200 {
		t.Errorf("another visitor's upload: %+v", got)
	}
}

func TestUploadPublishFailureLeavesNoObject(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	jar, visitor := f.visitorJar(t)
	if err := f.b.JetStream().DeleteStream(context.Background(), bus.StreamIn); err != nil {
		t.Fatal(err)
	}
	got := f.upload(t, jar, "lost", "a.png", pngFile, nil, false)
	if got.status != http.StatusServiceUnavailable || got.resp.Code != codeUnavailable {
		t.Fatalf("got %+v, want 503 unavailable", got)
	}
	if f.objectExists(t, "webchat.demo."+visitor+".lost") {
		t.Errorf("the file of a message that was not stored is still in the bucket")
	}
	if tr := f.transcript(t, visitor); len(tr) != 0 {
		t.Errorf("transcript %+v, want nothing", tr)
	}
	// The bucket expires what a failed delete leaves behind.
	info, err := f.b.JetStream().Stream(context.Background(), "OBJ_"+bus.BucketMedia)
	if err != nil {
		t.Fatal(err)
	}
	if cfg := info.CachedInfo().Config; cfg.MaxAge != bus.MediaTTL || cfg.MaxBytes <= 0 || cfg.Discard != jetstream.DiscardNew {
		t.Errorf("media bucket: max age %v, max bytes %d, discard %v; want %v, bounded, new", cfg.MaxAge, cfg.MaxBytes, cfg.Discard, bus.MediaTTL)
	}
}

func TestMediaOnlyForItsVisitor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	jar, visitor := f.visitorJar(t)
	got := f.upload(t, jar, "mine", "a.png", pngFile, nil, false)
	if got.status != 200 {
		t.Fatalf("upload: %+v", got)
	}
	path := got.resp.Entry.Media.URL
	other, _ := f.visitorJar(t)
	tests := []struct {
		name string
		jar  http.CookieJar
		path string
		want int
	}{
		{"owner", jar, path, http.StatusOK},
		{"another visitor", other, path, http.StatusNotFound},
		{"no cookie", nil, path, http.StatusNotFound},
		{"owner, missing object", jar, "media/webchat.demo." + visitor + ".nothing", http.StatusNotFound},
		{"owner, another account's name", jar, "media/webchat.other." + visitor + ".mine", http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, _, _ := f.getMedia(t, tc.jar, tc.path); status != tc.want {
				t.Errorf("GET %s: %d, want %d", tc.path, status, tc.want)
			}
		})
	}
}

func TestFetchMedia(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	jar, _ := f.visitorJar(t)
	got := f.upload(t, jar, "ev", "clip.mp4", mp4File, nil, false)
	if got.status != 200 {
		t.Fatalf("upload: %+v", got)
	}
	m := f.inbound(t)[0].Media[0]
	ctx := context.Background()
	body, ct, err := f.a.FetchMedia(ctx, m)
	if err != nil {
		t.Fatalf("FetchMedia: %v", err)
	}
	data, err := io.ReadAll(body)
	body.Close()
	if err != nil || ct != "video/mp4" || !bytes.Equal(data, mp4File) {
		t.Errorf("FetchMedia: %s, %d bytes, %v; want video/mp4 and the file", ct, len(data), err)
	}
	tests := []struct {
		name string
		want error
	}{
		{"webchat.demo.nobody.x", ErrMediaNotFound},
		{"webchat.demo.nobody.x", fs.ErrNotExist},
		{"webchat.other." + strings.TrimPrefix(m.PlatformID, "webchat.demo."), fs.ErrInvalid},
		{"", fs.ErrInvalid},
		{"webchat.demo.", fs.ErrInvalid},
		{"../etc/passwd", fs.ErrInvalid},
	}
	for _, tc := range tests {
		if _, _, err := f.a.FetchMedia(ctx, envelope.Media{Kind: envelope.KindImage, PlatformID: tc.name}); !errors.Is(err, tc.want) {
			t.Errorf("FetchMedia(%q): %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestSniffMedia(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		head []byte
		mime string
		ok   bool
	}{
		{"png", pngFile, "image/png", true},
		{"jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), "image/jpeg", true},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), "image/gif", true},
		{"webp", []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), "image/webp", true},
		{"mp4", mp4File, "video/mp4", true},
		{"webm", []byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01"), "video/webm", true},
		{"quicktime", movFile, "video/quicktime", true},
		{"html", htmlFile, "text/html", false},
		{"svg (script inside)", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "text/xml", false},
		{"elf", elfFile, "application/octet-stream", false},
		{"pdf", []byte("%PDF-1.7\n"), "application/pdf", false},
		{"zip", []byte("PK\x03\x04"), "application/zip", false},
		{"short", []byte("ab"), "text/plain", false},
	}
	for _, tc := range tests {
		mime, _, ok := sniffMedia(tc.head)
		if ok != tc.ok || ok && mime != tc.mime {
			t.Errorf("%s: %s %v, want %s %v", tc.name, mime, ok, tc.mime, tc.ok)
		}
	}
}

func FuzzUploadInput(f *testing.F) {
	for _, s := range [][]byte{pngFile[:40], mp4File, movFile, htmlFile, elfFile, []byte("a/b\\c.png")} {
		f.Add(s, "C:\\x\\shot.png")
	}
	f.Add([]byte{}, "")
	f.Add([]byte("\x00"), strings.Repeat("é", 300)+".mp4")
	f.Fuzz(func(t *testing.T, head []byte, name string) {
		mime, kind, ok := sniffMedia(head)
		if ok && mediaTypes[mime] != kind {
			t.Fatalf("sniffMedia: %s as %s", mime, kind)
		}
		if !ok {
			return
		}
		got := sanitizeFileName(name, mime)
		if !utf8.ValidString(got) || got == "" || utf8.RuneCountInString(got) > maxFileNameRunes ||
			strings.ContainsAny(got, "/\\\x00\r\n\"") {
			t.Fatalf("sanitizeFileName(%q) = %q", name, got)
		}
	})
}

func TestPickLang(t *testing.T) {
	t.Parallel()
	labels := map[string]map[string]string{"en": {}, "ar": {LabelDir: "rtl"}, "zh": {}, "zh-Hant": {}, "pt": {}}
	p, err := newLangPicker(labels)
	if err != nil {
		t.Fatal(err)
	}
	none, _ := newLangPicker(nil)
	tests := []struct {
		list      string
		want      string
		wantNoLbl string
	}{
		{"ar", "ar", "ar"},
		{"fr-FR,ar-EG,en", "ar", "fr-FR"},
		{"en-US,ar", "en", "en-US"},
		{"zh-TW,en", "zh-Hant", "zh-TW"},
		{"pt-BR", "pt", "pt-BR"},
		{"fr-CA", "fr-CA", "fr-CA"},
		{"", "", ""},
		{"<script>,ar", "ar", "ar"},
		{strings.Repeat("fr,", 20) + "ar", "fr", "fr"}, // only the first ten count
	}
	for _, tc := range tests {
		if got := p.pick(tc.list); got != tc.want {
			t.Errorf("pick(%q) = %q, want %q", tc.list, got, tc.want)
		}
		if got := none.pick(tc.list); got != tc.wantNoLbl {
			t.Errorf("without labels: pick(%q) = %q, want %q", tc.list, got, tc.wantNoLbl)
		}
	}
}

func TestLabelsPerLanguage(t *testing.T) {
	t.Parallel()
	labels := map[string]map[string]string{
		"en": {"webchat_send": "Send"},
		"ar": {"webchat_send": "إرسال", LabelDir: "rtl"},
		"es": {"webchat_send": "Enviar</script><script>alert(1)</script>"},
	}
	f := newFixture(t, Config{Labels: labels}, nil)
	tests := []struct {
		query string
		lang  string
		dir   string
	}{
		{"?langs=" + url.QueryEscape("ar-SA,en"), "ar", "rtl"},
		{"?langs=" + url.QueryEscape("de-DE,es-MX"), "es", ""},
		{"?lang=en-GB", "en", ""},
	}
	for _, tc := range tests {
		c := f.dial(t, newJar(t), tc.query)
		if c.hello.Lang != tc.lang || c.hello.Dir != tc.dir {
			t.Errorf("%s: hello lang %q dir %q, want %q %q", tc.query, c.hello.Lang, c.hello.Dir, tc.lang, tc.dir)
		}
		c.send(t, "m1", "hola")
		c.until(t, "ack", func(fr frame) bool { return fr.Type == "ack" })
	}
	in := f.inbound(t)
	if len(in) != 3 || in[0].LangHint != "ar" || in[1].LangHint != "es" || in[2].LangHint != "en" {
		t.Errorf("lang hints: %+v, want ar, es, en", in)
	}

	resp, err := http.Get(f.srv.URL + "/chat/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	start := bytes.Index(page, []byte(`<script type="application/json" id="labels">`))
	if start < 0 {
		t.Fatalf("page has no labels block")
	}
	block := page[start+len(`<script type="application/json" id="labels">`):]
	block = block[:bytes.Index(block, []byte("</script>"))]
	var got map[string]map[string]string
	if err := json.Unmarshal(block, &got); err != nil {
		t.Fatalf("labels block %q: %v", block, err)
	}
	if got["ar"]["webchat_send"] != "إرسال" || got["ar"][LabelDir] != "rtl" || got["es"]["webchat_send"] != labels["es"]["webchat_send"] {
		t.Errorf("labels in the page: %v", got)
	}
}
