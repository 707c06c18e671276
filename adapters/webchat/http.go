package webchat

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"hotline/bus"
	"hotline/envelope"
)

//go:embed static
var staticFiles embed.FS

// indexHTML is the chat page.
var indexHTML = func() []byte {
	b, err := staticFiles.ReadFile("static/index.html")
	if err != nil {
		panic("webchat: static/index.html is not embedded: " + err.Error()) // a build mistake, caught by every test
	}
	return b
}()

// contentSecurityPolicy allows the page's own files and its own socket
// only: no inline script or style, no other origin. connect-src 'self'
// covers ws: and wss: to the same host in CSP Level 3 browsers.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

// publishTimeout bounds storing one visitor message.
const publishTimeout = 5 * time.Second

// Routes are the page, its files and its socket, as http.ServeMux
// patterns.
func (a *Adapter) Routes() map[string]http.Handler {
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic("webchat: static files: " + err.Error()) // fs.Sub fails only for an invalid name
	}
	files := http.StripPrefix("/chat/static/", http.FileServerFS(static))
	return map[string]http.Handler{
		"GET /chat/{$}": http.HandlerFunc(a.servePage),
		"GET /chat/static/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/") {
				http.NotFound(w, r) // no directory listings
				return
			}
			securityHeaders(w.Header())
			w.Header().Set("Cache-Control", "no-cache")
			files.ServeHTTP(w, r)
		}),
		"GET /chat/ws":           http.HandlerFunc(a.serveSocket),
		"POST /chat/upload":      http.HandlerFunc(a.serveUpload),
		"GET /chat/media/{name}": http.HandlerFunc(a.serveMedia),
		"GET /chat": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			target := "/chat/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusMovedPermanently)
		}),
	}
}

func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// servePage serves the chat page, giving a visitor without a valid cookie
// a new one.
func (a *Adapter) servePage(w http.ResponseWriter, r *http.Request) {
	a.visitor(w, r)
	h := w.Header()
	securityHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(a.page)
}

