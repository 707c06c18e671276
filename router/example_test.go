package router_test

import (
	"fmt"
	"strings"

	"hotline/router"
)

// Commands are recognized in every supported language, after Unicode
// folding, with +, space, -, _ or : between the command and its argument.
func ExampleParser_Parse() {
	catalog, err := router.LoadCatalog("")
	if err != nil {
		panic(err)
	}
	p, err := router.NewParser(catalog)
	if err != nil {
		panic(err)
	}
	for _, text := range []string{"help+ar", "ＨＥＬＰ＋ＥＮ", "help+zh-tw", "ajuda", "人工", "2", "helpful"} {
		c := p.Parse(text)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s → %s %s %s", text, c.Kind, c.Lang.Code, c.AliasLang)))
	}
	// Output:
	// help+ar → help ar
	// ＨＥＬＰ＋ＥＮ → help en
	// help+zh-tw → help zh-Hant
	// ajuda → help  pt
	// 人工 → human
	// 2 → menu_code
	// helpful → none
}
