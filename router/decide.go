package router

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"hotline/envelope"
	"hotline/fallback"
	"hotline/phone"
)

// decide runs the pipeline for one message, filling out and updating
// sess. It publishes nothing.
func (r *Router) decide(ctx context.Context, m *envelope.Message, sess *Session, now time.Time, out *outcome) error {
	lang := r.langFor(m, sess)
	text := m.Text
	cmd := r.parser.Parse(text)
	if m.Kind == envelope.KindEvent {
		cmd = r.eventCommand(m)
	}
	sess.addTurn("user", userTurnText(m), now, m.Media...)

	// 1. Opt-out: an opted-out user gets nothing but the confirmation of
	// opting back in.
	opted, err := r.optedOut(ctx, m.Conversation)
	if err != nil {
		return err
	}
	if m.Kind == envelope.KindEvent && m.Event.Name == envelope.EventUnsubscribe {
		yes := true
		out.OptOut, out.result, out.explain = &yes, "unsubscribed", "platform unsubscribe event"
		return nil
	}
	if opted && cmd.Kind == cmdWelcome {
		// Following again (or /start) is opting back in: without this a
		// user who once unfollowed would never be answered again.
		no := false
		out.OptOut, opted = &no, false
	}
	// The SMS adapter answered STOP and START itself (an opt-out must be
	// confirmed even with the router down), and flags numbers texting
	// faster than its per-number limit: record, do not answer.
	switch kw := m.Meta["carrier_keyword"]; {
	case kw == "stop" || kw == "start":
		// The adapter answered and recorded it; recording it here too
		// repairs a failed write there.
		yes := kw == "stop"
		out.OptOut = &yes
		out.result, out.explain = "carrier_keyword", "answered by the SMS adapter: "+kw
		return nil
	case m.Meta["rate_limited"] == "true":
		out.result, out.explain = "sms_rate_limited", "number over its inbound limit; stored, not answered"
		return nil
	}
	if opted && cmd.Kind != CmdStart {
		out.result, out.explain = "opted_out", "user opted out; stored, not answered"
		return nil
	}

	// 2. What would answer it, so the gate knows whether it is static.
	var faq FAQMatch
	var faqOK bool
	var talk, talkLang string
	if cmd.Kind == CmdNone {
		if isSticker(m) {
			talk = talkEmoji
		} else if text != "" {
			talk, talkLang = r.catalog.talk.classify(text)
		}
		if talk == "" && text != "" {
			faq, faqOK = r.knowledge.Match(fold(text), lang)
		}
	}
	if talkLang != "" && sess.Lang == "" && r.catalog.LangFromHint(m.LangHint) == "" && detectLang(text) == "" {
		// "hola" says little, but it is all there is to go on.
		lang, sess.Detected = talkLang, talkLang
	}
	static := faqOK || talk != "" || cmd.Kind == CmdHelp || cmd.Kind == CmdMenu || cmd.Kind == CmdStatus ||
		cmd.Kind == CmdLang || cmd.Kind == CmdMenuCode || cmd.Kind == CmdStop || cmd.Kind == CmdStart ||
		cmd.Kind == cmdWelcome || cmd.Kind == cmdIgnore

	// STOP and START are honoured whatever mode is on: a user over the
	// rate limit must still be able to opt out.
	if cmd.Kind == CmdStop || cmd.Kind == CmdStart {
		a := answerer{r: r, m: m, sess: sess, lang: lang, now: now, out: out}
		if cmd.AliasLang != "" && sess.Lang == "" {
			a.lang = cmd.AliasLang
		}
		out.result, out.explain = "command", "command "+cmd.Kind.String()
		yes := cmd.Kind == CmdStop
		out.OptOut = &yes
		a.confirmOptOut(map[bool]string{true: "stopped", false: "started"}[yes])
		return nil
	}

	// 3. Degraded modes.
	dec := r.gate.Check(ctx, m, static)
	a := answerer{r: r, m: m, sess: sess, lang: lang, now: now, out: out, dec: dec}
	out.smsFallback = dec.SMSFallback
	sess.keepAnnounced(dec.InForce)
	if dec.Silent {
		out.result, out.explain = "silenced", "rate limited; stored, not answered"
		if dec.DeferHandoff && !static {
			return a.handoff(ctx, r.lex.classify(text, false), true, "queued during a degraded mode")
		}
		return nil
	}
	// The gate already knows what is static: read_only spares static
	// help, a user over the rate limit gets "busy" whatever they sent.
	if dec.Refuse != "" {
		a.say(dec.Refuse)
		out.result, out.explain = "refused", "mode answer "+dec.Refuse
		if dec.DeferHandoff {
			return a.handoff(ctx, r.lex.classify(text, false), true, "queued during a degraded mode")
		}
		return nil
	}

	// 4. Commands, menu codes, FAQ, handoff.
	if cmd.AliasLang != "" && sess.Lang == "" {
		// "ajuda" answers in Portuguese, and so does what follows: a
		// command word only one language uses is a choice of language.
		a.lang, sess.Lang = cmd.AliasLang, cmd.AliasLang
	}
	out.result = "command"
	out.explain = "command " + cmd.Kind.String()
	switch cmd.Kind {
	case cmdIgnore:
		out.result, out.explain = "event", "event "+m.Event.Name+" needs no answer"
	case cmdWelcome:
		rep := a.sayText(r.catalog.Text(a.lang, "welcome"), envelope.SourceBot, true)
		rep.Buttons = menuButtons(r.catalog.Text(a.lang, "menu"), r.cfg.Menu)
	case CmdHelp:
		return a.help(ctx, cmd)
	case CmdLang:
		a.setLang(cmd)
	case CmdMenu:
		a.menu()
	case CmdStatus:
		a.status()
	case CmdBind:
		return a.bind(ctx, cmd.Arg)
	case CmdUnbind:
		sess.Phone, sess.Bind = "", nil
		none := ""
		out.Bind = &none
		a.say("unbind_ok")
	case CmdCode:
		if sess.Bind != nil {
			a.verifyCode(cmd.Arg)
			return nil
		}
		return a.freeText(ctx, text, faq, faqOK)
	case CmdMenuCode:
		topic, ok := r.cfg.Menu[cmd.Arg]
		if !ok {
			out.explain = "menu code " + cmd.Arg + " not configured; menu shown"
			a.menu()
			return nil
		}
		out.explain = "menu code " + cmd.Arg + " → " + topic
		if _, has := r.catalog.Lang(a.lang).Texts["menu_"+topic]; has {
			a.say("menu_" + topic)
		} else {
			// A topic without its own text goes to an agent.
			return a.handoff(ctx, r.lex.classify(topic, false), false, "menu topic "+topic)
		}
	case CmdHuman:
		cls := r.lex.classify(recentUserText(sess), a.switchedChannel(ctx))
		cls.Reasons = append([]string{"asked for a human"}, cls.Reasons...)
		out.result = "handoff"
		return a.handoff(ctx, cls, false, "")
	default:
		if talk != "" {
			a.smallTalk(talk)
			return nil
		}
		return a.freeText(ctx, text, faq, faqOK)
	}
	return nil
}

