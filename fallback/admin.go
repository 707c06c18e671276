package fallback

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"hotline/bus"
	"hotline/envelope"
	"hotline/httpjson"
)

// maxAdminBody caps every admin request body.
const maxAdminBody = 64 << 10

// admin serves the degraded-mode part of the admin API.
type admin struct {
	store    *Store
	review   *Review
	b        *bus.Bus
	accounts func(platform string) []string
}

// AdminHandler serves the operators' API for modes, the audit trail and
// the review queue under /admin/v1/. The caller mounts it behind the admin
// listener's bearer-token check. review may be nil when the review queue
// is not run; its routes then answer 503. accounts lists the accounts of
// a platform this gateway runs: a mode set for any other platform or
// account is refused, since it would silently do nothing (nil: no check).
// Clearing is never refused, so a setting left behind by a removed
// account can go.
//
//	GET    /admin/v1/modes                     settings in force
//	PUT    /admin/v1/modes/{mode}              {"scope","reason","set_by","ttl","announce"}
//	DELETE /admin/v1/modes/{mode}?scope=&by=   204, 404 when not set
//	GET    /admin/v1/audit?limit=50            last records, oldest first
//	GET    /admin/v1/review?limit=50           held replies waiting
//	POST   /admin/v1/review/{id}/approve|edit|reject   {"by","text","reason"}
//
// Errors are JSON {"error": "..."} naming the field at fault: 400 for bad
// input, 404 for what does not exist, 409 for a reply already decided, 413
// for a body over 64 KiB.
func AdminHandler(store *Store, review *Review, b *bus.Bus, accounts func(platform string) []string) http.Handler {
	a := &admin{store: store, review: review, b: b, accounts: accounts}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/v1/modes", a.listModes)
	mux.HandleFunc("PUT /admin/v1/modes/{mode}", a.setMode)
	mux.HandleFunc("DELETE /admin/v1/modes/{mode}", a.clearMode)
	mux.HandleFunc("GET /admin/v1/audit", a.audit)
	mux.HandleFunc("GET /admin/v1/review", a.pending)
	mux.HandleFunc("POST /admin/v1/review/{id}/{action}", a.decide)
	return mux
}

func (a *admin) listModes(w http.ResponseWriter, _ *http.Request) {
	httpjson.Write(w, http.StatusOK, a.store.List())
}

// SetModeRequest is the body of PUT /admin/v1/modes/{mode}.
type SetModeRequest struct {
	Scope  string `json:"scope"`
	Reason string `json:"reason"`
	SetBy  string `json:"set_by"`
	// TTL switches the mode off by itself after this long ("90m",
	// "2h"); empty keeps it on until cleared.
	TTL      string            `json:"ttl,omitempty"`
	Announce map[string]string `json:"announce,omitempty"`
}

func (a *admin) setMode(w http.ResponseWriter, r *http.Request) {
	mode := r.PathValue("mode")
	if !KnownMode(mode) {
		a.fail(w, unknownMode(mode))
		return
	}
	var req SetModeRequest
	if !readBody(w, r, &req) {
		return
	}
	scope, err := ParseScope(req.Scope)
	if err != nil {
		a.fail(w, err)
		return
	}
	if err := a.knownAccount(scope); err != nil {
		a.fail(w, err)
		return
	}
	if req.SetBy == SetByAuto {
		a.fail(w, invalid("set_by", "%q is reserved for changes hotline makes by itself", SetByAuto))
		return
	}
	set := Setting{Mode: mode, Scope: scope, Reason: req.Reason, SetBy: req.SetBy, Announce: req.Announce}
	if req.TTL != "" {
		ttl, err := time.ParseDuration(req.TTL)
		if err != nil {
			a.fail(w, invalid("ttl", "%q is not a duration (e.g. \"90m\", \"2h\")", req.TTL))
			return
		}
		if ttl < time.Second {
			a.fail(w, invalid("ttl", "%s is too short (at least 1s; omit ttl for no expiry)", req.TTL))
			return
		}
		set.ExpiresAt = a.store.now().Add(ttl).UTC()
	}
	got, err := a.store.Set(r.Context(), set)
	if err != nil {
		a.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, got)
}

// knownAccount refuses a scope naming a platform or an account this
// gateway does not run, listing the accounts it does: ParseScope checks
// only the form, and the list of platforms lives in the gateway.
func (a *admin) knownAccount(scope Scope) error {
	if a.accounts == nil || scope.IsGlobal() {
		return nil
	}
	run := a.accounts(scope.Platform)
	if len(run) == 0 {
		return invalid("scope", "%q: this gateway runs no %s account", scope.String(), scope.Platform)
	}
	if scope.Account == "" || slices.Contains(run, scope.Account) {
		return nil
	}
	return invalid("scope", "%q: this gateway runs no %s account %q (it runs %s)", scope.String(), scope.Platform, scope.Account,
		strings.Join(run, ", "))
}

