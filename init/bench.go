package main

import (
	"context"
	"runtime/debug"
	"time"
)

// benchRestarts restarts the services n times in turn, each as `keel-ctl restart` does (stop,
// then a new task), and samples memory as at services-ready after each quarter of them, so
// that the benchmark can show whether PID 1's memory, goroutines or file descriptors grow
// with restarts.
func (in *initProc) benchRestarts(n int) {
	list := in.services.all()
	if len(list) == 0 {
		logf("bench: no services to restart")
		return
	}
	in.mu.Lock()
	grace := in.grace
	in.mu.Unlock()
	start, done := time.Now(), 0
	sample := func() {
		debug.FreeOSMemory()
		in.tl.addRestartSample(done, sampleMemory())
	}
	quarters := map[int]bool{n / 4: true, n / 2: true, 3 * n / 4: true}
	delete(quarters, 0)
	for i := 0; i < n && in.bootCtx.Err() == nil; i++ {
		if quarters[i] {
			sample()
		}
		s := list[i%len(list)]
		s.halt(grace)
		ctx, cancel := context.WithTimeout(in.bootCtx, grace+60*time.Second)
		err := s.start(ctx)
		cancel()
		if err != nil {
			logf("bench: restart %d of %s: %v", i+1, s.name, err)
			continue
		}
		done++
	}
	logf("bench: %d of %d restarts in %s", done, n, time.Since(start).Round(time.Millisecond))
	sample()
	in.tl.save()
}