// smallTalk answers a greeting (with the menu), thanks or a sticker.
func (a *answerer) smallTalk(kind string) {
	a.out.result, a.out.explain = "smalltalk", "small talk: "+kind
	rep := a.sayText(a.r.catalog.Text(a.lang, "smalltalk_"+kind), envelope.SourceBot, true)
	if kind == talkGreeting {
		rep.Buttons = menuButtons(a.r.catalog.Text(a.lang, "menu"), a.r.cfg.Menu)
	}
}

// answerer builds the replies to one message.
type answerer struct {
	r    *Router
	m    *envelope.Message
	sess *Session
	lang string
	now  time.Time
	out  *outcome
	dec  fallback.Decision
	// told is set once the first reply to this message carried the
	// announcements due (or STATUS, which lists every mode, was given).
	told bool
}

func (a *answerer) say(key string, vars ...string) {
	a.sayText(a.r.catalog.Text(a.lang, key, vars...), envelope.SourceBot, isStaticKey(key))
}

// confirmOptOut answers STOP or START: the one reply an opted-out user
// may get, marked so every sender lets it through.
func (a *answerer) confirmOptOut(key string) {
	rep := a.sayText(a.r.catalog.Text(a.lang, key), envelope.SourceSystem, true)
	rep.OptOutConfirmation = true
}

