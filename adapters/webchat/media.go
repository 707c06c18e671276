package webchat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"hotline/bus"
	"hotline/envelope"
)

// Limits of attachments.
const (
	// MaxUploadBytes is the largest file a visitor may attach: a
	// screenshot or a short phone video as evidence, not a film.
	MaxUploadBytes = 10 << 20
	// DefaultUploadsPerMinute and DefaultUploadBurst are each visitor's
	// upload budget, apart from their messages': a file costs the store
	// thousands of times what a line of text does.
	DefaultUploadsPerMinute = 6
	DefaultUploadBurst      = 3
	// uploadTimeout bounds receiving and storing one file: 10 MB over a
	// poor phone connection.
	uploadTimeout = 2 * time.Minute
	// sniffLen is what http.DetectContentType looks at.
	sniffLen = 512
	// maxFileNameRunes bounds the file name kept for display.
	maxFileNameRunes = 100
	// mediaReaders bounds the attachments one instance reads into memory
	// at once to serve them back (a video is fetched in ranges, over and
	// over).
	mediaReaders = 16
)

// ErrMediaNotFound is what FetchMedia returns for a reference that is not
// (or no longer, past the bucket's TTL) in the store. It is an
// fs.ErrNotExist, which the agents' media endpoint answers with 404.
var ErrMediaNotFound = fmt.Errorf("webchat: media not found: %w", fs.ErrNotExist)

// mediaTypes are the types a visitor may attach, as content sniffing
// names them, and the message kind each makes. The declared type and the
// file name are never trusted: a page can claim anything.
var mediaTypes = map[string]envelope.Kind{
	"image/png":       envelope.KindImage,
	"image/jpeg":      envelope.KindImage,
	"image/gif":       envelope.KindImage,
	"image/webp":      envelope.KindImage,
	"video/mp4":       envelope.KindVideo,
	"video/webm":      envelope.KindVideo,
	"video/quicktime": envelope.KindVideo,
}

// mediaExt is the extension a stored file's name gets for its type.
var mediaExt = map[string]string{
	"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
	"video/mp4": ".mp4", "video/webm": ".webm", "video/quicktime": ".mov",
}

// sniffMedia names the type of a file from its first bytes, and the kind
// of message it makes; ok is false for anything not in mediaTypes.
func sniffMedia(head []byte) (mime string, kind envelope.Kind, ok bool) {
	if len(head) > sniffLen {
		head = head[:sniffLen]
	}
	mime, _, _ = strings.Cut(http.DetectContentType(head), ";")
	if mime == "application/octet-stream" && isQuickTime(head) {
		// DetectContentType knows MP4's ftyp brands but not Apple's "qt  ",
		// which is what an iPhone records.
		mime = "video/quicktime"
	}
	kind, ok = mediaTypes[mime]
	return mime, kind, ok
}

// isQuickTime recognizes a QuickTime movie by its first atom: ftyp with
// the "qt  " brand, or the moov/wide atoms older files start with.
func isQuickTime(head []byte) bool {
	if len(head) < 12 {
		return false
	}
	switch string(head[4:8]) {
	case "ftyp":
		return string(head[8:12]) == "qt  "
	case "moov", "wide":
		return true
	}
	return false
}

// sanitizeFileName keeps what a file name may show an agent: its last
// path element, printable characters other than those file systems and
// headers choke on, at most maxFileNameRunes, and the extension of the
// type it really is (appended when the name claims another), so an
// agent's download opens with the right program.
func sanitizeFileName(name, mime string) string {
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "")
	}
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r < 0x20, r == 0x7f, !unicode.IsPrint(r) && r != ' ':
			return -1
		case strings.ContainsRune(`:*?"<>|;`, r):
			return '_'
		}
		return r
	}, name)
	name = strings.Trim(name, " .")
	ext := mediaExt[mime]
	if name == "" {
		return "attachment" + ext
	}
	if ext != "" && !strings.EqualFold(path.Ext(name), ext) && !(ext == ".jpg" && strings.EqualFold(path.Ext(name), ".jpeg")) {
		name += ext
	}
	if r := []rune(name); len(r) > maxFileNameRunes {
		// Keep the extension: cut the stem.
		e := []rune(path.Ext(name))
		if len(e) >= maxFileNameRunes {
			e = e[:0]
		}
		name = string(r[:maxFileNameRunes-len(e)]) + string(e)
	}
	return name
}

