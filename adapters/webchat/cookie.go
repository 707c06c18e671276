package webchat

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"hotline/envelope"
)

// CookieName is the visitor cookie.
const CookieName = "hotline_chat"

// cookieMaxAge is how long a browser keeps the visitor cookie.
const cookieMaxAge = 30 * 24 * time.Hour

// validVisitorID reports whether id can be a visitor id: a safe subject
// token (it is part of a subject and a KV key).
func validVisitorID(id string) bool { return envelope.ValidToken(id) == nil }

// newVisitorID is a fresh visitor id: a gateway id in lower case.
func newVisitorID(now time.Time) string { return strings.ToLower(envelope.NewID(now)) }

// sign is the cookie's signature of visitor for this account.
func (a *Adapter) sign(visitor string) string {
	m := hmac.New(sha256.New, a.cfg.CookieKey)
	m.Write([]byte(a.cfg.Account + "|" + visitor))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// cookieValue is "<visitor>.<signature>".
func (a *Adapter) cookieValue(visitor string) string { return visitor + "." + a.sign(visitor) }

// visitorFromCookie returns the visitor a well-signed cookie names, or ""
// when the cookie is missing, malformed or forged.
func (a *Adapter) visitorFromCookie(r *http.Request) string {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return ""
	}
	visitor, sig, ok := strings.Cut(c.Value, ".")
	if !ok || !validVisitorID(visitor) {
		return ""
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return ""
	}
	want, _ := base64.RawURLEncoding.DecodeString(a.sign(visitor))
	if !hmac.Equal(got, want) {
		return ""
	}
	return visitor
}

// visitor returns the request's visitor, issuing a new one (with its
// cookie set on w) when the request has no valid cookie.
func (a *Adapter) visitor(w http.ResponseWriter, r *http.Request) string {
	if v := a.visitorFromCookie(r); v != "" {
		return v
	}
	v := newVisitorID(a.now())
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    a.cookieValue(v),
		Path:     "/chat",
		MaxAge:   int(cookieMaxAge / time.Second),
		HttpOnly: true,
		Secure:   a.cfg.SecureCookie,
		SameSite: http.SameSiteLaxMode,
	})
	a.log.Debug("new visitor", "visitor", v)
	return v
}