func isStaticKey(key string) bool {
	switch key {
	case "help", "menu", "status", "status_incident", "welcome", "lang_set", "lang_unsupported", "stopped", "started",
		"unbind_ok", "bind_sent", "bind_ok", "bind_bad_code", "bind_expired", "bind_bad_phone", "bind_rate_limited", "handoff_limit", "error":
		return true
	}
	return strings.HasPrefix(key, "menu_") || strings.HasPrefix(key, "smalltalk_")
}

// sayText adds a reply. The first reply to a message carries the
// announcements of mode settings this conversation was not yet told of;
// in review-first mode, replies that are not static help wait for an
// operator and the user is told so.
func (a *answerer) sayText(text string, src envelope.Source, static bool) *envelope.Reply {
	if a.dec.HoldForReview && !static && src == envelope.SourceBot {
		a.out.Review = append(a.out.Review, a.newReply(text, src))
		// The announcement goes with what the user gets now, not with
		// the answer an operator may reject.
		pending := a.newReply(a.withAnnouncements(a.r.catalog.Text(a.lang, "review_pending")), envelope.SourceBot)
		a.out.Replies = append(a.out.Replies, pending)
		a.sess.addTurn("bot", pending.Text, a.now)
		return &a.out.Replies[len(a.out.Replies)-1]
	}
	rep := a.newReply(a.withAnnouncements(text), src)
	a.out.Replies = append(a.out.Replies, rep)
	a.sess.addTurn("bot", rep.Text, a.now)
	return &a.out.Replies[len(a.out.Replies)-1]
}

// withAnnouncements adds to the first reply of a message the operator's
// text of each setting in force this conversation has not had yet, most
// severe first, and records them as told.
func (a *answerer) withAnnouncements(text string) string {
	if a.told {
		return text
	}
	a.told = true
	var add []string
	for _, n := range a.dec.InForce {
		t := a.noticeText(n)
		if t == "" || a.sess.wasAnnounced(n.Key()) {
			continue
		}
		a.sess.markAnnounced(n.Key())
		if !strings.Contains(text, t) {
			add = append(add, t)
		}
	}
	if len(add) == 0 {
		return text
	}
	return text + "\n\n" + strings.Join(add, "\n\n")
}

// noticeText is the operator's text for a mode in the reply's language:
// that language, another variant of it, English; for the announcement
// mode, whose text is all it is, also the default language or else any
// text given. "" when there is none to give.
func (a *answerer) noticeText(n fallback.Notice) string {
	if len(n.Announce) == 0 {
		return ""
	}
	if t := n.Announce[a.lang]; t != "" {
		return t
	}
	codes := slices.Sorted(maps.Keys(n.Announce))
	base, _, _ := strings.Cut(a.lang, "-")
	for _, code := range codes {
		if b, _, _ := strings.Cut(code, "-"); strings.EqualFold(b, base) && n.Announce[code] != "" {
			return n.Announce[code]
		}
	}
	if t := n.Announce["en"]; t != "" {
		return t
	}
	if n.Mode != fallback.ModeAnnouncement {
		return ""
	}
	if t := n.Announce[a.r.cfg.DefaultLang]; t != "" {
		return t
	}
	return n.Announce[codes[0]]
}