// objectName is where a visitor's attachment sent under a client id is
// kept. It is the same on every retry, so a retry overwrites nothing new
// and a message referencing it finds it again.
func (a *Adapter) objectName(visitor, clientID string) string {
	return a.objectPrefix() + visitor + "." + clientID
}

func (a *Adapter) objectPrefix() string { return "webchat." + a.cfg.Account + "." }

// Metadata keys of a stored attachment.
const (
	metaVisitor  = "visitor"
	metaMIME     = "mime"
	metaFileName = "file_name"
)

// entryMedia is an attachment as the page shows it.
type entryMedia struct {
	Kind string `json:"kind"` // image or video
	URL  string `json:"url"`  // relative to the page: media/<object>
	MIME string `json:"mime"`
	Name string `json:"name,omitempty"`
	Size int64  `json:"size"`
}

func mediaURL(object string) string { return "media/" + url.PathEscape(object) }

// uploadResponse is the body of every answer to an upload: an ack with
// the stored entry, or an error as on the socket.
type uploadResponse struct {
	Type    string `json:"type"`
	ID      string `json:"id,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Entry   *entry `json:"entry,omitempty"`
}

// Error codes of uploads, besides the socket's.
const (
	codeForbidden   = "forbidden"
	codeTooBig      = "too_big"
	codeUnsupported = "unsupported_type"
)

func writeUpload(w http.ResponseWriter, status int, r uploadResponse) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if status == http.StatusTooManyRequests {
		h.Set("Retry-After", "10")
	}
	w.WriteHeader(status)
	_, _ = w.Write(mustJSON(r))
}

func uploadError(w http.ResponseWriter, status int, id, code, message string) {
	writeUpload(w, status, uploadResponse{Type: "error", ID: id, Code: code, Message: message})
}

// serveUpload takes one attachment: POST /chat/upload?id=<client id>&name=<file name>
// with the file as the body. It answers 200 with the entry only once the
// file is in hotline_media and the message referencing it is on
// HOTLINE_IN; the page sends it again under the same id otherwise.
func (a *Adapter) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if err := a.sameOrigin.Check(r); err != nil {
		a.log.Debug("upload refused: cross-origin", "origin", r.Header.Get("Origin"), "err", err)
		uploadError(w, http.StatusForbidden, "", codeForbidden, "Cross-origin uploads are not allowed.")
		return
	}
	// An upload never makes a visitor: the page has its cookie from the
	// page and the socket, and a file must belong to a conversation.
	visitor := a.visitorFromCookie(r)
	if visitor == "" {
		uploadError(w, http.StatusForbidden, "", codeForbidden, "Open the chat page first.")
		return
	}
	if !validClientID(id) {
		uploadError(w, http.StatusBadRequest, "", codeBadFrame, fmt.Sprintf("id must be 1 to %d characters of A-Z a-z 0-9 _ -", maxClientIDLen))
		return
	}
	if r.ContentLength > MaxUploadBytes {
		uploadError(w, http.StatusRequestEntityTooLarge, id, codeTooBig, tooBigMessage)
		return
	}
	log := a.log.With("visitor", visitor, "client_id", id)
	ctx, cancel := context.WithTimeout(r.Context(), uploadTimeout)
	defer cancel()

	// Sent again after its ack was lost: acknowledged again, stored once,
	// no budget spent.
	lctx, lcancel := context.WithTimeout(ctx, publishTimeout)
	t, rev, terr := a.loadTranscript(lctx, visitor)
	lcancel()
	var seen *seenTranscript
	if terr == nil {
		for i := range t.Entries {
			if e := t.Entries[i]; e.Role == roleUser && e.ClientID == id {
				writeUpload(w, http.StatusOK, uploadResponse{Type: "ack", ID: id, Entry: &e})
				return
			}
		}
		seen = &seenTranscript{t: t, rev: rev}
	}
	now := a.now().UTC()
	address := clientAddress(r, a.cfg.ClientIPHeader)
	if !allowBoth(a.uploadVisitors, a.uploadAddresses, visitor, address, now) {
		log.Debug("visitor over the upload rate limit")
		uploadError(w, http.StatusTooManyRequests, id, codeRateLimited, "You are sending files too quickly. Please wait a moment and try again.")
		return
	}

	body := http.MaxBytesReader(w, r.Body, MaxUploadBytes)
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(body, head)
	switch {
	case errors.Is(err, io.EOF):
		uploadError(w, http.StatusBadRequest, id, codeEmpty, "The file is empty.")
		return
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		a.uploadReadFailed(w, log, id, err)
		return
	}
	head = head[:n]
	mime, kind, ok := sniffMedia(head)
	if !ok {
		log.Debug("upload refused: type", "sniffed", mime)
		uploadError(w, http.StatusUnsupportedMediaType, id, codeUnsupported, unsupportedMessage)
		return
	}
	name := a.objectName(visitor, id)
	fileName := sanitizeFileName(r.URL.Query().Get("name"), mime)
	info, err := a.media.Put(ctx, jetstream.ObjectMeta{
		Name: name,
		Metadata: map[string]string{
			metaVisitor: visitor, metaMIME: mime, metaFileName: fileName,
		},
	}, io.MultiReader(bytes.NewReader(head), body))
	if err != nil {
		// Put removes the chunks of an object it could not finish.
		a.uploadReadFailed(w, log, id, err)
		return
	}

	m := &envelope.Message{
		ID:            envelope.NewID(now),
		Platform:      envelope.PlatformWebChat,
		Account:       a.cfg.Account,
		PlatformMsgID: visitor + "-" + id,
		Conversation:  envelope.ConversationKey(envelope.PlatformWebChat, a.cfg.Account, visitor),
		From:          envelope.Party{ID: visitor},
		Kind:          kind,
		Media: []envelope.Media{{Kind: kind, PlatformID: name, MIME: mime, FileName: fileName,
			Size: int64(info.Size)}},
		LangHint:   a.pickLang(r.URL.Query().Get("langs")),
		ReceivedAt: now,
	}
	if err := m.Validate(); err != nil {
		log.Error("built an invalid message", "err", err)
		a.forgetObject(name, log)
		uploadError(w, http.StatusServiceUnavailable, id, codeUnavailable, unavailableUpload)
		return
	}
	pctx, pcancel := context.WithTimeout(ctx, publishTimeout)
	ack, err := a.bus.PublishInbound(pctx, m, nil)
	pcancel()
	if err != nil {
		level := slog.LevelWarn
		if errors.Is(err, bus.ErrStorageUnavailable) {
			level = slog.LevelDebug // the bus logged the fault once when it began
		}
		log.Log(ctx, level, "upload not stored", "msg_id", m.ID, "err", err)
		// Nothing refers to the file: remove it now rather than in 30
		// days. Should the publish have been stored after all (an ack
		// lost on the way), the page's retry puts the file back under
		// the same name and the message is a duplicate.
		a.forgetObject(name, log)
		uploadError(w, http.StatusServiceUnavailable, id, codeUnavailable, unavailableUpload)
		return
	}
	log.Debug("upload stored", "msg_id", m.ID, "mime", mime, "size", info.Size, "duplicate", ack.Duplicate)
	e := entry{ID: m.ID, Role: roleUser, Lang: m.LangHint, At: now, ClientID: id,
		Media: &entryMedia{Kind: string(kind), URL: mediaURL(name), MIME: mime, Name: fileName, Size: int64(info.Size)}}
	actx, acancel := context.WithTimeout(ctx, publishTimeout)
	if _, err := a.appendEntryFrom(actx, visitor, e, seen); err != nil {
		log.Warn("upload not added to the transcript", "msg_id", m.ID, "err", err)
	}
	acancel()
	writeUpload(w, http.StatusOK, uploadResponse{Type: "ack", ID: id, Entry: &e})
}

const (
	tooBigMessage      = "The file is too big: at most 10 MB."
	unsupportedMessage = "Only photos (PNG, JPEG, GIF, WebP) and videos (MP4, WebM, MOV) can be sent."
	unavailableUpload  = "The file could not be stored right now; try again shortly."
)

// uploadReadFailed answers a body that could not be read or stored: too
// big, or the client or the store gave up.
func (a *Adapter) uploadReadFailed(w http.ResponseWriter, log *slog.Logger, id string, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		uploadError(w, http.StatusRequestEntityTooLarge, id, codeTooBig, tooBigMessage)
		return
	}
	log.Warn("upload not stored", "err", err)
	uploadError(w, http.StatusServiceUnavailable, id, codeUnavailable, unavailableUpload)
}

// forgetObject deletes an attachment no message refers to. It runs on a
// context of its own: the request's may be what failed. Left behind, the
// bucket's TTL removes it.
func (a *Adapter) forgetObject(name string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	if err := a.media.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		log.Warn("orphaned upload not deleted; the bucket's TTL will", "object", name, "err", err)
	}
}

// allowBoth takes one token from the visitor's budget and one from the
// address's, or neither when either is spent.
func allowBoth(visitors, addresses *keyedLimits, visitor, address string, now time.Time) bool {
	if !addresses.has(address, now) {
		return false
	}
	if !visitors.allow(visitor, now) {
		return false
	}
	return addresses.allow(address, now)
}

// serveMedia sends an attachment back to the visitor who sent it, and to
// nobody else: GET /chat/media/{name}.
func (a *Adapter) serveMedia(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	visitor := a.visitorFromCookie(r)
	if visitor == "" || !strings.HasPrefix(name, a.objectPrefix()+visitor+".") {
		// Not found rather than forbidden: whether someone else's file
		// exists is nobody's business.
		http.NotFound(w, r)
		return
	}
	select {
	case a.readers <- struct{}{}:
		defer func() { <-a.readers }()
	default:
		w.Header().Set("Retry-After", "2")
		http.Error(w, "busy; try again", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), publishTimeout*2)
	defer cancel()
	info, err := a.media.GetInfo(ctx, name)
	if err != nil || info.Metadata[metaVisitor] != visitor {
		if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			a.log.Warn("reading an attachment", "object", name, "err", err)
			http.Error(w, "unavailable; try again", http.StatusServiceUnavailable)
			return
		}
		http.NotFound(w, r)
		return
	}
	mime := info.Metadata[metaMIME]
	if _, ok := mediaTypes[mime]; !ok {
		mime = "application/octet-stream"
	}
	// At most 10 MB, and a video is read in ranges: ServeContent needs
	// to seek.
	data, err := a.media.GetBytes(ctx, name)
	if err != nil {
		a.log.Warn("reading an attachment", "object", name, "err", err)
		http.Error(w, "unavailable; try again", http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	h.Set("Content-Type", mime)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("Content-Disposition", "inline; filename*=UTF-8''"+url.PathEscape(info.Metadata[metaFileName]))
	if info.Digest != "" {
		h.Set("ETag", strconv.Quote(info.Digest))
	}
	http.ServeContent(w, r, "", info.ModTime, bytes.NewReader(data))
}

// FetchMedia opens an attachment a web chat message refers to
// (m.PlatformID is its object name), for the agents' media endpoint
// (media.Fetcher). The caller closes body; reading it to the end checks
// its digest. Errors wrap fs.ErrInvalid for a reference that is not this
// account's and fs.ErrNotExist (ErrMediaNotFound) for one not stored.
func (a *Adapter) FetchMedia(ctx context.Context, m envelope.Media) (body io.ReadCloser, contentType string, err error) {
	name := m.PlatformID
	if !strings.HasPrefix(name, a.objectPrefix()) || len(name) == len(a.objectPrefix()) {
		// Not a reference this account made: fs.ErrInvalid (400).
		return nil, "", fmt.Errorf("webchat: media %q is not an attachment of web chat account %s: %w", name, a.cfg.Account, fs.ErrInvalid)
	}
	res, err := a.media.Get(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, "", fmt.Errorf("webchat: media %q: %w: %w", name, ErrMediaNotFound, err)
	}
	if err != nil {
		return nil, "", fmt.Errorf("webchat: media %q: %w", name, err)
	}
	info, err := res.Info()
	if err != nil {
		_ = res.Close()
		return nil, "", fmt.Errorf("webchat: media %q: info: %w", name, err)
	}
	contentType = info.Metadata[metaMIME]
	if _, ok := mediaTypes[contentType]; !ok {
		contentType = "application/octet-stream"
	}
	return res, contentType, nil
}
