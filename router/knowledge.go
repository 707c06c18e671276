package router

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"hotline/fallback"
	"hotline/httpjson"
)

// Knowledge edited at run time. The FAQ every instance answers from is
// the seed (the built-in entries and router.faq_file) with the entries
// operators edit in the hotline_knowledge bucket laid over it: an edited
// entry replaces the seed's with its id, a disabled one hides it, a
// deleted edit brings the seed's back. Each instance follows the bucket
// with a KV watch and rebuilds its FAQ on every change, so an edit
// answers on every instance within milliseconds, without a restart. The
// bucket keeps each entry's last 16 versions, and every change is in the
// audit trail. Texts work the same way (text.<lang>.<key>): an edit wins
// over the files' text in that language, with the same placeholders.

// faqKeyPrefix is where FAQ entries live in hotline_knowledge.
const faqKeyPrefix = "faq."

// FAQVersion is an edited FAQ entry as stored: the entry and who changed
// it, when and why.
type FAQVersion struct {
	Entry    FAQEntry  `json:"entry"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	Reason   string    `json:"reason,omitempty"`
	Revision uint64    `json:"revision,omitempty"` // the bucket's, filled when read
}

// knowledge is an instance's live FAQ.
type knowledge struct {
	seed []FAQEntry // as loaded, before folding
	kv   jetstream.KeyValue
	log  *slog.Logger

	mu     sync.Mutex
	revs   map[string]uint64   // the revision applied, by bucket key
	edited map[string]FAQEntry // by id, as the bucket holds them
	faq    atomic.Pointer[FAQ]
	// catalog takes the edited texts (texts, by textKey).
	catalog *Catalog
	texts   map[string]string
}

// watchKnowledge builds the FAQ from the seed and the bucket, and keeps
// rebuilding it as the bucket changes until ctx ends.
func watchKnowledge(ctx context.Context, seed []FAQEntry, catalog *Catalog, kv jetstream.KeyValue, log *slog.Logger) (*knowledge, error) {
	k := &knowledge{seed: seed, kv: kv, log: log, revs: map[string]uint64{}, edited: map[string]FAQEntry{}, catalog: catalog, texts: map[string]string{}}
	if err := k.rebuild(); err != nil {
		return nil, err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("knowledge watch: %w", err)
	}
	ready := make(chan struct{})
	go func() {
		defer func() { _ = w.Stop() }()
		initial := true
		for e := range w.Updates() {
			if e == nil {
				if initial {
					close(ready)
					initial = false
				}
				continue
			}
			k.apply(changeOf(e))
		}
		if initial {
			close(ready)
		}
		if ctx.Err() == nil {
			log.Error("knowledge watch ended; FAQ edits made elsewhere no longer reach this instance until restart")
		}
	}()
	select {
	case <-ready:
		return k, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("knowledge watch: %w", ctx.Err())
	case <-time.After(10 * time.Second):
		return nil, errors.New("knowledge watch: no initial values after 10s")
	}
}

// apply takes one change from the bucket. An entry that does not build
// (it passed the checks when written, so only a hand edit of the bucket
// gets here) is logged and left out; the rest of the FAQ keeps working.
func (k *knowledge) apply(c change) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c.rev < k.revs[c.key] {
		return // older than what this instance applied itself
	}
	k.revs[c.key] = c.rev
	if rest, ok := strings.CutPrefix(c.key, textKeyPrefix); ok {
		lang, key, _ := strings.Cut(rest, ".")
		k.applyTextLocked(textKey(lang, key), c)
		return
	}
	if id, ok := strings.CutPrefix(c.key, faqKeyPrefix); ok {
		k.applyFAQLocked(id, c)
	}
}

// change is one key of the bucket as it now is: a put's value, or nil
// for a delete, at a revision. The instance that makes a change applies
// it at once, so what it answers next already uses it; the watch brings
// it again (and to every other instance), and the revision keeps a late
// older state from undoing a newer one.
type change struct {
	key   string
	value []byte
	rev   uint64
}

func changeOf(e jetstream.KeyValueEntry) change {
	c := change{key: e.Key(), rev: e.Revision()}
	if e.Operation() == jetstream.KeyValuePut {
		c.value = e.Value()
	}
	return c
}

func (k *knowledge) applyFAQLocked(id string, c change) {
	if c.value == nil {
		delete(k.edited, id)
	} else {
		var v FAQVersion
		if err := json.Unmarshal(c.value, &v); err != nil {
			k.log.Error("FAQ entry in hotline_knowledge does not decode; left out", "key", c.key, "err", err)
			return
		}
		k.edited[id] = v.Entry
	}
	if err := k.rebuildLocked(); err != nil {
		k.log.Error("FAQ with the edited entries does not build; the previous one stays", "key", c.key, "err", err)
	}
}

func (k *knowledge) rebuild() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rebuildLocked()
}

func (k *knowledge) rebuildLocked() error {
	entries := make([]FAQEntry, 0, len(k.edited)+len(k.seed))
	for _, id := range slices.Sorted(maps.Keys(k.edited)) {
		entries = append(entries, k.edited[id])
	}
	f, err := buildFAQ(append(entries, k.seed...))
	if err != nil {
		return err
	}
	k.faq.Store(f)
	return nil
}

// Match is FAQ.Match on the FAQ as it is now.
func (k *knowledge) Match(folded, lang string) (FAQMatch, bool) {
	return k.faq.Load().Match(folded, lang)
}

// Answer is FAQ.Answer on the FAQ as it is now.
func (k *knowledge) Answer(id, lang string) string { return k.faq.Load().Answer(id, lang) }

// ErrFAQNotFound: no FAQ entry, seed or edited, has that id.
var ErrFAQNotFound = errors.New("FAQ entry not found")

// ErrBadFAQ: an entry that cannot answer anyone.
var ErrBadFAQ = errors.New("bad FAQ entry")

// SetFAQ stores an edited FAQ entry (a new one, or one replacing or, with
// Disabled, hiding the seed's), audited; every instance answers with it
// once its watch brings it, this one included.
func (r *Router) SetFAQ(ctx context.Context, e FAQEntry, by, reason string) (FAQVersion, error) {
	if !validFAQID(e.ID) {
		return FAQVersion{}, fmt.Errorf("%w: id %q: use letters, digits, _ and - only", ErrBadFAQ, e.ID)
	}
	if !e.Disabled {
		if err := e.check(); err != nil {
			return FAQVersion{}, fmt.Errorf("%w: %w", ErrBadFAQ, err)
		}
	}
	v := FAQVersion{Entry: e, By: by, At: r.now().UTC(), Reason: reason}
	data, _ := json.Marshal(v)
	rev, err := r.knowledge.kv.Put(ctx, faqKeyPrefix+e.ID, data)
	if err != nil {
		return FAQVersion{}, fmt.Errorf("faq: %w", err)
	}
	r.knowledge.apply(change{key: faqKeyPrefix + e.ID, value: data, rev: rev})
	v.Revision = rev
	rec := fallback.AuditRecord{Action: "faq.set", Scope: e.ID, By: by, Reason: reason, Text: string(data), At: v.At}
	return v, fallback.WriteAudit(ctx, r.bus, rec, fmt.Sprintf("faq.set:%s:%d", e.ID, rev))
}

// DeleteFAQ removes an edited entry: the seed's entry with its id, if
// any, answers again.
func (r *Router) DeleteFAQ(ctx context.Context, id, by, reason string) error {
	e, err := r.knowledge.kv.Get(ctx, faqKeyPrefix+id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return ErrFAQNotFound
	}
	if err != nil {
		return fmt.Errorf("faq: %w", err)
	}
	if err := r.knowledge.kv.Delete(ctx, faqKeyPrefix+id, jetstream.LastRevision(e.Revision())); err != nil {
		return fmt.Errorf("faq: %w", err)
	}
	// The delete's own revision is not returned; it is past the put's.
	r.knowledge.apply(change{key: faqKeyPrefix + id, rev: e.Revision() + 1})
	rec := fallback.AuditRecord{Action: "faq.delete", Scope: id, By: by, Reason: reason, At: r.now().UTC()}
	return fallback.WriteAudit(ctx, r.bus, rec, fmt.Sprintf("faq.delete:%s:%d", id, e.Revision()))
}

// FAQListing is one entry of the FAQ as operators see it.
type FAQListing struct {
	FAQEntry
	// Source is "seed" (built-in or faq_file) or "edited".
	Source string `json:"source"`
}

// FAQEntries lists the FAQ in the order it matches, with the disabled
// edits too, so they can be found and undone.
func (r *Router) FAQEntries() []FAQListing {
	k := r.knowledge
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []FAQListing
	seen := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(k.edited)) {
		out = append(out, FAQListing{FAQEntry: k.edited[id], Source: "edited"})
		seen[id] = true
	}
	for _, e := range k.seed {
		if !seen[e.ID] {
			out = append(out, FAQListing{FAQEntry: e, Source: "seed"})
			seen[e.ID] = true
		}
	}
	return out
}

// FAQHistory returns an edited entry's stored versions, oldest first.
func (r *Router) FAQHistory(ctx context.Context, id string) ([]FAQVersion, error) {
	hist, err := r.knowledge.kv.History(ctx, faqKeyPrefix+id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return nil, ErrFAQNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("faq: %w", err)
	}
	var out []FAQVersion
	for _, e := range hist {
		var v FAQVersion
		if e.Operation() == jetstream.KeyValuePut && json.Unmarshal(e.Value(), &v) == nil {
			v.Revision = e.Revision()
			out = append(out, v)
		}
	}
	return out, nil
}

func validFAQID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// faqRoutes serve the FAQ to operators:
//
//	GET    /admin/v1/faq
//	GET    /admin/v1/faq/{id}          the entry and its edited versions
//	PUT    /admin/v1/faq/{id}          {"keywords", "answer", "disabled", "by", "reason"}
//	DELETE /admin/v1/faq/{id}?by=&reason=
func (r *Router) faqRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/v1/faq", func(w http.ResponseWriter, req *http.Request) {
		httpjson.Write(w, http.StatusOK, r.FAQEntries())
	})
	mux.HandleFunc("GET /admin/v1/faq/{id}", func(w http.ResponseWriter, req *http.Request) {
		id := req.PathValue("id")
		all := r.FAQEntries()
		i := slices.IndexFunc(all, func(l FAQListing) bool { return l.ID == id })
		if i < 0 {
			writeError(w, fmt.Errorf("%w: %q", ErrFAQNotFound, id))
			return
		}
		hist, err := r.FAQHistory(req.Context(), id)
		if err != nil && !errors.Is(err, ErrFAQNotFound) {
			writeError(w, err)
			return
		}
		if hist == nil {
			hist = []FAQVersion{}
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"entry": all[i], "versions": hist})
	})
	mux.HandleFunc("PUT /admin/v1/faq/{id}", func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			FAQEntry
			By     string `json:"by"`
			Reason string `json:"reason"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, 256<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || strings.TrimSpace(body.By) == "" {
			httpjson.Error(w, http.StatusBadRequest, `body must be JSON: {"keywords": {"en": ["..."]}, "answer": {"en": "..."}, "by": "<operator>"}; by is required`)
			return
		}
		body.ID = req.PathValue("id")
		v, err := r.SetFAQ(req.Context(), body.FAQEntry, body.By, body.Reason)
		if err != nil {
			writeError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, v)
	})
	mux.HandleFunc("DELETE /admin/v1/faq/{id}", auditedDelete(func(req *http.Request, by, reason string) (any, error) {
		id := req.PathValue("id")
		return map[string]string{"id": id, "deleted": "true"}, r.DeleteFAQ(req.Context(), id, by, reason)
	}))
}