func (a *answerer) newReply(text string, src envelope.Source) envelope.Reply {
	a.out.replyIdx++
	return envelope.Reply{
		ID:           envelope.ReplyID(a.m.ID, a.out.replyIdx),
		InReplyTo:    a.m.ID,
		Platform:     a.m.Platform,
		Account:      a.m.Account,
		Conversation: a.m.Conversation,
		To:           a.m.From,
		Text:         text,
		Lang:         a.lang,
		Dir:          a.r.catalog.Lang(a.lang).Dir,
		Source:       src,
		CreatedAt:    a.now,
	}
}

func (a *answerer) help(ctx context.Context, cmd Command) error {
	if !cmd.HasLang {
		a.say("help")
		return nil
	}
	if cmd.Lang.Supported {
		a.lang = cmd.Lang.Code
		a.sess.Lang = cmd.Lang.Code
		a.say("help")
		return nil
	}
	// A language we have no texts for: translate English if a
	// translator is configured, else default language plus English.
	a.out.explain = "help in unsupported " + cmd.Lang.Requested
	if a.r.translator != nil {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if t, err := a.r.translator.Translate(tctx, a.r.catalog.Text("en", "help"), cmd.Lang.Requested); err == nil {
			a.lang = cmd.Lang.Requested
			rep := a.sayText(t, envelope.SourceBot, true)
			rep.Lang, rep.Dir = cmd.Lang.Requested, ""
			a.out.explain += " (translated)"
			return nil
		} else {
			a.r.log.Warn("translator failed; answering in the default language and English", "target", cmd.Lang.Requested, "err", err)
		}
	}
	def := a.r.cfg.DefaultLang
	parts := []string{a.r.catalog.Text(def, "help")}
	if def != "en" {
		parts = append(parts, a.r.catalog.Text("en", "help"))
	}
	parts = append(parts, a.r.catalog.Text("en", "lang_unsupported", "requested", cmd.Lang.Requested, "codes", strings.Join(a.r.catalog.Codes(), ", ")))
	a.lang = def
	a.sayText(strings.Join(parts, "\n\n"), envelope.SourceBot, true)
	return nil
}

func (a *answerer) setLang(cmd Command) {
	codes := strings.Join(a.r.catalog.Codes(), ", ")
	switch {
	case !cmd.HasLang:
		a.say("help")
	case !cmd.Lang.Supported:
		a.say("lang_unsupported", "requested", cmd.Lang.Requested, "codes", codes)
	default:
		a.lang = cmd.Lang.Code
		a.sess.Lang = cmd.Lang.Code
		a.say("lang_set", "lang_name", a.r.catalog.Lang(a.lang).Name)
	}
}

func (a *answerer) menu() {
	rep := a.sayText(a.r.catalog.Text(a.lang, "menu"), envelope.SourceBot, true)
	rep.Buttons = menuButtons(rep.Text, a.r.cfg.Menu)
}

// menuButtons offers each configured code as a button, labelled with its
// line of the menu text ("1 Account security").
func menuButtons(menuText string, menu map[string]string) []envelope.Button {
	var buttons []envelope.Button
	for _, line := range strings.Split(menuText, "\n") {
		line = strings.TrimSpace(line)
		code, _, _ := strings.Cut(line, " ")
		code = strings.TrimRight(code, ".)")
		if _, ok := menu[code]; ok && code != "" {
			buttons = append(buttons, envelope.Button{Label: line, Data: code})
		}
	}
	return buttons
}

// status lists every mode in force: its operator's text, else the
// mode's built-in one. "Running normally" is only said when nothing is.
func (a *answerer) status() {
	if len(a.dec.InForce) == 0 {
		a.say("status")
		return
	}
	var lines []string
	for _, n := range a.dec.InForce {
		t := a.noticeText(n)
		if t != "" {
			// The list says it all: nothing is left to announce.
			a.sess.markAnnounced(n.Key())
		} else {
			t = a.r.catalog.Text(a.lang, "mode_"+n.Mode)
		}
		if t != "" && !slices.Contains(lines, t) {
			lines = append(lines, t)
		}
	}
	a.told = true
	a.say("status_incident", "announcement", strings.Join(lines, "\n\n"))
}

