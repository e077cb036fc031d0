package retry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// A Simulation plays a provider's redeliveries of one callback against a
// merchant's handler, the way the provider would: attempt after attempt on
// the provider's Policy until an acknowledgement gets back to the
// provider, or the schedule runs out. It can lose acknowledgements (the
// merchant processed the callback, the provider saw a failure and keeps
// redelivering) and send concurrent copies of each attempt, so that a test
// can prove a handler runs the merchant's function once per event
// whatever the provider does. Package callbacktest fills in Policy,
// Request and Ack for each provider.
//
// The zero value of each optional field means the documented default.
// By default time is simulated: nothing sleeps, and attempt n is stamped
// at Start + Policy.At(n). A Simulation is a value; Simulate does not
// modify it.
type Simulation struct {
	// Policy is the provider's schedule, for example CHIP. Required, with
	// at least one attempt.
	Policy Policy

	// Handler, if set, receives the deliveries in process through
	// ServeHTTP, as the net/http server would call it (RequestURI set,
	// Host defaulting to "example.com").
	Handler http.Handler
	// URL is where the callback is sent: with a Handler, a path and query
	// such as "/callbacks/chip?shop=1" (default "/"); without one, the
	// absolute http(s) URL of the merchant's server, posted to through
	// Client.
	URL string
	// Client sends deliveries to URL when Handler is nil; default a
	// client with a 30 s timeout (the longest IXOPAY waits).
	Client *http.Client

	// Request builds one delivery: the provider's request to d.URL. It
	// is called once per copy of each attempt, one call at a time, so it
	// may re-sign the body or stamp a fresh date each attempt (d.At). It
	// should use the context it is given. Required.
	Request func(ctx context.Context, d Delivery) (*http.Request, error)

	// Ack reports whether a reply acknowledges the delivery, as the
	// provider reads it; default Ack2xx. IXOPAY's is AckExact(200, "OK").
	Ack func(status int, body []byte) bool

	// LoseAcks is the share, from 0 to 1, of acknowledgements that get
	// lost on the way back: the merchant's server answered with an ack,
	// the provider saw a failure and redelivers on its schedule. Default
	// 0; 1 loses every ack, so the schedule always runs out.
	LoseAcks float64
	// LoseFirst is a number of acknowledgements lost before LoseAcks
	// applies: LoseFirst 1 loses exactly the first, whatever the Seed.
	// Default 0.
	LoseFirst int
	// Duplicates is the number of extra copies of each attempt, sent
	// concurrently with it; default 0.
	Duplicates int
	// Seed seeds the choice of lost acknowledgements: the same Seed and
	// the same replies give the same run. The zero Seed is a seed like
	// any other.
	Seed uint64

	// Start is when attempt 1 happens on the simulated clock; default the
	// Clock's time if Clock is set, else time.Now().
	Start time.Time
	// Clock, if set, is moved to each attempt's time before it is sent,
	// so that a handler, a verifier or a store reading Clock.Now sees the
	// provider's time: a retry a day later, a dedup TTL expiring.
	Clock *Clock
	// Speed, if above zero, plays the schedule on the real clock,
	// compressed Speed times: attempt n is sent Policy.At(n)/Speed after
	// the first (Speed 100000 plays CHIP's 36 hours in 1.3 s), and
	// stamped with the wall-clock time it is sent. Zero means simulated
	// time: no waiting at all.
	Speed float64

	// OnAttempt, if set, is called after each attempt with the reports of
	// its copies, in order, before the next attempt starts: for printing
	// progress. It is called from Simulate's goroutine.
	OnAttempt func(copies []Attempt)
}

// Delivery describes one copy of one attempt, for Simulation.Request.
type Delivery struct {
	// Attempt is the attempt's number, 1 to Policy.Attempts().
	Attempt int
	// Copy numbers the concurrent copies of the attempt, from 1 to
	// Duplicates+1.
	Copy int
	// Offset is when the attempt is due on the schedule, measured from
	// attempt 1: Policy.At(Attempt).
	Offset time.Duration
	// At is the attempt's time: Start + Offset on the simulated clock,
	// the wall-clock time when Speed is set. A provider that stamps its
	// requests (IXOPAY's signed Date) stamps them with At.
	At time.Time
	// URL is Simulation.URL (or "/"): where the request goes.
	URL string
}

// Attempt reports what happened to one copy of one attempt.
type Attempt struct {
	Delivery
	// Status is the reply's status code; 0 when there was no reply.
	Status int
	// Body is the reply's body, cut to at most 256 bytes.
	Body string
	// Acked reports whether the reply acknowledged the delivery.
	Acked bool
	// Lost reports whether that acknowledgement was lost on its way back
	// (see Simulation.LoseAcks): the provider saw a failure.
	Lost bool
	// Err is why there was no reply (connection refused, timeout).
	Err error
}

