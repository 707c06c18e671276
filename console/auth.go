package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"hotline/envelope"
	"hotline/httpjson"
)

// SessionCookie is the console's login cookie. Its Path is / because the
// page calls the admin API under /admin/v1/ with it.
const SessionCookie = "hotline_console"

// CSRFHeader carries the per-session token every state-changing request
// made with the cookie must repeat. A cross-site page can make the
// browser send the cookie but cannot read the token to set the header.
const CSRFHeader = "X-CSRF-Token"

// DefaultSessionTTL is how long a console login lasts.
const DefaultSessionTTL = 12 * time.Hour

// Auth guards the admin listener: the admin API and the console.
//
// With an admin token, a request passes with the token as a bearer token
// (compared in constant time: scripts and the CLI), or with a console
// session cookie, which the login form sets after checking the same token
// (the browser). Cookie requests that change anything must also carry the
// session's CSRF token. Without a token, which config allows only on a
// loopback listener, only loopback callers pass, and nobody logs in.
//
// Sessions are stateless, signed with a key derived from the admin token:
// they survive restarts and are shared by every instance, and rotating
// the token ends them all.
type Auth struct {
	token   []byte
	key     []byte
	secure  bool
	ttl     time.Duration
	now     func() time.Time
	logins  *loginThrottle
	revoked Revocations
}

// Revocations remembers sessions ended before they expire (a logout), so
// a copy of the cookie is refused too, by every instance. Check errors
// count as revoked: the admin API fails closed.
type Revocations interface {
	Revoke(ctx context.Context, session string, until time.Time) error
	Revoked(ctx context.Context, session string) (bool, error)
}

// AuthConfig configures Auth. A zero TTL takes DefaultSessionTTL; a nil Now
// takes time.Now.
type AuthConfig struct {
	Token envelope.Secret
	// SecureCookie marks the session cookie Secure: set it when the admin
	// listener is reached over https.
	SecureCookie bool
	TTL          time.Duration
	Now          func() time.Time
	// Revocations makes logout end the session everywhere; nil: logout
	// only drops the browser's cookie.
	Revocations Revocations
}

// NewAuth returns the guard for cfg.
func NewAuth(cfg AuthConfig) *Auth {
	a := &Auth{token: []byte(cfg.Token.Reveal()), secure: cfg.SecureCookie, ttl: cfg.TTL, now: cfg.Now, revoked: cfg.Revocations}
	if a.ttl <= 0 {
		a.ttl = DefaultSessionTTL
	}
	if a.now == nil {
		a.now = time.Now
	}
	if len(a.token) > 0 {
		mac := hmac.New(sha256.New, a.token)
		mac.Write([]byte("hotline console session v1"))
		a.key = mac.Sum(nil)
	}
	a.logins = newLoginThrottle(a.now)
	return a
}

// TokenRequired reports whether callers must prove they know the token.
func (a *Auth) TokenRequired() bool { return len(a.token) > 0 }