func (a *answerer) freeText(ctx context.Context, text string, faq FAQMatch, faqOK bool) error {
	cls := a.r.lex.classify(text, a.switchedChannel(ctx))
	// Urgent cases go to a human even when a FAQ entry matches:
	// "hacked, need to reset password" is account theft first.
	if faqOK && cls.Priority != envelope.P1 {
		a.out.result = "faq"
		a.out.explain = fmt.Sprintf("faq %s: phrase %q (%s)", faq.ID, faq.Keyword, faq.KeywordLang)
		// A FAQ answer is the bot's guess at what was asked, so
		// review_first holds it; read_only still gives it (the gate
		// counted it as static help).
		a.sayText(faq.Answer(a.lang), envelope.SourceBot, false)
		return nil
	}
	a.out.result = "handoff"
	if text == "" {
		cls.Reasons = append(cls.Reasons, "sent "+string(a.m.Kind))
	}
	return a.handoff(ctx, cls, false, "")
}

// handoff queues the conversation for an agent and tells the user what
// happens next.
func (a *answerer) handoff(ctx context.Context, cls Classification, deferred bool, why string) error {
	today := a.now.Format("2006-01-02")
	if a.sess.HandoffDay != today {
		a.sess.HandoffDay, a.sess.HandoffsToday = today, 0
	}
	if limit := a.r.cfg.HandoffDailyLimit; limit > 0 && a.sess.HandoffsToday >= limit && cls.Priority != envelope.P1 {
		a.out.result, a.out.explain = "handoff_limited", fmt.Sprintf("daily handoff limit %d reached", limit)
		if !deferred {
			a.say("handoff_limit")
		}
		return nil
	}
	a.sess.HandoffsToday++
	if why != "" {
		cls.Reasons = append(cls.Reasons, why)
	}
	sla := slaByPriority[cls.Priority]
	tier := a.r.tierOf(ctx, a.m)
	if t, ok := a.r.cfg.Tiers[tier]; ok {
		if up := raise(cls.Priority, t.Raise); up != cls.Priority {
			cls.Reasons = append(cls.Reasons, fmt.Sprintf("tier %s: %s raised to %s", tier, cls.Priority, up))
			cls.Priority = up
		}
		sla = t.sla(cls.Priority)
	}
	h := &envelope.Handoff{
		ID:           envelope.DeriveID(a.m.ID, "handoff"),
		InboundID:    a.m.ID,
		Platform:     a.m.Platform,
		Account:      a.m.Account,
		Conversation: a.m.Conversation,
		User:         a.m.From,
		Priority:     cls.Priority,
		Reasons:      cls.Reasons,
		Senior:       cls.Angry,
		Tier:         tier,
		Lang:         a.lang,
		Deferred:     deferred,
		CreatedAt:    a.now,
		SLADeadline:  a.now.Add(sla),
	}
	if a.sess.Phone != "" && h.User.Phone == "" {
		h.User.Phone = a.sess.Phone
	}
	a.out.Handoff = h
	a.out.explain = fmt.Sprintf("handoff %s: %s", cls.Priority, strings.Join(cls.Reasons, "; "))
	if !deferred {
		key := "handoff_ack"
		if cls.Priority == envelope.P1 {
			key = "handoff_ack_urgent"
		}
		a.sayText(a.r.catalog.Text(a.lang, key, "ticket", Ticket(h.ID), "sla", a.r.catalog.Text(a.lang, "sla_"+string(cls.Priority))),
			envelope.SourceBot, true)
	}
	// The record carries the history including the acknowledgement.
	h.History = append([]envelope.Turn(nil), a.sess.Turns...)
	return nil
}

// ticketLen is how many of a handoff id's last characters make its ticket.
const ticketLen = 8

