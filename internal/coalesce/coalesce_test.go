package coalesce

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is a Send that records its batches and blocks each until
// released, so tests decide when a send in flight ends.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	release chan struct{}
	fail    map[int]error
}

func (r *recorder) send(ctx context.Context, key string, items []int) []error {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(items))
	r.mu.Unlock()
	if r.release != nil {
		select {
		case <-r.release:
		case <-ctx.Done():
			errs := make([]error, len(items))
			for i := range errs {
				errs[i] = ctx.Err()
			}
			return errs
		}
	}
	errs := make([]error, len(items))
	for i, it := range items {
		errs[i] = r.fail[it]
	}
	return errs
}

func (r *recorder) got() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

func TestBatches(t *testing.T) {
	cases := []struct {
		name  string
		max   int
		items int
		want  [][]int
	}{
		{name: "a lone item goes alone", items: 1, want: [][]int{{0}}},
		{name: "items arriving while a send is in flight go together", items: 5, want: [][]int{{0}, {1, 2, 3, 4}}},
		{name: "max bounds a batch", max: 2, items: 6, want: [][]int{{0}, {1, 2}, {3, 4}, {5}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := &recorder{release: make(chan struct{})}
				g := &Group[int]{Send: r.send, Max: tc.max}
				var wg sync.WaitGroup
				for i := range tc.items {
					wg.Go(func() {
						if err := g.Do(context.Background(), "dana", i); err != nil {
							t.Errorf("item %d: %v", i, err)
						}
					})
					synctest.Wait() // item i is queued (or in flight) before i+1 comes
				}
				for range len(tc.want) {
					r.release <- struct{}{}
					synctest.Wait()
				}
				wg.Wait()
				if got := r.got(); !slices.EqualFunc(got, tc.want, slices.Equal) {
					t.Fatalf("batches %v, want %v", got, tc.want)
				}
				if n := g.Pending("dana"); n != 0 {
					t.Fatalf("%d pending after all were sent", n)
				}
			})
		})
	}
}

// Hold lets a key's items gather before its batch is taken: items arriving
// within the hold go out together, and the first one too.
func TestHold(t *testing.T) {
	cases := []struct {
		name string
		hold time.Duration
		want [][]int
	}{
		{name: "no hold: the first goes alone", want: [][]int{{0}, {1, 2, 3}}},
		{name: "a hold gathers the first with the rest", hold: time.Second, want: [][]int{{0, 1, 2, 3}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := &recorder{}
				var mu sync.Mutex
				g := &Group[int]{Send: func(ctx context.Context, key string, items []int) []error {
					mu.Lock() // a send takes 10 ms
					defer mu.Unlock()
					time.Sleep(10 * time.Millisecond)
					return r.send(ctx, key, items)
				}, Hold: func(string) time.Duration { return tc.hold }}
				var wg sync.WaitGroup
				for i := range 4 {
					wg.Go(func() { _ = g.Do(context.Background(), "dana", i) })
					time.Sleep(time.Millisecond) // the next page comes 1 ms later
				}
				wg.Wait()
				if got := r.got(); !slices.EqualFunc(got, tc.want, slices.Equal) {
					t.Fatalf("batches %v, want %v", got, tc.want)
				}
			})
		})
	}
}

func TestKeysAreIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{release: make(chan struct{})}
		g := &Group[int]{Send: r.send}
		var wg sync.WaitGroup
		wg.Go(func() { _ = g.Do(context.Background(), "dana", 1) })
		synctest.Wait()
		wg.Go(func() { _ = g.Do(context.Background(), "eli", 2) })
		synctest.Wait()
		if got := r.got(); len(got) != 2 {
			t.Fatalf("eli's item waited for dana's send: batches %v", got)
		}
		r.release <- struct{}{}
		r.release <- struct{}{}
		wg.Wait()
	})
}

func TestErrorsPerItem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := errors.New("gone")
		r := &recorder{release: make(chan struct{}), fail: map[int]error{2: bad}}
		g := &Group[int]{Send: r.send}
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() { errs[i] = g.Do(context.Background(), "k", i) })
			synctest.Wait()
		}
		r.release <- struct{}{}
		r.release <- struct{}{}
		wg.Wait()
		for i, err := range errs {
			if want := r.fail[i]; !errors.Is(err, want) || (want == nil && err != nil) {
				t.Errorf("item %d: error %v, want %v", i, err, want)
			}
		}
	})
}

func TestShortErrorSliceMeansDelivered(t *testing.T) {
	g := &Group[int]{Send: func(context.Context, string, []int) []error { return nil }}
	if err := g.Do(context.Background(), "k", 1); err != nil {
		t.Fatal(err)
	}
}

func TestWithdrawnBeforeTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{release: make(chan struct{})}
		g := &Group[int]{Send: r.send}
		var wg sync.WaitGroup
		wg.Go(func() { _ = g.Do(context.Background(), "k", 0) })
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		var err error
		wg.Go(func() { err = g.Do(ctx, "k", 1) })
		synctest.Wait()
		cancel()
		synctest.Wait()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("withdrawn item: %v, want context.Canceled", err)
		}
		r.release <- struct{}{}
		wg.Wait()
		if got := r.got(); !slices.EqualFunc(got, [][]int{{0}}, slices.Equal) {
			t.Fatalf("a withdrawn item was sent: %v", got)
		}
	})
}

// A batch's context ends only when every caller's has: one caller giving
// up does not cancel the send the others wait for.
func TestBatchContextOutlivesOneCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{release: make(chan struct{})}
		g := &Group[int]{Send: r.send}
		var wg sync.WaitGroup
		wg.Go(func() { _ = g.Do(context.Background(), "k", 0) })
		synctest.Wait()
		short, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		errs := make([]error, 2)
		wg.Go(func() { errs[0] = g.Do(short, "k", 1) })
		wg.Go(func() { errs[1] = g.Do(context.Background(), "k", 2) })
		synctest.Wait()
		r.release <- struct{}{} // {0} done; {1, 2} now in flight
		synctest.Wait()
		time.Sleep(2 * time.Second) // the short caller's deadline passes mid-send
		synctest.Wait()
		r.release <- struct{}{}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("caller %d: %v (the send was cancelled though a caller still waited)", i, err)
			}
		}
	})
}

func TestAllCallersGoneCancelsTheSend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{release: make(chan struct{})}
		g := &Group[int]{Send: r.send}
		ctx, cancel := context.WithCancel(context.Background())
		var err error
		done := make(chan struct{})
		go func() { err = g.Do(ctx, "k", 0); close(done) }()
		synctest.Wait()
		cancel()
		<-done
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want the send's context.Canceled", err)
		}
	})
}

func TestPanicFailsTheBatch(t *testing.T) {
	g := &Group[int]{Send: func(context.Context, string, []int) []error { panic("boom") }}
	err := g.Do(context.Background(), "k", 1)
	var pe *PanicError
	if !errors.As(err, &pe) || fmt.Sprint(pe.Value) != "boom" {
		t.Fatalf("error %v, want a PanicError", err)
	}
}