// serveSocket runs one visitor socket: hello, then frames from the page
// in order, while a writer goroutine sends what is queued for it.
func (a *Adapter) serveSocket(w http.ResponseWriter, r *http.Request) {
	// The cookie must be on the handshake response, so before Accept.
	visitor := a.visitor(w, r)
	// langs is the browser's list (navigator.languages); lang, a single
	// tag, is what pages before it sent.
	q := r.URL.Query()
	list := q.Get("langs")
	if list == "" {
		list = q.Get("lang")
	}
	lang := a.pickLang(list)
	hj := &hijackRecorder{ResponseWriter: w}
	ws, err := websocket.Accept(hj, r, nil) // default: same origin only
	if err != nil {
		a.log.Debug("websocket handshake refused", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "err", err)
		return
	}
	ws.SetReadLimit(a.cfg.MaxFrameBytes)
	// The request's context must not be used after Accept (see
	// websocket.Accept); the socket's life is its own.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := clientAddress(r, a.cfg.ClientIPHeader)
	if !a.sockets.allow(addr, a.now()) {
		a.log.Debug("socket refused: too many new sockets from this address", "per_minute", a.cfg.NewSocketsPerMinute)
		_ = ws.Close(websocket.StatusPolicyViolation, "too many new connections; slow down")
		return
	}
	c := newConn(ws, visitor, addr, lang, func() {
		cancel()
		// The library ends a connection whose read is cancelled, but
		// not one it is itself waiting on for the close handshake (up
		// to 5 s): closing the socket underneath ends both.
		if hj.conn != nil {
			_ = hj.conn.Close()
		}
	})
	switch err := a.hub.add(c); {
	case errors.Is(err, errHubFull):
		a.log.Warn("socket refused: this instance holds its maximum", "max_sockets", a.cfg.MaxSockets)
		_ = ws.Close(websocket.StatusTryAgainLater, "too many connections; try again later")
		return
	case errors.Is(err, errAddrFull):
		a.log.Debug("socket refused: this address holds its maximum", "per_address", a.cfg.SocketsPerAddress)
		_ = ws.Close(websocket.StatusTryAgainLater, "too many connections from your address; try again later")
		return
	case err != nil:
		_ = ws.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	defer a.hub.remove(c)
	log := a.log.With("visitor", visitor)
	log.Debug("socket open", "lang", lang)

	// Registered before the history is read, so an entry stored
	// meanwhile is queued behind hello rather than missed; the page
	// skips entries it already has.
	lctx, lcancel := context.WithTimeout(ctx, publishTimeout)
	t, _, err := a.loadTranscript(lctx, visitor)
	lcancel()
	if err != nil {
		log.Warn("reading the transcript for hello", "err", err)
		c.close(websocket.StatusTryAgainLater, "history unavailable")
		c.finish()
		return
	}
	ann := a.announcement(lang)
	c.setShown(ann)
	wctx, wcancel := context.WithTimeout(ctx, writeTimeout)
	err = ws.Write(wctx, websocket.MessageText, helloFrameJSON(visitor, t.Entries, ann, a.cfg.MaxTextRunes, lang, a.labelDir(lang)))
	wcancel()
	if err != nil {
		log.Debug("writing hello", "err", err)
		c.finish()
		return
	}

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		if err := c.writeLoop(ctx); err != nil && ctx.Err() == nil {
			log.Debug("socket write", "err", err)
			_ = ws.CloseNow()
		}
	}()
	// finish first: a close handshake begun by close runs in the
	// background, and cancelling ctx while it ran could end the
	// connection before the close frame went out (under load the page
	// read EOF, not 1003). The writer stops on c.gone meanwhile.
	defer func() {
		c.finish()
		cancel()
		<-writerDone
	}()

	for {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			switch {
			case errors.Is(err, websocket.ErrMessageTooBig):
				// The library has sent 1009 already.
				log.Debug("frame over the size limit; socket closed", "limit", a.cfg.MaxFrameBytes)
			case websocket.CloseStatus(err) == websocket.StatusNormalClosure || websocket.CloseStatus(err) == websocket.StatusGoingAway:
				log.Debug("socket closed by the page")
			default:
				log.Debug("socket read", "err", err)
			}
			return
		}
		if typ != websocket.MessageText {
			log.Debug("binary frame; socket closed")
			c.close(websocket.StatusUnsupportedData, "text frames only")
			return
		}
		a.handleFrame(ctx, c, data)
	}
}