// Ticket is the short reference a user and an agent quote for a handoff.
func Ticket(handoffID string) string { return handoffID[len(handoffID)-ticketLen:] }

func (a *answerer) switchedChannel(ctx context.Context) bool {
	if a.sess.Phone == "" {
		return false
	}
	switched, err := a.r.sessions.seenOnChannel(ctx, a.sess.Phone, a.m.Platform, a.now, channelSwitchSpan)
	if err != nil {
		a.r.log.Warn("channel index", "err", err)
	}
	return switched
}

// refuseBind answers a binding request that gets no code, and counts why.
func (a *answerer) refuseBind(reason, key, explain string) {
	a.r.metrics.verifyRefused.WithLabelValues(reason).Inc()
	a.out.explain = "bind: " + explain
	a.say(key)
}

// userTurns counts what the user said in the session, this message
// included.
func userTurns(s *Session) int {
	n := 0
	for _, t := range s.Turns {
		if t.Role == "user" {
			n++
		}
	}
	return n
}

func (a *answerer) bind(ctx context.Context, raw string) error {
	// Chat users have no region to read a national number in: the
	// country code is required, and the text asking again says so.
	number, err := phone.Normalize(raw, "")
	if err != nil {
		a.out.explain = "bind: " + err.Error()
		a.say("bind_bad_phone")
		return nil
	}
	if region := phone.Region(number); len(a.r.cfg.VerifyRegions) > 0 && !slices.Contains(a.r.cfg.VerifyRegions, region) {
		a.refuseBind("region", "bind_region", "number in "+region+", outside sms.verify_regions")
		return nil
	}
	if a.m.Meta[envelope.MetaClientAddr] != "" && userTurns(a.sess) < 2 {
		// Where the gateway itself faces anonymous visitors, a script
		// that drops its cookie is a new visitor each time: asking
		// first for a message costs it a round trip and a stored
		// message per number it wants texted.
		a.refuseBind("chat_first", "bind_chat_first", "anonymous visitor asked for a code before any message")
		return nil
	}
	var recent []time.Time
	for _, t := range a.sess.BindRequests {
		if a.now.Sub(t) < time.Hour {
			recent = append(recent, t)
		}
	}
	a.sess.BindRequests = recent
	if len(recent) >= bindPerHour {
		a.refuseBind("conversation", "bind_rate_limited", "codes per conversation per hour")
		return nil
	}
	if a.r.cfg.SMSAccount == "" {
		a.out.explain = "bind: no SMS account configured"
		a.say("error")
		return nil
	}
	// A number gets a limited number of codes whoever asks, so the
	// gateway cannot be used to flood a stranger's number.
	// Then per client address and for the whole gateway: budgets in KV,
	// so every instance spends from the same ones.
	budgets := []struct {
		reason, key string
		limit       int
	}{
		{"number", "n." + base64.RawURLEncoding.EncodeToString([]byte(number)), bindPerNumberHour},
		{"address", "a." + base64.RawURLEncoding.EncodeToString([]byte(a.m.Meta[envelope.MetaClientAddr])), cmp.Or(a.r.cfg.VerifyPerAddressHour, 3)},
		{"gateway", "g", cmp.Or(a.r.cfg.VerifyPerHour, 100)},
	}
	for _, b := range budgets {
		if b.reason == "address" && a.m.Meta[envelope.MetaClientAddr] == "" {
			continue
		}
		allowed, err := a.r.sessions.countBindRequest(ctx, b.key, a.m.ID, a.now, time.Hour, b.limit)
		if err != nil {
			return err
		}
		if !allowed {
			a.r.log.Warn("verification code budget reached", "budget", b.reason, "limit_per_hour", b.limit,
				"platform", a.m.Platform, "account", a.m.Account)
			a.refuseBind(b.reason, "bind_rate_limited", "codes per "+b.reason+" per hour")
			return nil
		}
	}
	smsConv := envelope.ConversationKey(envelope.PlatformSMS, a.r.cfg.SMSAccount, number)
	opted, err := a.r.optedOut(ctx, smsConv)
	if err != nil {
		return err
	}
	if opted {
		// Never text a number that opted out, whoever asks.
		a.say("bind_bad_phone")
		a.out.explain = "bind: number opted out of SMS"
		return nil
	}
	code := a.r.bindCode(a.m.ID)
	a.sess.BindRequests = append(a.sess.BindRequests, a.now)
	a.sess.Bind = &PendingBind{Phone: number, CodeHash: a.r.codeHash(a.m.Conversation, code), Expires: a.now.Add(bindCodeTTL), Attempts: bindAttempts}
	sms := envelope.Reply{
		ID:           envelope.DeriveID(a.m.ID, "bind-sms"),
		InReplyTo:    a.m.ID,
		Platform:     envelope.PlatformSMS,
		Account:      a.r.cfg.SMSAccount,
		Conversation: smsConv,
		To:           envelope.Party{ID: number, Phone: number},
		Text:         a.r.catalog.Text(a.lang, "bind_code_sms", "code", code),
		Lang:         a.lang,
		Source:       envelope.SourceSystem,
		CreatedAt:    a.now,
	}
	a.out.SMS = append(a.out.SMS, sms)
	a.say("bind_sent", "phone", maskPhone(number))
	return nil
}

