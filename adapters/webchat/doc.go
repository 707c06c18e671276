// Package webchat is the web chat channel: a page served by hotline
// itself (GET /chat/) that talks to the gateway over one WebSocket
// (GET /chat/ws), for visitors who reach customer service from a browser
// rather than from a messaging platform.
//
// # Visitors
//
// A visitor is known by the cookie hotline_chat, whose value is
// "<visitorID>.<base64url(HMAC-SHA256(key, account|visitorID))>": the id is
// a lower-case gateway id, the signature keeps visitors from choosing
// someone else's id. A missing, forged or tampered cookie makes a new
// visitor; it is never an error. The key is shared by every instance
// through the hotline_tokens bucket (CookieKey). The visitor's
// conversation is webchat:<account>:<visitorID>.
//
// # Protocol
//
// Every frame is a JSON text frame. A binary frame closes the socket with
// 1003 (unsupported data); a frame larger than Config.MaxFrameBytes closes
// it with 1009 (message too big). The server pings every 30 seconds.
//
// The page sends one kind of frame:
//
//	{"type":"send","id":"<client id>","text":"..."}
//
// The client id is 1 to 64 characters of A-Z a-z 0-9 _ -, chosen by the
// page; a message sent again with the same id (after a reconnect) is
// stored once.
//
// The server sends:
//
//	{"type":"hello","visitor":"<id>","history":[entry...],"announcement":{"text":"...","dir":"rtl"},"max_text":2000,
//	 "lang":"ar","dir":"rtl","max_upload":10485760}
//	{"type":"ack","id":"<client id>"}
//	{"type":"message","entry":entry}
//	{"type":"announcement","text":"...","dir":""}
//	{"type":"error","id":"<client id or empty>","code":"...","message":"..."}
//
// hello comes first on every connection and carries the transcript (the
// last Config.HistoryLimit entries), so a page replaces what it shows with
// it; announcement is left out when there is none; max_text is the
// longest text accepted, in characters (Unicode code points); lang is the
// language picked from the socket's langs parameter (the browser's
// navigator.languages, comma-separated, best first: the best one
// Config.Labels has, else the first) and dir its direction. That
// language is every message's LangHint. ack means the message
// is stored in JetStream and the page may forget it; until then the page
// keeps it and sends it again after a reconnect. message carries every
// new transcript entry, the visitor's own messages included (from this tab
// or another), so the page must skip entries it already shows (by id, or
// by client_id for its own messages). announcement says the banner
// changed; an empty text removes it. Error codes are bad_frame (not a
// valid send frame), empty, too_long (over Config.MaxTextRunes),
// rate_limited (over the visitor's rate; nothing stored, the page may try
// again later) and unavailable (not stored, try again).
//
// An entry is
//
//	{"id":"<gateway id>","role":"user|bot|agent","text":"...","lang":"<bcp47>","dir":"rtl|",
//	 "buttons":[{"label":"...","data":"..."}],"at":"<RFC 3339>","client_id":"<client id>"}
//
// buttons only on replies that have them, client_id only on the visitor's
// own messages, and on an attachment the visitor sent
//
//	"media":{"kind":"image|video","url":"media/<object>","mime":"image/png","name":"<file name>","size":1234}
//
// # Attachments
//
// A file goes over HTTP, not the socket:
//
//	POST /chat/upload?id=<client id>&name=<file name>&langs=<list>   body: the file
//
// with the visitor cookie (no cookie: 403; an upload never makes a
// visitor) from the page's own origin (Sec-Fetch-Site or Origin naming
// another: 403). The body is at most MaxUploadBytes (413); its type is
// what http.DetectContentType (and a QuickTime ftyp check) makes of its
// first 512 bytes, one of PNG, JPEG, GIF, WebP, MP4, WebM or QuickTime,
// whatever the name or Content-Type say (415). Each visitor has an
// upload budget apart from messages' (429). The file goes to the
// hotline_media object store as webchat.<account>.<visitor>.<client id>
// and an image or video message referencing it (Media.PlatformID, MIME,
// Size, FileName sanitized, with the real type's extension) to
// HOTLINE_IN; only then does the answer say
//
//	{"type":"ack","id":"<client id>","entry":entry}
//
// and the entry is pushed to the visitor's sockets. Errors are
// {"type":"error","id":...,"code":...,"message":...} with codes forbidden,
// bad_frame, empty, too_big, unsupported_type, rate_limited and
// unavailable (503: not stored; a file whose message was not stored is
// deleted, and the bucket's TTL removes what a failed delete leaves). A
// retry under the same client id is acknowledged once stored, and stored
// once. GET /chat/media/<object> serves a file back to the visitor who
// sent it and answers 404 to anybody else; Adapter.FetchMedia serves it
// to agents.
//
// # Labels
//
// The page's own words (placeholder, buttons, notices, aria labels) come
// from Config.Labels, which serve builds from the router's catalog
// (webchat_* texts): all languages are in the page as a JSON data block.
// The page speaks the language of the bot's latest answer, else hello's
// lang, and sets dir="rtl" on the document for a right-to-left one.
//
// # Transcript and delivery
//
// The transcript of each visitor lives in the hotline_webchat bucket under
// <account>.<visitorID> and is the source of truth: a reply is written
// there before Send returns, so a visitor whose socket was closed sees it
// in the next hello. After each new entry the instance that wrote it
// pushes it to its own sockets and publishes it on the core NATS subject
// hotline.webchat.notify.<account>.<visitorID>, which every other
// instance's Run hands to its sockets of that visitor. That push is at most
// once; a page that missed one gets the entry with its next hello.
package webchat
