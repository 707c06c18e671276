package router

import (
	"testing"

	"hotline/bus/bustest"
	"hotline/envelope"
)

// What an agent reads of a message keeps what the user sent, not just
// its kind.
func TestUserTurnText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    envelope.Message
		want string
	}{
		{"text", envelope.Message{Kind: envelope.KindText, Text: "hello"}, "hello"},
		{"venue", envelope.Message{Kind: envelope.KindLocation, Location: &envelope.Location{Lat: 31.2304, Lon: 121.4737, Label: "People's Square", Address: "120 Renmin Ave"}},
			"[location 31.2304,121.4737 People's Square 120 Renmin Ave https://www.openstreetmap.org/?mlat=31.2304&mlon=121.4737#map=17/31.2304/121.4737]"},
		{"contact", envelope.Message{Kind: envelope.KindContact, Contact: &envelope.Contact{Name: "Mei", Phone: "+8613800138000"}}, "[contact Mei +8613800138000]"},
		{"link", envelope.Message{Kind: envelope.KindLink, Text: "https://example.com/order/1", Link: &envelope.Link{URL: "https://example.com/order/1", Title: "My order"}},
			"[link My order https://example.com/order/1]"},
		{"photo with caption", envelope.Message{Kind: envelope.KindImage, Text: "this charge", Media: []envelope.Media{{Kind: envelope.KindImage, PlatformID: "AgAC123", Size: 48213}}},
			"[image 47 KB id:AgAC123] this charge"},
		{"photo whose caption is the text", envelope.Message{Kind: envelope.KindImage, Text: "this charge", Media: []envelope.Media{{Kind: envelope.KindImage, PlatformID: "AgAC1", Caption: "this charge"}}},
			"[image id:AgAC1] this charge"},
		{"document", envelope.Message{Kind: envelope.KindFile, Media: []envelope.Media{{Kind: envelope.KindFile, FileName: "receipt.pdf", MIME: "application/pdf", URL: "https://api.example/media/1", Size: 3 << 20}}},
			"[file receipt.pdf application/pdf 3.0 MB https://api.example/media/1]"},
		{"sticker", envelope.Message{Kind: envelope.KindImage, Text: "😀", Meta: map[string]string{"sticker": "😀"}, Media: []envelope.Media{{Kind: envelope.KindImage, PlatformID: "CAAC"}}}, "[sticker 😀] 😀"},
		{"event", envelope.Message{Kind: envelope.KindEvent, Event: &envelope.Event{Name: "menu", Key: "2"}}, "[menu 2]"},
		{"nothing else", envelope.Message{Kind: envelope.KindVoice}, "[voice]"},
	}
	for _, tc := range tests {
		if got := userTurnText(&tc.m); got != tc.want {
			t.Errorf("%s: %q\n want %q", tc.name, got, tc.want)
		}
	}
}

// A user's attachments ride in the turn an agent reads, so the console
// can show them.
func TestTurnKeepsMedia(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	m := inbound("pic", "this charge is wrong")
	m.Kind = envelope.KindImage
	m.Media = []envelope.Media{{Kind: envelope.KindImage, PlatformID: "AgACphoto", MIME: "image/jpeg", Size: 48213}}
	process(t, r, m)
	hs := handoffs(t, b)
	if len(hs) != 1 || len(hs[0].History) == 0 {
		t.Fatalf("handoffs %+v", hs)
	}
	for _, turn := range hs[0].History {
		if turn.Role == "user" {
			if len(turn.Media) != 1 || turn.Media[0].PlatformID != "AgACphoto" {
				t.Fatalf("user's turn %+v, want the photo", turn)
			}
			return
		}
	}
	t.Fatalf("no user turn in %+v", hs[0].History)
}