// Delivered reports whether the provider saw this copy acknowledged.
func (a Attempt) Delivered() bool { return a.Acked && !a.Lost }

// String formats the attempt on one line, for example
// `attempt 2 copy 1 at +2m0s: 200 "OK" acked, ack lost`.
func (a Attempt) String() string {
	s := fmt.Sprintf("attempt %d copy %d at +%v: ", a.Attempt, a.Copy, a.Offset)
	switch {
	case a.Err != nil:
		s += "no reply: " + a.Err.Error()
	default:
		s += strconv.Itoa(a.Status) + " " + strconv.Quote(a.Body)
	}
	switch {
	case a.Lost:
		s += " acked, ack lost"
	case a.Acked:
		s += " acked"
	default:
		s += " not acked"
	}
	return s
}

// Result is what a Simulation did.
type Result struct {
	// Policy names the schedule played.
	Policy string
	// Start is attempt 1's time.
	Start time.Time
	// Attempts reports every copy of every attempt made, in order of
	// attempt, then copy.
	Attempts []Attempt
	// Acknowledged reports whether an acknowledgement reached the
	// provider, ending the redeliveries.
	Acknowledged bool
	// AckedAttempt is the number of the attempt whose acknowledgement
	// reached the provider; 0 when none did.
	AckedAttempt int
}

// Lost returns how many acknowledgements were lost.
func (r *Result) Lost() int {
	n := 0
	for _, a := range r.Attempts {
		if a.Lost {
			n++
		}
	}
	return n
}

// Statuses returns the reply statuses of every copy, in order (0 for no
// reply): a compact view for tests.
func (r *Result) Statuses() []int {
	s := make([]int, len(r.Attempts))
	for i, a := range r.Attempts {
		s[i] = a.Status
	}
	return s
}

// ErrNotAcknowledged is matched by the error Simulate returns when the
// provider's schedule ran out and no acknowledgement reached it: the
// provider gives up, and the event is lost unless the merchant reconciles.
var ErrNotAcknowledged = errors.New("retry: schedule ran out without an acknowledgement")

// Ack2xx is the default Simulation.Ack: any 2xx status acknowledges.
func Ack2xx(status int, _ []byte) bool { return status >= 200 && status <= 299 }

// AckExact returns an Ack accepting only status with exactly body, as
// IXOPAY reads its acknowledgement: AckExact(200, "OK").
func AckExact(status int, body string) func(int, []byte) bool {
	return func(s int, b []byte) bool { return s == status && string(b) == body }
}

// maxReplyBody bounds how much of a reply Simulate reads.
const maxReplyBody = 1 << 20

// maxExcerpt bounds Attempt.Body.
const maxExcerpt = 256

