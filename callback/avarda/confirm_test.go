package avarda_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback"
	"github.com/paycallback/paycallback/callback/avarda"
	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/retry"
	"github.com/paycallback/paycallback/verify"
)

// fakeAvarda speaks Avarda's partner API as PROTOCOLS.md documents it.
type fakeAvarda struct {
	mu          sync.Mutex
	steps       map[string]string // purchase id -> step.current; absent: 404
	mode        string            // "B2C" (default) or "B2B"
	tokenExpiry time.Time         // tokenExpirationUtc; zero: omitted
	tokenJWTExp int64             // exp claim of a JWT token; 0: opaque token
	failNext    int               // answer this many payment calls 503
	tokens      atomic.Int32      // token fetches
	issued      atomic.Int32
	revoked     string // a token the payments API answers 401
}

func (f *fakeAvarda) setStep(id, step string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.steps[id] = step
}

func (f *fakeAvarda) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/partner/tokens":
		var creds struct{ ClientID, ClientSecret string }
		if json.NewDecoder(r.Body).Decode(&creds) != nil || creds.ClientID != "merchant" || creds.ClientSecret != "secret" {
			http.Error(w, "bad credentials", http.StatusUnauthorized)
			return
		}
		f.tokens.Add(1)
		tok := fmt.Sprintf("token-%d", f.issued.Add(1))
		if f.tokenJWTExp != 0 {
			claims, _ := json.Marshal(map[string]int64{"exp": f.tokenJWTExp})
			tok = "eyJhbGciOiJIUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(claims) + ".sig" + tok
		}
		ans := map[string]any{"token": tok}
		if !f.tokenExpiry.IsZero() {
			ans["tokenExpirationUtc"] = f.tokenExpiry.UTC().Format(time.RFC3339Nano)
		}
		_ = json.NewEncoder(w).Encode(ans)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/partner/payments/"):
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "Bearer token-") && !strings.HasPrefix(auth, "Bearer eyJ") || auth == "Bearer "+f.revoked {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if f.failNext > 0 {
			f.failNext--
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/api/partner/payments/")
		step, ok := f.steps[id]
		if !ok {
			http.NotFound(w, r)
			return
		}
		mode := f.mode
		if mode == "" {
			mode = "B2C"
		}
		key := strings.ToLower(mode[:1]) + mode[1:]
		_ = json.NewEncoder(w).Encode(map[string]any{
			"purchaseId": id, "mode": mode,
			key: map[string]any{"step": map[string]any{"current": step}, "customerToken": "x"},
		})
	default:
		http.NotFound(w, r)
	}
}

func newFake() *fakeAvarda { return &fakeAvarda{steps: map[string]string{}} }

func newConfirmer(t *testing.T, baseURL string, client *http.Client, now func() time.Time) *avarda.Confirmer {
	t.Helper()
	c, err := avarda.NewConfirmer(avarda.ConfirmerConfig{
		BaseURL: baseURL, ClientID: "merchant", ClientSecret: "secret", HTTPClient: client, Now: now,
		Backoff: retry.Backoff{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond, MaxAttempts: 4},
	})
	require.NoError(t, err)
	return c
}

func event(id string) *avarda.Event {
	return &avarda.Event{Payload: avarda.Notification{PurchaseID: id}}
}

func TestConfirmer(t *testing.T) {
	tests := []struct {
		name, mode, step string
		known            bool
		wantUnconfirmed  bool
	}{
		{"b2c completed", "B2C", "Completed", true, false},
		{"b2b completed", "B2B", "Completed", true, false},
		{"not completed yet", "B2C", "EnterEmail", true, true},
		{"timed out", "B2C", "TimedOut", true, true},
		{"unknown purchase (forged callback)", "B2C", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake()
			fake.mode = tt.mode
			if tt.known {
				fake.setStep("p1", tt.step)
			}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			err := newConfirmer(t, srv.URL, srv.Client(), nil).Confirm(t.Context(), event("p1"))
			if tt.wantUnconfirmed {
				require.ErrorIs(t, err, callback.ErrUnconfirmed)
			} else {
				require.NoError(t, err)
			}
		})
	}
}

