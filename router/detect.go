package router

import (
	"strings"
	"unicode"
)

// detectLang guesses the language of a message from its own words, for
// a user who chose none on a platform that gives no hint (SMS, and any
// platform whose messages carry no language). It answers only for
// hotline's ten languages and only when the text leaves little doubt; ""
// otherwise, and the caller keeps its default.
//
// Script decides first: Arabic, Thai and Cyrillic letters each belong to
// one of the ten; Han is Chinese, Traditional when its characters are
// more often traditional-only forms than simplified-only ones; kana or
// Hangul mean Japanese or Korean, which hotline has no texts for. Latin
// text is scored by a small model: each language's commonest words and
// the letters only it uses (ñ, ã, đ, the Vietnamese tone marks). General
// detectors (whatlanggo, lingua) were tried: the first mistook short
// Spanish for Portuguese, the second weighs 100 MB; users write a line.
func detectLang(text string) string {
	var arabic, thai, cyrillic, han, latin, other int
	var trad, simp int
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Arabic, r):
			arabic++
		case unicode.Is(unicode.Thai, r):
			thai++
		case unicode.Is(unicode.Cyrillic, r):
			cyrillic++
		case unicode.Is(unicode.Han, r):
			han++
			if strings.ContainsRune(traditionalOnly, r) {
				trad++
			} else if strings.ContainsRune(simplifiedOnly, r) {
				simp++
			}
		case unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r), unicode.Is(unicode.Hangul, r):
			other++
		case unicode.Is(unicode.Latin, r):
			latin++
		}
	}
	scripts := []struct {
		n    int
		lang string
	}{{arabic, "ar"}, {thai, "th"}, {cyrillic, "ru"}, {han, "zh"}}
	best, total := -1, arabic+thai+cyrillic+han+other
	for i, s := range scripts {
		if s.n > 0 && (best < 0 || s.n > scripts[best].n) {
			best = i
		}
	}
	switch {
	case other > 0 && (best < 0 || other >= scripts[best].n):
		return "" // Japanese or Korean
	case best >= 0 && scripts[best].n*2 > total && scripts[best].n >= latin:
		if scripts[best].lang == "zh" && trad > simp {
			return "zh-Hant"
		}
		return scripts[best].lang
	case latin > 0:
		return detectLatin(text)
	}
	return ""
}

// latinMinScore is how much evidence a Latin-script guess needs: two of
// a language's common words, or one word and a letter only it uses.
// latinMargin is how far ahead of the runner-up it must be.
const (
	latinMinScore = 4
	latinMargin   = 2
)

// detectLatin scores text against each Latin-script language's common
// words (2 points a word) and letters of its own (3 points a word that
// has one).
func detectLatin(text string) string {
	scores := map[string]int{}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' })
	for _, w := range words {
		for lang, set := range latinWords {
			if set[w] {
				scores[lang] += 2
			}
		}
		for lang, letters := range latinLetters {
			if strings.ContainsAny(w, letters) {
				scores[lang] += 3
			}
		}
	}
	best, second := "", 0
	for lang, s := range scores {
		if best == "" || s > scores[best] || (s == scores[best] && lang < best) {
			if best != "" {
				second = max(second, scores[best])
			}
			best = lang
		} else {
			second = max(second, s)
		}
	}
	if best == "" || scores[best] < latinMinScore || scores[best]-second < latinMargin {
		return ""
	}
	return best
}

// latinLetters are letters each language uses and the others of the ten
// do not (Vietnamese: its own vowels and every precomposed tone mark).
var latinLetters = map[string]string{
	"pt": "ãõç",
	"es": "ñ¿¡",
	"vi": "ăđơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ",
}

// latinWords are each language's commonest words in short support
// messages: pronouns, articles, prepositions, and the verbs people use
// to ask for help. A word two languages share counts for both.
var latinWords = wordSets(map[string]string{
	"en": "i my me you your the a an is are was not no can can't cannot don't please help need with to of for in on it this that what why how when where there have has account money payment pay order hello hi thanks thank",
	"pt": "eu meu minha você vocês o os as um uma é não sim por favor ajuda preciso com de do da dos das no na para que olá oi obrigado obrigada conta dinheiro pagamento pedido está estou tenho fazer como quando onde",
	"es": "yo mi mis tú usted el la los las un una es no sí por favor ayuda necesito con de del para que hola gracias cuenta dinero pago pedido está estoy tengo hacer cómo cuándo dónde pero muy",
	"id": "saya aku kamu anda tidak bisa tolong bantu bantuan perlu dengan untuk dari di ke yang ini itu apa kenapa bagaimana kapan mana ada akun uang pembayaran bayar pesanan halo terima kasih sudah belum mau",
	"vi": "tôi bạn của không có được giúp cần với cho và là này đó gì sao khi đâu tài khoản tiền thanh toán đơn hàng xin chào cảm ơn",
})

func wordSets(lists map[string]string) map[string]map[string]bool {
	out := make(map[string]map[string]bool, len(lists))
	for lang, list := range lists {
		set := map[string]bool{}
		for _, w := range strings.Fields(list) {
			set[w] = true
		}
		out[lang] = set
	}
	return out
}

// Common characters written differently in Traditional and Simplified
// Chinese; a text's share of each tells the two apart.
const (
	traditionalOnly = "們這說為個門國過時會來對開關問題號碼帳戶錢買賣發現還給讓請謝應該幫務線網電話輸轉頁實際從點經見體"
	simplifiedOnly  = "们这说为个门国过时会来对开关问题号码帐户钱买卖发现还给让请谢应该帮务线网电话输转页实际从点经见体"
)