// textKeyPrefix is where edited texts live: text.<lang>.<key>.
const textKeyPrefix = "text."

// TextVersion is an edited text as stored.
type TextVersion struct {
	Lang     string    `json:"lang"`
	Key      string    `json:"key"`
	Text     string    `json:"text"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	Reason   string    `json:"reason,omitempty"`
	Revision uint64    `json:"revision,omitempty"`
}

// applyTextLocked takes one edited text to the catalog.
func (k *knowledge) applyTextLocked(key string, c change) {
	if c.value == nil {
		delete(k.texts, key)
	} else {
		var v TextVersion
		if err := json.Unmarshal(c.value, &v); err != nil {
			k.log.Error("text in hotline_knowledge does not decode; left out", "key", c.key, "err", err)
			return
		}
		k.texts[key] = v.Text
	}
	edited := maps.Clone(k.texts)
	k.catalog.edited.Store(&edited)
}

// ErrBadText: a text edit that cannot be used.
var ErrBadText = errors.New("bad text")

// ErrTextNotEdited: the text has no edit to remove.
var ErrTextNotEdited = errors.New("text not edited")

// SetText changes one text in one language on every instance, audited.
// Only texts the files define can be changed, and only with the
// placeholders ({ticket}, {sla}, ...) the router fills in for them.
func (r *Router) SetText(ctx context.Context, lang, key, text, by, reason string) (TextVersion, error) {
	if !r.catalog.Has(lang) {
		return TextVersion{}, fmt.Errorf("%w: no texts in %q (have: %s)", ErrBadText, lang, strings.Join(r.catalog.Codes(), ", "))
	}
	orig, ok := r.catalog.langs["en"].Texts[key]
	if !ok {
		return TextVersion{}, fmt.Errorf("%w: %q is not a text hotline sends", ErrBadText, key)
	}
	if strings.TrimSpace(text) == "" {
		return TextVersion{}, fmt.Errorf("%w: the text is empty", ErrBadText)
	}
	fills := placeholders(orig + r.catalog.Lang(lang).Texts[key])
	for _, p := range placeholders(text) {
		if !slices.Contains(fills, p) {
			return TextVersion{}, fmt.Errorf("%w: {%s} is not filled in for %s (it has: %s)", ErrBadText, p, key, strings.Join(fills, ", "))
		}
	}
	v := TextVersion{Lang: lang, Key: key, Text: text, By: by, At: r.now().UTC(), Reason: reason}
	data, _ := json.Marshal(v)
	rev, err := r.knowledge.kv.Put(ctx, textKeyPrefix+lang+"."+key, data)
	if err != nil {
		return TextVersion{}, fmt.Errorf("text: %w", err)
	}
	r.knowledge.apply(change{key: textKeyPrefix + lang + "." + key, value: data, rev: rev})
	v.Revision = rev
	rec := fallback.AuditRecord{Action: "text.set", Scope: lang + "/" + key, By: by, Reason: reason, Text: text, At: v.At}
	return v, fallback.WriteAudit(ctx, r.bus, rec, fmt.Sprintf("text.set:%s.%s:%d", lang, key, rev))
}

// DeleteText removes a text's edit: the file's text is sent again.
func (r *Router) DeleteText(ctx context.Context, lang, key, by, reason string) error {
	e, err := r.knowledge.kv.Get(ctx, textKeyPrefix+lang+"."+key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return ErrTextNotEdited
	}
	if err != nil {
		return fmt.Errorf("text: %w", err)
	}
	if err := r.knowledge.kv.Delete(ctx, textKeyPrefix+lang+"."+key, jetstream.LastRevision(e.Revision())); err != nil {
		return fmt.Errorf("text: %w", err)
	}
	r.knowledge.apply(change{key: textKeyPrefix + lang + "." + key, rev: e.Revision() + 1})
	rec := fallback.AuditRecord{Action: "text.delete", Scope: lang + "/" + key, By: by, Reason: reason, At: r.now().UTC()}
	return fallback.WriteAudit(ctx, r.bus, rec, fmt.Sprintf("text.delete:%s.%s:%d", lang, key, e.Revision()))
}

// TextListing is one text as operators see it.
type TextListing struct {
	Key    string `json:"key"`
	Text   string `json:"text"`
	Source string `json:"source"` // "file" or "edited"
}

// Texts lists every text hotline sends in lang, as sent now.
func (r *Router) Texts(lang string) []TextListing {
	var out []TextListing
	for _, key := range slices.Sorted(maps.Keys(r.catalog.langs["en"].Texts)) {
		l := TextListing{Key: key, Text: r.catalog.Text(lang, key), Source: "file"}
		if r.catalog.edit(lang, key) != "" {
			l.Source = "edited"
		}
		out = append(out, l)
	}
	return out
}

// textRoutes serve the texts to operators:
//
//	GET    /admin/v1/texts?lang=
//	PUT    /admin/v1/texts/{lang}/{key}   {"text", "by", "reason"}
//	DELETE /admin/v1/texts/{lang}/{key}?by=&reason=
func (r *Router) textRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/v1/texts", func(w http.ResponseWriter, req *http.Request) {
		lang := cmp.Or(req.URL.Query().Get("lang"), r.cfg.DefaultLang)
		if !r.catalog.Has(lang) {
			writeError(w, fmt.Errorf("%w: no texts in %q", ErrBadText, lang))
			return
		}
		httpjson.Write(w, http.StatusOK, r.Texts(lang))
	})
	mux.HandleFunc("PUT /admin/v1/texts/{lang}/{key}", func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			Text   string `json:"text"`
			By     string `json:"by"`
			Reason string `json:"reason"`
		}
		if err := httpjson.Decode(w, req, 64<<10, &body); err != nil || strings.TrimSpace(body.By) == "" {
			httpjson.Error(w, http.StatusBadRequest, `body must be JSON: {"text": "...", "by": "<operator>"}; by is required`)
			return
		}
		v, err := r.SetText(req.Context(), req.PathValue("lang"), req.PathValue("key"), body.Text, body.By, body.Reason)
		if err != nil {
			writeError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, v)
	})
	mux.HandleFunc("DELETE /admin/v1/texts/{lang}/{key}", auditedDelete(func(req *http.Request, by, reason string) (any, error) {
		lang, key := req.PathValue("lang"), req.PathValue("key")
		return map[string]string{"lang": lang, "key": key, "deleted": "true"}, r.DeleteText(req.Context(), lang, key, by, reason)
	}))
}
