package gsm
import ("testing"; "math/rand/v2"; "os")
func TestZZ(t *testing.T) {
	atoms := []string{"a"," ","€","😀","中","\xff","\u0301","\u200d","🇫🇷","\r","\n","{","🏽","\xe2","é","ç"}
	r := rand.New(rand.NewPCG(1,2))
	for it := 0; it < 200000; it++ {
		n := r.IntN(400)
		b := []byte{}
		for i := 0; i < n; i++ { b = append(b, atoms[r.IntN(len(atoms))]...) }
		os.WriteFile("/tmp/gsm_last_input", b, 0o644)
		checkSplit(t, string(b))
		if t.Failed() { t.Fatalf("input %q", b) }
	}
}