func (a *answerer) verifyCode(code string) {
	b := a.sess.Bind
	if a.now.After(b.Expires) || b.Attempts <= 0 {
		a.sess.Bind = nil
		a.say("bind_expired")
		return
	}
	if subtle.ConstantTimeCompare([]byte(a.r.codeHash(a.m.Conversation, code)), []byte(b.CodeHash)) != 1 {
		b.Attempts--
		if b.Attempts <= 0 {
			a.sess.Bind = nil
			a.say("bind_expired")
			return
		}
		a.say("bind_bad_code", "attempts", fmt.Sprint(b.Attempts))
		return
	}
	a.sess.Phone, a.sess.Bind = b.Phone, nil
	phone := b.Phone
	a.out.Bind = &phone
	a.say("bind_ok", "phone", maskPhone(b.Phone))
}

// langFor picks the reply language: the user's explicit choice, then the
// platform's hint, then the language of the user's own words (this
// message's, else the last one that left no doubt, kept in the session),
// then the default.
func (r *Router) langFor(m *envelope.Message, sess *Session) string {
	if sess.Lang != "" && r.catalog.Has(sess.Lang) {
		return sess.Lang
	}
	if l := r.catalog.LangFromHint(m.LangHint); l != "" {
		return l
	}
	if l := detectLang(m.Text); l != "" && r.catalog.Has(l) {
		sess.Detected = l
		return l
	}
	if sess.Detected != "" && r.catalog.Has(sess.Detected) {
		return sess.Detected
	}
	return r.cfg.DefaultLang
}

func (r *Router) optedOut(_ context.Context, conversation string) (bool, error) {
	return r.optout.has(conversation), nil
}

// eventCommand maps platform events to what the user meant.
func (r *Router) eventCommand(m *envelope.Message) Command {
	switch m.Event.Name {
	case envelope.EventSubscribe:
		return Command{Kind: cmdWelcome}
	case envelope.EventMenu:
		if c := r.parser.Parse(m.Event.Key); c.Kind != CmdNone {
			return c
		}
	case envelope.EventMention:
		// An @mention carries what the user wrote: answer it as a
		// message (command, FAQ or handoff).
		if m.Text != "" {
			return r.parser.Parse(m.Text)
		}
	}
	return Command{Kind: cmdIgnore}
}

// recentUserText joins the user's last turns, so "human" after a
// complaint keeps the complaint's priority.
func recentUserText(s *Session) string {
	var parts []string
	for _, t := range s.Turns {
		if t.Role == "user" {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}
