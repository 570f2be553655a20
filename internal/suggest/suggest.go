// Package suggest finds the known word closest to a typo, for the "did you
// mean" in config errors and chat command errors.
package suggest

// Distance is the edit distance between a and b (insertions, deletions,
// substitutions, and a swap of two neighbouring letters each count one),
// for "did you mean" suggestions on typed commands and config keys. Words
// longer than 40 bytes are never close.
func Distance(a, b string) int {
	if len(a) > 40 {
		return 99
	}
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	var prevPrev []int
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prevPrev[j-2]+1) // a transposition ("akc") is one slip
			}
		}
		prevPrev, prev = prev, cur
	}
	return prev[len(b)]
}