// Simulate plays s: it sends attempt 1, then each later attempt of
// s.Policy, each with s.Duplicates concurrent copies, until a reply
// acknowledges an attempt and that acknowledgement is not lost, or the
// schedule runs out.
//
// It returns the Result of the run, and an error: nil once acknowledged,
// one matching ErrNotAcknowledged when the schedule ran out, ctx's error
// when ctx ended the run, or the error of s.Request. The Result reports
// the attempts made in every case but an invalid Simulation (nil Result).
// Simulate sleeps only when s.Speed is set.
func Simulate(ctx context.Context, s Simulation) (*Result, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if s.Ack == nil {
		s.Ack = Ack2xx
	}
	if s.URL == "" {
		s.URL = "/"
	}
	if s.Handler == nil && s.Client == nil {
		s.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if s.Start.IsZero() {
		if s.Clock != nil {
			s.Start = s.Clock.Now()
		} else {
			s.Start = time.Now()
		}
	}
	l := &loser{share: s.LoseAcks, first: s.LoseFirst, rng: rand.New(rand.NewPCG(s.Seed, 0x9e3779b97f4a7c15))}
	res := &Result{Policy: s.Policy.Name, Start: s.Start}
	realStart := time.Now()
	for n := 1; n <= s.Policy.Attempts(); n++ {
		off := s.Policy.At(n)
		at := s.Start.Add(off)
		if s.Speed > 0 {
			if err := sleepUntil(ctx, realStart.Add(time.Duration(float64(off)/s.Speed))); err != nil {
				return res, err
			}
			at = time.Now()
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if s.Clock != nil {
			s.Clock.Set(at)
		}
		copies, err := s.attempt(ctx, Delivery{Attempt: n, Offset: off, At: at, URL: s.URL}, l)
		res.Attempts = append(res.Attempts, copies...)
		if err != nil {
			return res, err
		}
		if s.OnAttempt != nil {
			s.OnAttempt(copies)
		}
		for _, c := range copies {
			if c.Delivered() {
				res.Acknowledged, res.AckedAttempt = true, n
				return res, nil
			}
		}
	}
	return res, fmt.Errorf("%w: %d attempts of %s over %v", ErrNotAcknowledged, s.Policy.Attempts(), s.Policy.Name, s.Policy.Horizon())
}

func (s *Simulation) check() error {
	switch {
	case s.Policy.Attempts() == 0:
		return errors.New("retry: Simulation.Policy has no attempts")
	case s.Request == nil:
		return errors.New("retry: Simulation.Request is nil")
	case !(s.LoseAcks >= 0 && s.LoseAcks <= 1):
		return fmt.Errorf("retry: Simulation.LoseAcks %v is not between 0 and 1", s.LoseAcks)
	case s.LoseFirst < 0:
		return fmt.Errorf("retry: Simulation.LoseFirst %d is negative", s.LoseFirst)
	case s.Duplicates < 0:
		return fmt.Errorf("retry: Simulation.Duplicates %d is negative", s.Duplicates)
	case !(s.Speed >= 0):
		return fmt.Errorf("retry: Simulation.Speed %v is negative", s.Speed)
	}
	if s.Handler == nil {
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("retry: Simulation.URL %q must be an absolute http(s) URL when Handler is nil", s.URL)
		}
	}
	return nil
}

// attempt builds every copy of one attempt, sends them all at once, and
// decides which acknowledgements are lost, in copy order so that a Seed
// replays the same run.
func (s *Simulation) attempt(ctx context.Context, d Delivery, l *loser) ([]Attempt, error) {
	copies := make([]Attempt, s.Duplicates+1)
	reqs := make([]*http.Request, len(copies))
	for i := range copies {
		d.Copy = i + 1
		copies[i].Delivery = d
		req, err := s.Request(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("retry: building attempt %d copy %d: %w", d.Attempt, d.Copy, err)
		}
		if req == nil {
			return nil, fmt.Errorf("retry: building attempt %d copy %d: Request returned a nil request", d.Attempt, d.Copy)
		}
		reqs[i] = req
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range copies {
		wg.Go(func() {
			<-start
			copies[i].Status, copies[i].Body, copies[i].Acked, copies[i].Err = s.send(ctx, reqs[i])
		})
	}
	close(start)
	wg.Wait()
	for i := range copies {
		copies[i].Lost = copies[i].Acked && l.lose()
	}
	return copies, nil
}

// loser decides which acknowledgements are lost.
type loser struct {
	share float64
	first int
	rng   *rand.Rand
}

func (l *loser) lose() bool {
	if l.first > 0 {
		l.first--
		return true
	}
	return l.share > 0 && l.rng.Float64() < l.share
}

// send delivers req and reads the reply as the provider does.
func (s *Simulation) send(ctx context.Context, req *http.Request) (status int, excerpt string, acked bool, err error) {
	var body []byte
	if s.Handler != nil {
		r := req.WithContext(ctx)
		if r.RequestURI == "" {
			r.RequestURI = r.URL.RequestURI()
		}
		if r.Host == "" {
			r.Host = "example.com"
		}
		if r.RemoteAddr == "" {
			r.RemoteAddr = "192.0.2.1:1234"
		}
		if r.Body == nil {
			r.Body = http.NoBody
		}
		w := &replyWriter{header: make(http.Header)}
		s.Handler.ServeHTTP(w, r)
		status, body = w.status, w.body.Bytes()
		if status == 0 {
			status = http.StatusOK // as net/http answers a handler that wrote nothing
		}
	} else {
		r := req.WithContext(ctx)
		r.RequestURI = "" // a client request must not carry one
		resp, err := s.Client.Do(r)
		if err != nil {
			return 0, "", false, err
		}
		defer resp.Body.Close()
		status = resp.StatusCode
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxReplyBody))
		if err != nil {
			return status, excerptOf(body), false, fmt.Errorf("reading the reply: %w", err)
		}
	}
	return status, excerptOf(body), s.Ack(status, body), nil
}

// replyWriter is the http.ResponseWriter of an in-process delivery: a
// minimal httptest.ResponseRecorder, so that library code does not import
// net/http/httptest.
type replyWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *replyWriter) Header() http.Header { return w.header }

func (w *replyWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *replyWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if room := maxReplyBody - w.body.Len(); room < len(b) {
		w.body.Write(b[:max(room, 0)])
		return len(b), nil
	}
	return w.body.Write(b)
}

// Flush does nothing: the reply is read once the handler returns.
func (w *replyWriter) Flush() {}

func excerptOf(b []byte) string {
	if len(b) > maxExcerpt {
		b = b[:maxExcerpt]
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Clock is a settable clock for simulations: Simulate moves it to each
// attempt's time, and the code under test reads it through Now (pass
// clock.Now where a Config takes a Now func). The zero Clock reads the
// zero time until Set. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t, forward or back.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