// Require passes authorized requests to next and answers the rest with a
// JSON error: 401 without credentials, 403 for a forbidden caller or a
// cross-site or CSRF-less change.
func (a *Auth) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.authorize(r); err != nil {
			switch err.status {
			case http.StatusUnauthorized:
				w.Header().Set("WWW-Authenticate", `Bearer realm="hotline admin"`)
			case http.StatusTooManyRequests:
				w.Header().Set("Retry-After", "5")
			}
			httpjson.Error(w, err.status, err.msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type authError struct {
	status int
	msg    string
}

func (a *Auth) authorize(r *http.Request) *authError {
	if !a.TokenRequired() {
		if !loopbackRemote(r.RemoteAddr) || r.Header.Get("X-Forwarded-For") != "" {
			return &authError{http.StatusForbidden, "admin API: no admin token configured; local callers only"}
		}
		// A page whose name was re-pointed at 127.0.0.1 (DNS rebinding)
		// reaches a loopback listener from the operator's own browser,
		// as a same-origin caller; only its Host header gives it away.
		if !loopbackHost(r.Host) {
			return &authError{http.StatusForbidden, "admin API: no admin token configured; open it as localhost or 127.0.0.1"}
		}
		if changes(r) && crossSite(r) {
			return &authError{http.StatusForbidden, "admin API: cross-site request refused"}
		}
		return nil
	}
	if authz := r.Header.Get("Authorization"); authz != "" {
		// Wrong tokens spend the login budgets (per client address and
		// listener-wide), so guessing here is no faster than at the
		// login form. The token is compared first and the right one
		// spends nothing: an operator's scripts keep working while a
		// guesser, even one at the same address, gets 429s.
		scheme, got, ok := strings.Cut(authz, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(got), a.token) != 1 {
			if !a.logins.take(clientIP(r.RemoteAddr)) {
				return &authError{http.StatusTooManyRequests, "admin API: too many wrong tokens; wait a few seconds"}
			}
			return &authError{http.StatusUnauthorized, "admin API: missing or wrong bearer token"}
		}
		return nil
	}
	nonce, _, ok := a.session(r)
	if !ok {
		return &authError{http.StatusUnauthorized, "admin API: missing or wrong bearer token, or no console login"}
	}
	if changes(r) {
		if crossSite(r) {
			return &authError{http.StatusForbidden, "admin API: cross-site request refused"}
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(a.csrf(nonce))) != 1 {
			return &authError{http.StatusForbidden, "admin API: missing or wrong " + CSRFHeader + " header"}
		}
	}
	return nil
}

// changes reports whether the method may change state.
func changes(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// crossSite reports whether a browser says the request comes from another
// site. Sec-Fetch-Site, which every current browser sends, decides; without
// it, an Origin header (sent with every cross-origin POST, PUT and DELETE)
// must name this host. A page with Referrer-Policy no-referrer, like the
// console, sends "Origin: null" with its own form posts, so Origin alone
// cannot tell. The CLI and scripts send neither header.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "":
	default: // cross-site, or same-site: another port or subdomain
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || u.Host != r.Host
}

// loopbackHost reports whether a Host header names this machine by a
// loopback name or address.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loopbackRemote(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newSession returns a cookie value: version, expiry, random nonce and a
// MAC over them.
func (a *Auth) newSession() (value string, expires time.Time) {
	var raw [18]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand since Go 1.24)
	expires = a.now().Add(a.ttl).Truncate(time.Second)
	body := "v1." + strconv.FormatInt(expires.Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString(raw[:])
	return body + "." + a.sign(body), expires
}

// session returns the nonce and expiry of a valid, unexpired, unrevoked
// session cookie.
func (a *Auth) session(r *http.Request) (nonce string, expires time.Time, ok bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return "", time.Time{}, false
	}
	body, mac, found := cutLast(c.Value, ".")
	if !found || !hmac.Equal([]byte(mac), []byte(a.sign(body))) {
		return "", time.Time{}, false
	}
	parts := strings.Split(body, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return "", time.Time{}, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !a.now().Before(time.Unix(exp, 0)) {
		return "", time.Time{}, false
	}
	if a.revoked != nil {
		if gone, err := a.revoked.Revoked(r.Context(), parts[2]); gone || err != nil {
			return "", time.Time{}, false
		}
	}
	return parts[2], time.Unix(exp, 0).UTC(), true
}

func (a *Auth) sign(body string) string {
	mac := hmac.New(sha256.New, a.key)
	mac.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// csrf derives the session's CSRF token from its nonce.
func (a *Auth) csrf(nonce string) string { return a.sign("csrf." + nonce) }

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// sessionInfo is GET /console/session: what the page needs to know before
// it shows anything.
type sessionInfo struct {
	// LoginRequired is false when the admin listener has no token.
	LoginRequired bool `json:"login_required"`
	Authenticated bool `json:"authenticated"`
	// CSRF is the token to send in X-CSRF-Token; empty without a session.
	CSRF      string    `json:"csrf,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

func (a *Auth) sessionInfo(w http.ResponseWriter, r *http.Request) {
	info := sessionInfo{LoginRequired: a.TokenRequired()}
	switch {
	case !a.TokenRequired():
		info.Authenticated = a.authorize(r) == nil
	default:
		if nonce, expires, ok := a.session(r); ok {
			info.Authenticated, info.CSRF, info.ExpiresAt = true, a.csrf(nonce), expires
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Write(w, http.StatusOK, info)
}

// login checks the token from the form and sets the session cookie. It
// answers with a redirect so a plain HTML form works without script.
func (a *Auth) login(w http.ResponseWriter, r *http.Request) {
	if !a.TokenRequired() {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	if crossSite(r) {
		httpjson.Error(w, http.StatusForbidden, "console: cross-site login refused")
		return
	}
	token := r.PostFormValue("token")
	// Every attempt spends from the budget before the comparison, so
	// guesses sent at once are throttled like guesses sent in turn.
	if !a.logins.take(clientIP(r.RemoteAddr)) {
		w.Header().Set("Retry-After", "5")
		httpjson.Error(w, http.StatusTooManyRequests, "console: too many login attempts; wait a few seconds")
		return
	}
	if subtle.ConstantTimeCompare([]byte(token), a.token) != 1 {
		http.Redirect(w, r, "/console/?login=failed", http.StatusSeeOther)
		return
	}
	value, expires := a.newSession()
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", Expires: expires, MaxAge: int(a.ttl / time.Second),
		HttpOnly: true, Secure: a.secure || overHTTPS(r), SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

// logout drops the browser's session cookie and, with Revocations, ends
// the session for every copy of the cookie.
func (a *Auth) logout(w http.ResponseWriter, r *http.Request) {
	if crossSite(r) {
		httpjson.Error(w, http.StatusForbidden, "console: cross-site logout refused")
		return
	}
	if nonce, expires, ok := a.session(r); ok && a.revoked != nil {
		if err := a.revoked.Revoke(r.Context(), nonce, expires); err != nil {
			httpjson.Error(w, http.StatusServiceUnavailable, "console: logout not recorded, try again: "+err.Error())
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.secure || overHTTPS(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

// overHTTPS reports whether the browser reached us over https, directly or
// through a proxy that says so. Trusting the header can only make the
// cookie stricter.
func overHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// clientIP is the caller's address without the port.
func clientIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// String keeps the token out of any accidental %v.
func (a *Auth) String() string {
	return fmt.Sprintf("console.Auth{token required: %t}", a.TokenRequired())
}