func (a *admin) clearMode(w http.ResponseWriter, r *http.Request) {
	mode := r.PathValue("mode")
	if !KnownMode(mode) {
		a.fail(w, unknownMode(mode))
		return
	}
	q := r.URL.Query()
	scope, err := ParseScope(q.Get("scope"))
	if err != nil {
		a.fail(w, err)
		return
	}
	err = a.store.Clear(r.Context(), mode, scope, q.Get("by"))
	if errors.Is(err, ErrNotSet) {
		httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("%s is not set in scope %s", mode, scope))
		return
	}
	if err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *admin) audit(w http.ResponseWriter, r *http.Request) {
	limit, ok := httpjson.Limit(w, r.URL.Query().Get("limit"), DefaultAuditLimit, MaxAuditLimit)
	if !ok {
		return
	}
	recs, err := ReadAudit(r.Context(), a.b, limit)
	if err != nil {
		a.fail(w, err)
		return
	}
	if recs == nil {
		recs = []AuditRecord{}
	}
	httpjson.Write(w, http.StatusOK, recs)
}

func (a *admin) pending(w http.ResponseWriter, r *http.Request) {
	if a.review == nil {
		httpjson.Error(w, http.StatusServiceUnavailable, "the review queue is not running")
		return
	}
	limit, ok := httpjson.Limit(w, r.URL.Query().Get("limit"), DefaultReviewLimit, MaxReviewLimit)
	if !ok {
		return
	}
	reps, err := a.review.Pending(r.Context(), limit)
	if err != nil {
		a.fail(w, err)
		return
	}
	if reps == nil {
		reps = []envelope.Reply{}
	}
	httpjson.Write(w, http.StatusOK, reps)
}

// ReviewRequest is the body of POST /admin/v1/review/{id}/{action}.
type ReviewRequest struct {
	By     string `json:"by"`
	Text   string `json:"text,omitempty"`   // edit: the text to send
	Reason string `json:"reason,omitempty"` // reject: why, for the audit trail
}

// ReviewResponse answers a review decision.
type ReviewResponse struct {
	ReplyID  string          `json:"reply_id"`
	Decision string          `json:"decision"`
	Sent     *envelope.Reply `json:"sent,omitempty"` // what went to HOTLINE_OUT
}

func (a *admin) decide(w http.ResponseWriter, r *http.Request) {
	if a.review == nil {
		httpjson.Error(w, http.StatusServiceUnavailable, "the review queue is not running")
		return
	}
	id, action := r.PathValue("id"), r.PathValue("action")
	if _, err := envelope.ParseIDTime(id); err != nil {
		httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("no held reply with id %q", id))
		return
	}
	var req ReviewRequest
	if !readBody(w, r, &req) {
		return
	}
	resp := ReviewResponse{ReplyID: id}
	var sent envelope.Reply
	var err error
	switch action {
	case "approve":
		resp.Decision = DecisionApproved
		sent, err = a.review.Approve(r.Context(), id, req.By)
	case "edit":
		resp.Decision = DecisionEdited
		sent, err = a.review.Edit(r.Context(), id, req.By, req.Text)
	case "reject":
		resp.Decision = DecisionRejected
		err = a.review.Reject(r.Context(), id, req.By, req.Reason)
	default:
		httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("unknown review action %q (approve, edit or reject)", action))
		return
	}
	if err != nil {
		a.fail(w, err)
		return
	}
	if sent.ID != "" {
		resp.Sent = &sent
	}
	httpjson.Write(w, http.StatusOK, resp)
}

// fail answers err with the status its kind calls for.
func (a *admin) fail(w http.ResponseWriter, err error) {
	var inv *InvalidError
	switch {
	case errors.As(err, &inv):
		httpjson.Error(w, http.StatusBadRequest, inv.Msg)
	case errors.Is(err, ErrNotSet), errors.Is(err, ErrReplyNotFound):
		httpjson.Error(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrAlreadyDecided), errors.Is(err, ErrOperatorOwns):
		httpjson.Error(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrAudit):
		a.store.log.Error("fallback: admin: audit", "err", err)
		httpjson.Error(w, http.StatusInternalServerError, "the change was made, but its audit record was not written: "+err.Error())
	default:
		a.store.log.Error("fallback: admin", "err", err)
		httpjson.Error(w, http.StatusInternalServerError, err.Error())
	}
}

// readBody decodes a JSON body of at most maxAdminBody bytes into v,
// refusing unknown fields so a misspelt "setby" is an error, not a
// silently missing value. It answers the request itself when it fails.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		httpjson.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d KiB", maxAdminBody>>10))
		return false
	}
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	if len(bytes.TrimSpace(data)) == 0 {
		httpjson.Error(w, http.StatusBadRequest, "body: empty, want a JSON object")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	if dec.More() {
		httpjson.Error(w, http.StatusBadRequest, "body: trailing data after the JSON object")
		return false
	}
	return true
}