// handleFrame answers one frame from the page: an error frame, or the
// message stored in JetStream and acknowledged.
func (a *Adapter) handleFrame(ctx context.Context, c *conn, data []byte) {
	f, err := parseClientFrame(data)
	if err == nil && utf8.RuneCountInString(f.Text) > a.cfg.MaxTextRunes {
		err = &frameError{code: codeTooLong, msg: fmt.Sprintf("over %d characters", a.cfg.MaxTextRunes)}
	}
	if err != nil {
		var fe *frameError
		if !errors.As(err, &fe) {
			fe = &frameError{code: codeBadFrame, msg: err.Error()}
		}
		a.log.Debug("frame refused", "visitor", c.visitor, "code", fe.code, "err", err)
		c.push(errorFrame(f.ID, fe.code, a.humanMessage(fe)))
		return
	}
	// A page resends what it has no ack for, possibly long after the
	// stream's duplicate window: a message already in the transcript was
	// stored, so it is acknowledged again, not stored twice, and costs
	// no rate budget.
	lctx, lcancel := context.WithTimeout(ctx, publishTimeout)
	t, rev, terr := a.loadTranscript(lctx, c.visitor)
	lcancel()
	var seen *seenTranscript
	if terr == nil {
		if t.has(entry{Role: roleUser, ClientID: f.ID}) {
			c.push(ackFrameJSON(f.ID))
			return
		}
		seen = &seenTranscript{t: t, rev: rev}
	}
	now := a.now().UTC()
	if !a.allow(c, now) {
		a.log.Debug("visitor over the rate limit", "visitor", c.visitor)
		c.push(errorFrame(f.ID, codeRateLimited, "You are sending messages too quickly. Please wait a moment and try again."))
		return
	}
	m := &envelope.Message{
		ID:            envelope.NewID(now),
		Platform:      envelope.PlatformWebChat,
		Account:       a.cfg.Account,
		PlatformMsgID: c.visitor + "-" + f.ID,
		Conversation:  envelope.ConversationKey(envelope.PlatformWebChat, a.cfg.Account, c.visitor),
		From:          envelope.Party{ID: c.visitor},
		Kind:          envelope.KindText,
		Text:          f.Text,
		LangHint:      c.lang,
		ReceivedAt:    now,
		Meta:          map[string]string{envelope.MetaClientAddr: c.address},
	}
	if err := m.Validate(); err != nil {
		a.log.Error("built an invalid message", "visitor", c.visitor, "err", err)
		c.push(errorFrame(f.ID, codeUnavailable, unavailableMessage))
		return
	}
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	ack, err := a.bus.PublishInbound(pctx, m, nil)
	cancel()
	if err != nil {
		// Not acknowledged: the page keeps the message and sends it
		// again under the same client id.
		level := slog.LevelWarn
		if errors.Is(err, bus.ErrStorageUnavailable) {
			level = slog.LevelDebug // the bus logged the fault once when it began
		}
		a.log.Log(ctx, level, "inbound not stored", "visitor", c.visitor, "msg_id", m.ID, "err", err)
		c.push(errorFrame(f.ID, codeUnavailable, unavailableMessage))
		return
	}
	a.log.Debug("inbound stored", "visitor", c.visitor, "msg_id", m.ID, "duplicate", ack.Duplicate)
	e := entry{ID: m.ID, Role: roleUser, Text: m.Text, Lang: c.lang, At: now, ClientID: f.ID}
	actx, cancel := context.WithTimeout(ctx, publishTimeout)
	if _, err := a.appendEntryFrom(actx, c.visitor, e, seen); err != nil {
		// The message is stored and will be answered; only the
		// transcript misses it.
		a.log.Warn("visitor message not added to the transcript", "visitor", c.visitor, "msg_id", m.ID, "err", err)
	}
	cancel()
	c.push(ackFrameJSON(f.ID))
}

const unavailableMessage = "The message could not be sent right now; it will be sent again shortly."

// humanMessage is the English text of an error frame.
func (a *Adapter) humanMessage(fe *frameError) string {
	switch fe.code {
	case codeEmpty:
		return "The message is empty."
	case codeTooLong:
		return fmt.Sprintf("The message is too long: at most %d characters.", a.cfg.MaxTextRunes)
	}
	return "The message could not be read: " + fe.msg + "."
}

// allow takes one message from the visitor's budget and from their
// address's, or neither when either is spent.
func (a *Adapter) allow(c *conn, now time.Time) bool {
	if !a.addresses.has(c.address, now) {
		return false
	}
	if !a.visitors.allow(c.visitor, now) {
		return false
	}
	return a.addresses.allow(c.address, now)
}

// announcement asks the Announcer for the banner in lang.
func (a *Adapter) announcement(lang string) announcement {
	if a.ann == nil {
		return announcement{}
	}
	text, dir := a.ann.Announcement(a.cfg.Account, lang)
	if text == "" {
		return announcement{}
	}
	if dir != "rtl" {
		dir = ""
	}
	return announcement{Text: text, Dir: dir}
}

// pushAnnouncements sends the banner to every socket whose banner
// changed, asking the Announcer once per language.
func (a *Adapter) pushAnnouncements() {
	if a.ann == nil {
		return
	}
	byLang := map[string]announcement{}
	for _, c := range a.hub.conns("") {
		ann, ok := byLang[c.lang]
		if !ok {
			ann = a.announcement(c.lang)
			byLang[c.lang] = ann
		}
		if c.setShown(ann) {
			c.push(announcementFrameJSON(ann))
		}
	}
}

// cleanLang keeps a BCP 47-looking tag (letters, digits and hyphens, at
// most 35 characters, starting with a letter) and drops anything else.
func cleanLang(s string) string {
	if s == "" || len(s) > 35 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !(letter || i > 0 && (c == '-' || c >= '0' && c <= '9')) {
			return ""
		}
	}
	return s
}