func TestConfirmerFetchesOneTokenUnderConcurrency(t *testing.T) {
	fake := newFake()
	fake.setStep("p1", "Completed")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c := newConfirmer(t, srv.URL, srv.Client(), nil)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { require.NoError(t, c.Confirm(context.Background(), event("p1"))) })
	}
	wg.Wait()
	require.EqualValues(t, 1, fake.tokens.Load())
}

func TestConfirmerRenewsTokenBeforeExpiry(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	for _, kind := range []string{"tokenExpirationUtc", "jwt exp", "assumed lifetime"} {
		t.Run(kind, func(t *testing.T) {
			fake := newFake()
			fake.setStep("p1", "Completed")
			switch kind {
			case "tokenExpirationUtc":
				fake.tokenExpiry = now.Add(10 * time.Minute)
			case "jwt exp":
				fake.tokenJWTExp = now.Add(10 * time.Minute).Unix()
			}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			c := newConfirmer(t, srv.URL, srv.Client(), func() time.Time { return clock() })
			start := now
			defer func() { now = start }()
			require.NoError(t, c.Confirm(t.Context(), event("p1")))
			now = start.Add(8 * time.Minute) // still more than a minute left
			require.NoError(t, c.Confirm(t.Context(), event("p1")))
			require.EqualValues(t, 1, fake.tokens.Load())
			now = start.Add(9*time.Minute + time.Second) // within a minute of expiry
			require.NoError(t, c.Confirm(t.Context(), event("p1")))
			require.EqualValues(t, 2, fake.tokens.Load())
		})
	}
}

func TestConfirmerRefetchesRevokedToken(t *testing.T) {
	fake := newFake()
	fake.setStep("p1", "Completed")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c := newConfirmer(t, srv.URL, srv.Client(), nil)
	require.NoError(t, c.Confirm(t.Context(), event("p1")))
	fake.mu.Lock()
	fake.revoked = "token-1"
	fake.mu.Unlock()
	require.NoError(t, c.Confirm(t.Context(), event("p1")))
	require.EqualValues(t, 2, fake.tokens.Load())
}

func TestConfirmerWrongCredentialsIsNotUnconfirmed(t *testing.T) {
	srv := httptest.NewServer(newFake())
	defer srv.Close()
	c, err := avarda.NewConfirmer(avarda.ConfirmerConfig{BaseURL: srv.URL, ClientID: "merchant", ClientSecret: "wrong"})
	require.NoError(t, err)
	err = c.Confirm(t.Context(), event("p1"))
	require.Error(t, err)
	require.NotErrorIs(t, err, callback.ErrUnconfirmed, "a configuration problem must not look like a forged callback")
}

// handlerTransport serves requests in process, so the fake API can run in
// a synctest bubble with a fake clock.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// An Avarda callback is processed only once the API says the purchase is
// completed, through transient API failures.
func TestHandlerConfirmsBeforeProcessing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := newFake()
		c := newConfirmer(t, "http://avarda.test", &http.Client{Transport: handlerTransport{fake}}, nil)
		auth, err := verify.NewAuthorization(verify.AuthorizationConfig{Bearer: []string{"t"}})
		require.NoError(t, err)
		var runs atomic.Int32
		h, err := avarda.New(avarda.Config{Verifier: auth, Confirm: c.Confirm},
			func(context.Context, *avarda.Event) error { runs.Add(1); return nil })
		require.NoError(t, err)
		deliver := func(id string) int {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, callbacktest.AvardaRequest("/callbacks/avarda", id, "Bearer t"))
			return rec.Code
		}

		require.Equal(t, 503, deliver("forged"), "unknown to Avarda")
		fake.setStep("p1", "EnterAddress")
		require.Equal(t, 503, deliver("p1"), "not completed yet")
		require.Zero(t, runs.Load())

		fake.setStep("p1", "Completed")
		fake.mu.Lock()
		fake.failNext = 2 // two transient 503s, retried within the deadline
		fake.mu.Unlock()
		require.Equal(t, 200, deliver("p1"))
		require.Equal(t, 200, deliver("p1"))
		require.EqualValues(t, 1, runs.Load())
	})
}
