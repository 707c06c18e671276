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
//	{"type":"hello","visitor":"<id>","history":[entry...],"announcement":{"text":"...","dir":"rtl"},"max_text":2000}
//	{"type":"ack","id":"<client id>"}
//	{"type":"message","entry":entry}
//	{"type":"announcement","text":"...","dir":""}
//	{"type":"error","id":"<client id or empty>","code":"...","message":"..."}
//
// hello comes first on every connection and carries the transcript (the
// last Config.HistoryLimit entries), so a page replaces what it shows with
// it; announcement is left out when there is none; max_text is the
// longest text accepted, in characters (Unicode code points). ack means the message
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
// own messages.
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
