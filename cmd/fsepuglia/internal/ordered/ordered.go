// Package ordered runs a function over a sequence on a few goroutines and hands the results
// back in sequence order.
//
// publish checks every file before it records or sends anything (a batch goes in whole or not
// at all); the check of one file (reading its PDF and CDA, hashing it) is CPU work that does
// not depend on the others, so it runs on several cores, while what must see the files in
// order (duplicate unique ids, the router, the spool) stays in one goroutine. Memory stays
// bounded whatever the length: at most 2 × workers results are computed ahead of the one
// being consumed.
package ordered

import "sync"

// Each calls fn(i) for every i in [0, n) on up to workers goroutines and, from the calling
// goroutine, use(i, fn(i)) in increasing i. If use returns an error, Each stops starting new
// calls, waits for those under way and returns that error. workers < 1 means 1.
func Each[T any](n, workers int, fn func(i int) T, use func(i int, v T) error) error {
	workers = max(1, min(workers, n))
	if workers == 1 {
		for i := range n {
			if err := use(i, fn(i)); err != nil {
				return err
			}
		}
		return nil
	}
	window := 2 * workers
	slots := make([]chan T, window) // slot i%window holds the result of i
	for k := range slots {
		slots[k] = make(chan T, 1)
	}
	tokens := make(chan struct{}, window) // one per result computed ahead and not yet used
	jobs := make(chan int)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				slots[i%window] <- fn(i)
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range n {
			select {
			case tokens <- struct{}{}:
			case <-stop:
				return
			}
			select {
			case jobs <- i:
			case <-stop:
				return
			}
		}
	}()
	var err error
	for i := range n {
		v := <-slots[i%window]
		<-tokens
		if err = use(i, v); err != nil {
			break
		}
	}
	close(stop)
	wg.Wait()
	return err
}
