package incident_test

import (
	"errors"
	"testing"

	"github.com/batonhq/baton/incident"
)

// TestOpenRequiresTheEpoch: under WithEpoch, Open stores nothing and
// issues no number unless the epoch marker holds the epoch named, batched
// or not; without it (or with "") the marker is not read.
func TestOpenRequiresTheEpoch(t *testing.T) {
	cases := []struct {
		name    string
		stored  string // the marker in Redis, "" none
		known   string // what WithEpoch's function returns; "-" no option
		refused bool
	}{
		{name: "no option, no marker", known: "-"},
		{name: "no option, a marker", stored: "E1", known: "-"},
		{name: "nothing known yet", stored: "E1", known: ""},
		{name: "the same epoch", stored: "E1", known: "E1"},
		{name: "marker gone (data lost)", known: "E1", refused: true},
		{name: "another epoch", stored: "E2", known: "E1", refused: true},
	}
	for _, tc := range cases {
		for _, unbatched := range []bool{false, true} {
			name := tc.name + "/batched"
			if unbatched {
				name = tc.name + "/unbatched"
			}
			t.Run(name, func(t *testing.T) {
				var opts []incident.StoreOption
				if tc.known != "-" {
					opts = append(opts, incident.WithEpoch(func() string { return tc.known }))
				}
				s, c, ctx := newService(t, opts...)
				s.Unbatched = unbatched
				defer s.Close()
				if tc.stored != "" {
					c.Set(ctx, s.EpochKey(), tc.stored, 0)
				}
				r, err := s.Open(ctx, alert("k1"))
				if tc.refused {
					if !errors.Is(err, incident.ErrEpochChanged) || incident.ErrorCode(err) != incident.Unavailable {
						t.Fatalf("open = %+v, %v; want ErrEpochChanged (unavailable)", r, err)
					}
					if n, _ := c.Exists(ctx, s.SeqKey()).Result(); n != 0 {
						t.Errorf("a number was issued")
					}
					want := int64(0)
					if tc.stored != "" {
						want = 1
					}
					if n, _ := c.DBSize(ctx).Result(); n != want {
						t.Errorf("%d keys after a refused open, want only the marker", n)
					}
					return
				}
				if err != nil || r.Number != 1 || !r.Created {
					t.Fatalf("open = %+v, %v; want INC-1 created", r, err)
				}
			})
		}
	}
}

// TestOpenNumbersAboveTheFloor: under WithNumberFloor a new incident's
// number is above the floor even when the counter went back; a repeat
// issues no number.
func TestOpenNumbersAboveTheFloor(t *testing.T) {
	cases := []struct {
		name  string
		seq   int64 // the counter before the open
		floor int64 // -1: no option
		want  int64
	}{
		{name: "no option", seq: 5, floor: -1, want: 6},
		{name: "floor 0: none", seq: 5, floor: 0, want: 6},
		{name: "counter above the floor", seq: 5, floor: 3, want: 6},
		{name: "counter at the floor", seq: 9, floor: 9, want: 10},
		{name: "counter went back below the floor", seq: 5, floor: 9, want: 10},
		{name: "counter gone", seq: 0, floor: 9, want: 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []incident.StoreOption
			if tc.floor >= 0 {
				opts = append(opts, incident.WithNumberFloor(func() int64 { return tc.floor }))
			}
			s, c, ctx := newService(t, opts...)
			defer s.Close()
			if tc.seq > 0 {
				c.Set(ctx, s.SeqKey(), tc.seq, 0)
			}
			r, err := s.Open(ctx, alert("k1"))
			if err != nil || !r.Created || r.Number != tc.want {
				t.Fatalf("open = %+v, %v; want INC-%d created", r, err, tc.want)
			}
			r, err = s.Open(ctx, alert("k1"))
			if err != nil || r.Created || r.Number != tc.want {
				t.Fatalf("repeat = %+v, %v; want INC-%d again", r, err, tc.want)
			}
		})
	}
}
