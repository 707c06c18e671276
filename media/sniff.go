package media

import (
	"mime"
	"net/http"
	"strings"
)

// sniffLen is how much http.DetectContentType looks at.
const sniffLen = 512

// contentType decides what the bytes starting with head are served as,
// or refuses them. The bytes decide: a declared type is only believed
// where the sniffer knows no better — binary it cannot name (AMR voice,
// HEIC photos, M4A) or an Ogg container, which could be either audio or
// video. Anything the sniffer calls text, HTML, XML or a script is
// refused whatever the platform declared: served from the admin origin
// it could run as the operator.
func contentType(head []byte, declared string) (string, bool) {
	sniffed := baseType(http.DetectContentType(head))
	decl := baseType(declared)
	switch {
	case sniffed == "application/ogg":
		if strings.HasPrefix(decl, "audio/") || strings.HasPrefix(decl, "video/") {
			return decl, true
		}
		return "audio/ogg", true
	case allowed(sniffed):
		return sniffed, true
	case sniffed == "application/octet-stream" && allowed(decl):
		return decl, true
	}
	return "", false
}

// allowed is the media the endpoint serves. SVG is an image that can hold
// script, so it is not.
func allowed(t string) bool {
	if t == "image/svg+xml" {
		return false
	}
	return strings.HasPrefix(t, "image/") || strings.HasPrefix(t, "audio/") || strings.HasPrefix(t, "video/") || t == "application/pdf"
}

// baseType is a MIME type without parameters, lower case; "" when it is
// not one.
func baseType(t string) string {
	mt, _, err := mime.ParseMediaType(t)
	if err != nil || !strings.Contains(mt, "/") {
		return ""
	}
	return mt
}

// inline reports whether a browser may show the type in place; others
// (PDF) are downloaded, so no viewer of the admin origin renders them.
func inline(t string) bool {
	return strings.HasPrefix(t, "image/") || strings.HasPrefix(t, "audio/") || strings.HasPrefix(t, "video/")
}
