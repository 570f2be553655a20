package rotations

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// BenchmarkOnCallOverrides measures OnCall with 10, 1,000 and 10,000
// overrides stored for the rotation: lookups are a binary search, so the
// cost grows with log n, not n. lookup-only times OverrideSet.At alone
// (OnCall adds the base shift, computed in O(1)); build times
// NewOverrideSet, O(n log n), paid once per Store.Set.
func BenchmarkOnCallOverrides(b *testing.B) {
	r := mustCompile(b, Spec{Name: "db-primary", Timezone: "America/New_York", Shift: "weekly", Handoff: "Mon 09:00",
		Start: "2024-01-01", Participants: []string{"alice", "bob", "carol", "dave"}})
	start := r.FirstHandoff()
	span := 3 * 365 * 24 * time.Hour
	for _, n := range []int{10, 1000, 10000} {
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		ovs := make([]Override, n)
		for i := range ovs {
			from := start.Add(time.Duration(rng.Int64N(int64(span))))
			ovs[i] = Override{ID: strconv.Itoa(i + 1), Rotation: "db-primary", Person: "p" + strconv.Itoa(rng.IntN(20)),
				From: from, Until: from.Add(time.Duration(1+rng.IntN(72)) * time.Hour), Created: start.Add(time.Duration(i) * time.Second)}
		}
		set := NewOverrideSet(ovs)
		instants := make([]time.Time, 1024)
		for i := range instants {
			instants[i] = start.Add(time.Duration(rng.Int64N(int64(span))))
		}
		b.Run(fmt.Sprintf("overrides=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, _, _, err := OnCall(r, set, instants[i&1023]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("lookup-only/overrides=%d", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				set.At("db-primary", instants[i&1023])
				i++
			}
		})
		b.Run(fmt.Sprintf("build/overrides=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				NewOverrideSet(ovs)
			}
		})
	}
}
