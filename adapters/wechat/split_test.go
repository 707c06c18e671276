package wechat

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplit(t *testing.T) {
	long := strings.Repeat("字", 1300)
	parts := Split(long, TextLimit)
	if len(parts) != 3 || strings.Join(parts, "") != long {
		t.Fatalf("got %d parts, want 3 that join to the text", len(parts))
	}
	words := strings.Repeat("word ", 200) // 1000 runes
	for _, p := range Split(words, 600) {
		if strings.HasPrefix(p, "ord") || len([]rune(p)) > 600 {
			t.Fatalf("part %q cut a word or is too long", p)
		}
	}
	tests := []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"trimmed", "  你好 \n", 10, []string{"你好"}},
		{"white space only", " \n\t", 10, nil},
		{"chinese sentence end", "退款将在三个工作日内到账。请留意短信通知", 16, []string{"退款将在三个工作日内到账。", "请留意短信通知"}},
		{"line break", "第一行的内容比较长\n第二行内容", 12, []string{"第一行的内容比较长", "第二行内容"}},
		{"emoji sequence kept whole", strings.Repeat("好", 9) + "👩\u200d💻", 10, []string{strings.Repeat("好", 9), "👩\u200d💻"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Split(tc.text, tc.limit); strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	for _, text := range []string{strings.Repeat("退款将在三个工作日内到账。", 60), strings.Repeat("😀", 1000),
		strings.Repeat("a😀 ", 400), strings.Repeat("字", 599) + "😀😀"} {
		for i, p := range Split(text, TextLimit) {
			if n := utf8.RuneCountInString(p); n > TextLimit {
				t.Errorf("part %d: %d runes, want <= %d", i, n, TextLimit)
			}
			if len(p) > maxTextBytes {
				t.Errorf("part %d: %d bytes, want <= %d", i, len(p), maxTextBytes)
			}
		}
	}
	// Chinese and Latin text is cut by runes alone; emoji by bytes.
	if parts := Split(strings.Repeat("字", 1200), TextLimit); len(parts) != 2 {
		t.Errorf("1200 Chinese runes: %d parts, want 2 of 600", len(parts))
	}
	if parts := Split(strings.Repeat("😀", 1024), TextLimit); len(parts) != 2 || utf8.RuneCountInString(parts[0]) != 512 {
		t.Errorf("1024 emoji: %d parts, want 2 of 512 (2048 bytes)", len(parts))
	}
}
