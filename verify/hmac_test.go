package verify_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/retry"
	"github.com/paycallback/paycallback/verify"
)

const ixopayCT = "application/json; charset=utf-8"

// hmacVector is one line of testdata/ixopay/vectors.txt.
type hmacVector struct {
	name, secret string
	digest       verify.HMACDigest
	body         []byte
	date, uri    string
	sig          string
}

func loadHMACVectors(t testing.TB) []hmacVector {
	t.Helper()
	dir := filepath.Join("testdata", "ixopay")
	raw, err := os.ReadFile(filepath.Join(dir, "vectors.txt"))
	require.NoError(t, err)
	var vs []hmacVector
	for line := range strings.Lines(string(raw)) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		require.Len(t, f, 7, "line %q", line)
		body, err := os.ReadFile(filepath.Join(dir, f[3]))
		require.NoError(t, err)
		d := verify.HMACSHA512
		if f[2] == "md5" {
			d = verify.HMACMD5
		}
		vs = append(vs, hmacVector{name: f[0], secret: f[1], digest: d, body: body, date: f[4], uri: f[5], sig: f[6]})
	}
	require.Len(t, vs, 4)
	return vs
}

func mustParseDate(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := http.ParseTime(s)
	require.NoError(t, err)
	return tm
}

func newHMAC(t testing.TB, now time.Time, secrets ...string) *verify.HMAC {
	t.Helper()
	v, err := verify.NewHMAC(verify.HMACConfig{Secrets: secrets, Now: func() time.Time { return now }})
	require.NoError(t, err)
	return v
}

// signedRequest returns a request signed with secret under digest d.
func signedRequest(secret string, d verify.HMACDigest, body []byte, date, uri string) *verify.Request {
	h := http.Header{}
	h.Set("Content-Type", ixopayCT)
	h.Set("Date", date)
	h.Set("X-Signature", verify.SignHMAC(secret, verify.HMACMessage(d, http.MethodPost, body, ixopayCT, date, uri)))
	return &verify.Request{Method: http.MethodPost, RequestURI: uri, Header: h, Body: body}
}

func TestHMACKnownAnswers(t *testing.T) {
	for _, v := range loadHMACVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			msg := verify.HMACMessage(v.digest, http.MethodPost, v.body, ixopayCT, v.date, v.uri)
			if diff := cmp.Diff(v.sig, verify.SignHMAC(v.secret, msg)); diff != "" {
				t.Fatalf("SignHMAC (-want +got):\n%s", diff)
			}
			if v.secret == "" {
				// The published vector: the pure functions reproduce it,
				// the verifier refuses to be built with its secret.
				_, err := verify.NewHMAC(verify.HMACConfig{Secrets: []string{v.secret}})
				require.ErrorIs(t, err, verify.ErrConfig)
				return
			}
			h := http.Header{}
			h.Set("Content-Type", ixopayCT)
			h.Set("X-Signature", v.sig)
			if v.name == "rotated-secret-x-date" {
				h.Set("X-Date", v.date)
				h.Set("Date", "Thu, 30 Apr 2026 08:00:00 GMT") // not signed: X-Date wins
			} else {
				h.Set("Date", v.date)
			}
			req := &verify.Request{Method: http.MethodPost, RequestURI: v.uri, Header: h, Body: v.body}
			ver := newHMAC(t, mustParseDate(t, v.date), "old-secret", v.secret)
			require.NoError(t, ver.Verify(context.Background(), req))

			other := newHMAC(t, mustParseDate(t, v.date), v.secret+"x")
			require.ErrorIs(t, other.Verify(context.Background(), req), verify.ErrSignature)
		})
	}
}

func TestHMACMessage(t *testing.T) {
	body := []byte(`{"a":1}`)
	sum := sha512.Sum512(body)
	want := "POST\n" + hex.EncodeToString(sum[:]) + "\n" + ixopayCT + "\nTue, 28 Apr 2026 15:23:40 GMT\n/cb?x=1&y=2"
	got := verify.HMACMessage(verify.HMACSHA512, "POST", body, ixopayCT, "Tue, 28 Apr 2026 15:23:40 GMT", "/cb?x=1&y=2")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("HMACMessage (-want +got):\n%s", diff)
	}
	require.Panics(t, func() { verify.HMACMessage(verify.HMACDigest(7), "POST", nil, "", "", "") })
}

func TestHMACAlteredRequestIsRejected(t *testing.T) {
	const (
		secret = "s3cr3t"
		date   = "Tue, 28 Apr 2026 15:23:40 GMT"
		uri    = "/callbacks/ixopay?shop=42"
	)
	body := []byte(`{"result":"OK","uuid":"u1","transactionType":"DEBIT","amount":"9.99"}`)
	now := mustParseDate(t, date)
	for _, d := range []verify.HMACDigest{verify.HMACSHA512, verify.HMACMD5} {
		tests := []struct {
			name  string
			alter func(r *verify.Request)
		}{
			{"body byte", func(r *verify.Request) { r.Body = bytes.Replace(r.Body, []byte("9.99"), []byte("9.98"), 1) }},
			{"body appended", func(r *verify.Request) { r.Body = append(r.Body, ' ') }},
			{"body empty", func(r *verify.Request) { r.Body = nil }},
			{"uri path", func(r *verify.Request) { r.RequestURI = "/callbacks/other?shop=42" }},
			{"uri query", func(r *verify.Request) { r.RequestURI = "/callbacks/ixopay?shop=43" }},
			{"uri query dropped", func(r *verify.Request) { r.RequestURI = "/callbacks/ixopay" }},
			{"method", func(r *verify.Request) { r.Method = http.MethodPut }},
			{"content type", func(r *verify.Request) { r.Header.Set("Content-Type", "application/json") }},
			{"content type dropped", func(r *verify.Request) { r.Header.Del("Content-Type") }},
			{"date", func(r *verify.Request) { r.Header.Set("Date", "Tue, 28 Apr 2026 15:23:41 GMT") }},
			{"x-date added", func(r *verify.Request) { r.Header.Set("X-Date", "Tue, 28 Apr 2026 15:23:41 GMT") }},
			{"signature char", func(r *verify.Request) {
				s := []byte(r.Header.Get("X-Signature"))
				if s[0] == 'A' {
					s[0] = 'B'
				} else {
					s[0] = 'A'
				}
				r.Header.Set("X-Signature", string(s))
			}},
		}
		for _, tt := range tests {
			t.Run(d.String()+"/"+tt.name, func(t *testing.T) {
				req := signedRequest(secret, d, bytes.Clone(body), date, uri)
				v := newHMAC(t, now, secret)
				require.NoError(t, v.Verify(context.Background(), req), "unaltered")
				tt.alter(req)
				require.ErrorIs(t, v.Verify(context.Background(), req), verify.ErrSignature)
			})
		}
	}
}

func TestHMACHeaderErrors(t *testing.T) {
	const (
		secret = "s3cr3t"
		date   = "Tue, 28 Apr 2026 15:23:40 GMT"
	)
	now := mustParseDate(t, date)
	tests := []struct {
		name  string
		alter func(h http.Header)
		want  error
	}{
		{"no signature", func(h http.Header) { h.Del("X-Signature") }, verify.ErrMissing},
		{"empty signature", func(h http.Header) { h.Set("X-Signature", "") }, verify.ErrMalformed},
		{"two signatures", func(h http.Header) { h.Add("X-Signature", h.Get("X-Signature")) }, verify.ErrMalformed},
		{"not base64", func(h http.Header) { h.Set("X-Signature", strings.Repeat("!", 88)) }, verify.ErrMalformed},
		{"url alphabet", func(h http.Header) { h.Set("X-Signature", "-"+h.Get("X-Signature")[1:]) }, verify.ErrMalformed},
		{"unpadded", func(h http.Header) { h.Set("X-Signature", strings.TrimRight(h.Get("X-Signature"), "=")) }, verify.ErrMalformed},
		{"88 characters, no padding", func(h http.Header) { h.Set("X-Signature", strings.Repeat("0", 88)) }, verify.ErrMalformed},
		{"66 bytes", func(h http.Header) { h.Set("X-Signature", strings.Repeat("A", 88)) }, verify.ErrMalformed},
		{"too short", func(h http.Header) { h.Set("X-Signature", h.Get("X-Signature")[:44]) }, verify.ErrMalformed},
		{"hex not base64", func(h http.Header) { h.Set("X-Signature", strings.Repeat("ab", 64)) }, verify.ErrMalformed},
		{"no date", func(h http.Header) { h.Del("Date") }, verify.ErrMissing},
		{"empty date", func(h http.Header) { h.Set("Date", "") }, verify.ErrMalformed},
		{"two dates", func(h http.Header) { h.Add("Date", date) }, verify.ErrMalformed},
		{"two x-dates", func(h http.Header) { h.Add("X-Date", date); h.Add("X-Date", date) }, verify.ErrMalformed},
		{"empty x-date", func(h http.Header) { h.Set("X-Date", "") }, verify.ErrMalformed},
		{"unix date", func(h http.Header) { h.Set("Date", "1777389820") }, verify.ErrMalformed},
		{"iso date", func(h http.Header) { h.Set("Date", "2026-04-28T15:23:40Z") }, verify.ErrMalformed},
		{"zone abbreviation", func(h http.Header) { h.Set("Date", "Tue, 28 Apr 2026 15:23:40 CET") }, verify.ErrMalformed},
		{"day out of range", func(h http.Header) { h.Set("Date", "Thu, 31 Apr 2026 15:23:40 GMT") }, verify.ErrMalformed},
		{"two content types", func(h http.Header) { h.Add("Content-Type", ixopayCT) }, verify.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := signedRequest(secret, verify.HMACSHA512, []byte(`{}`), date, "/cb")
			tt.alter(req.Header)
			err := newHMAC(t, now, secret).Verify(context.Background(), req)
			require.ErrorIs(t, err, tt.want)
			for _, other := range []error{verify.ErrMissing, verify.ErrMalformed, verify.ErrSignature, verify.ErrStale} {
				if other != tt.want {
					require.NotErrorIs(t, err, other)
				}
			}
		})
	}
}

func TestHMACDateForms(t *testing.T) {
	const secret = "s3cr3t"
	want := time.Date(2026, 4, 28, 15, 23, 40, 0, time.UTC)
	tests := []struct{ name, date string }{
		{"IMF-fixdate", "Tue, 28 Apr 2026 15:23:40 GMT"},
		{"IMF-fixdate UTC", "Tue, 28 Apr 2026 15:23:40 UTC"},
		{"RFC 850", "Tuesday, 28-Apr-26 15:23:40 GMT"},
		{"asctime", "Tue Apr 28 15:23:40 2026"},
		{"numeric zone", "Tue, 28 Apr 2026 17:23:40 +0200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := signedRequest(secret, verify.HMACSHA512, []byte(`{}`), tt.date, "/cb")
			// Exactly at the edge of the future skew: the parsed instant
			// must be want, to the second.
			v, err := verify.NewHMAC(verify.HMACConfig{Secrets: []string{secret}, MaxSkew: time.Minute, MaxAge: time.Minute,
				Now: func() time.Time { return want.Add(-time.Minute) }})
			require.NoError(t, err)
			require.NoError(t, v.Verify(context.Background(), req))
			v, err = verify.NewHMAC(verify.HMACConfig{Secrets: []string{secret}, MaxSkew: time.Minute, MaxAge: time.Minute,
				Now: func() time.Time { return want.Add(-time.Minute - time.Second) }})
			require.NoError(t, err)
			require.ErrorIs(t, v.Verify(context.Background(), req), verify.ErrStale)
		})
	}
}

func TestHMACFreshness(t *testing.T) {
	const (
		secret = "s3cr3t"
		date   = "Tue, 28 Apr 2026 15:23:40 GMT"
	)
	signed := mustParseDate(t, date)
	def := verify.DefaultHMACMaxAge()
	require.Greater(t, def, retry.IXOPAY.Horizon(), "the default must accept IXOPAY's last retry, even if not re-signed")
	require.Less(t, def, 30*24*time.Hour)

	tests := []struct {
		name    string
		cfg     verify.HMACConfig
		now     time.Time
		wantErr error
	}{
		{"now", verify.HMACConfig{}, signed, nil},
		{"last IXOPAY retry, not re-signed", verify.HMACConfig{}, signed.Add(retry.IXOPAY.Horizon()), nil},
		{"default max age exactly", verify.HMACConfig{}, signed.Add(def), nil},
		{"past default max age", verify.HMACConfig{}, signed.Add(def + time.Second), verify.ErrStale},
		{"30 days old", verify.HMACConfig{}, signed.Add(30 * 24 * time.Hour), verify.ErrStale},
		{"default skew exactly", verify.HMACConfig{}, signed.Add(-verify.DefaultHMACMaxSkew), nil},
		{"beyond default skew", verify.HMACConfig{}, signed.Add(-verify.DefaultHMACMaxSkew - time.Second), verify.ErrStale},
		{"a day in the future", verify.HMACConfig{}, signed.Add(-24 * time.Hour), verify.ErrStale},
		{"custom max age", verify.HMACConfig{MaxAge: time.Hour}, signed.Add(time.Hour + time.Second), verify.ErrStale},
		{"custom max age within", verify.HMACConfig{MaxAge: time.Hour}, signed.Add(time.Hour), nil},
		{"custom skew", verify.HMACConfig{MaxSkew: 10 * time.Second}, signed.Add(-11 * time.Second), verify.ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Secrets = []string{secret}
			cfg.Now = func() time.Time { return tt.now }
			v, err := verify.NewHMAC(cfg)
			require.NoError(t, err)
			err = v.Verify(context.Background(), signedRequest(secret, verify.HMACSHA512, []byte(`{}`), date, "/cb"))
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}

	t.Run("stale forgery is a signature failure", func(t *testing.T) {
		req := signedRequest("wrong", verify.HMACSHA512, []byte(`{}`), date, "/cb")
		err := newHMAC(t, signed.Add(60*24*time.Hour), secret).Verify(context.Background(), req)
		require.ErrorIs(t, err, verify.ErrSignature)
		require.NotErrorIs(t, err, verify.ErrStale)
	})
}

func TestNewHMACConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  verify.HMACConfig
	}{
		{"zero", verify.HMACConfig{}},
		{"empty list", verify.HMACConfig{Secrets: []string{}}},
		{"empty secret", verify.HMACConfig{Secrets: []string{""}}},
		{"one empty among others", verify.HMACConfig{Secrets: []string{"a", ""}}},
		{"negative max age", verify.HMACConfig{Secrets: []string{"a"}, MaxAge: -time.Second}},
		{"negative skew", verify.HMACConfig{Secrets: []string{"a"}, MaxSkew: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := verify.NewHMAC(tt.cfg)
			require.ErrorIs(t, err, verify.ErrConfig)
			require.Nil(t, v)
		})
	}

	t.Run("defaults", func(t *testing.T) {
		v, err := verify.NewHMAC(verify.HMACConfig{Secrets: []string{"a"}})
		require.NoError(t, err)
		require.Equal(t, verify.DefaultHMACMaxAge(), v.MaxAge())
		require.Equal(t, verify.DefaultHMACMaxSkew, v.MaxSkew())
	})

	t.Run("zero HMAC refuses", func(t *testing.T) {
		var v verify.HMAC
		req := signedRequest("a", verify.HMACSHA512, nil, "Tue, 28 Apr 2026 15:23:40 GMT", "/")
		require.ErrorIs(t, v.Verify(context.Background(), req), verify.ErrConfig)
	})

	t.Run("secrets are copied", func(t *testing.T) {
		secrets := []string{"a"}
		now := mustParseDate(t, "Tue, 28 Apr 2026 15:23:40 GMT")
		v, err := verify.NewHMAC(verify.HMACConfig{Secrets: secrets, Now: func() time.Time { return now }})
		require.NoError(t, err)
		secrets[0] = "b"
		req := signedRequest("a", verify.HMACSHA512, nil, "Tue, 28 Apr 2026 15:23:40 GMT", "/")
		require.NoError(t, v.Verify(context.Background(), req))
	})
}

func TestHMACVerifyDoesNotModifyRequest(t *testing.T) {
	const date = "Tue, 28 Apr 2026 15:23:40 GMT"
	req := signedRequest("a", verify.HMACMD5, []byte(`{"x":1}`), date, "/cb?q=1")
	before := verify.Request{Method: req.Method, RequestURI: req.RequestURI, Header: req.Header.Clone(), Body: bytes.Clone(req.Body)}
	require.NoError(t, newHMAC(t, mustParseDate(t, date), "z", "a").Verify(context.Background(), req))
	if diff := cmp.Diff(before, *req); diff != "" {
		t.Fatalf("request modified (-want +got):\n%s", diff)
	}
}

func TestHMACConcurrent(t *testing.T) {
	const date = "Tue, 28 Apr 2026 15:23:40 GMT"
	secrets := []string{"one", "two", "three"}
	v := newHMAC(t, mustParseDate(t, date), secrets...)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			s := secrets[i%len(secrets)]
			body := []byte(strings.Repeat("x", i))
			good := v.Verify(context.Background(), signedRequest(s, verify.HMACDigest(i%2), body, date, "/cb"))
			bad := v.Verify(context.Background(), signedRequest(s+"!", verify.HMACDigest(i%2), body, date, "/cb"))
			if good != nil || !errors.Is(bad, verify.ErrSignature) {
				errs <- errors.Join(good, bad)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// FuzzHMAC feeds arbitrary header values and bodies to the verifier.
// Properties: nothing panics; every error matches exactly one sentinel; a
// request signed over any date the verifier parses verifies exactly at the
// edges of its window (so the fast date parser agrees with net/http's);
// a date net/http parses is always accepted; changing the body breaks the
// signature.
func FuzzHMAC(f *testing.F) {
	for _, v := range loadHMACVectors(f) {
		f.Add(v.sig, v.date, "", ixopayCT, v.uri, v.body)
	}
	f.Add("", "", "", "", "/", []byte{})
	f.Add("====", "Tue, 28 Apr 2026 15:23:40 UTC", "Tuesday, 28-Apr-26 15:23:40 GMT", "", "/?a=b", []byte("{}"))
	f.Add("x", "Tue Apr 28 15:23:40 2026", "Tue, 29 Feb 2028 23:59:59 GMT", "text/plain", "*", []byte("\x00"))
	f.Add("x", "Tue, 28 Apr 2026 17:23:40 +0200", "", "", "/", []byte("{}"))
	const secret = "fuzz-secret"
	anchor := time.Date(2026, 4, 28, 15, 23, 40, 0, time.UTC)
	f.Fuzz(func(t *testing.T, sig, date, xdate, ct, uri string, body []byte) {
		h := http.Header{"X-Signature": {sig}, "Date": {date}, "Content-Type": {ct}}
		if xdate != "" {
			h["X-Date"] = []string{xdate}
		}
		req := &verify.Request{Method: http.MethodPost, RequestURI: uri, Header: h, Body: body}
		v := newHMAC(t, anchor, secret)
		if err := v.Verify(context.Background(), req); err != nil {
			n := 0
			for _, s := range []error{verify.ErrMissing, verify.ErrMalformed, verify.ErrSignature, verify.ErrStale} {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %v matches %d sentinels", err, n)
			}
		}

		// Sign for real and check the window.
		signedDate := date
		if xdate != "" {
			signedDate = xdate
		}
		for _, d := range []verify.HMACDigest{verify.HMACSHA512, verify.HMACMD5} {
			h.Set("X-Signature", verify.SignHMAC(secret, verify.HMACMessage(d, http.MethodPost, body, ct, signedDate, uri)))
			probe := newHMAC(t, anchor, secret)
			err := probe.Verify(context.Background(), req)
			if errors.Is(err, verify.ErrMalformed) || errors.Is(err, verify.ErrMissing) {
				if tm, perr := http.ParseTime(signedDate); perr == nil && signedDate != "" {
					t.Fatalf("net/http parses %q as %v, the verifier refused it: %v", signedDate, tm, err)
				}
				continue
			}
			if err != nil && !errors.Is(err, verify.ErrStale) {
				t.Fatalf("%v: signed request refused: %v", d, err)
			}
			// The verifier parsed the date; find the instant with
			// net/http where it can, and check the window's edges.
			tm, perr := http.ParseTime(signedDate)
			if perr != nil {
				tm, perr = time.Parse(time.RFC1123Z, signedDate)
			}
			if perr != nil {
				tm, perr = http.ParseTime(strings.TrimSuffix(signedDate, "UTC") + "GMT")
			}
			if perr != nil {
				t.Fatalf("verifier accepted date %q that no reference parser accepts", signedDate)
			}
			at := func(now time.Time) error {
				return newHMAC(t, now, secret).Verify(context.Background(), req)
			}
			if err := at(tm); err != nil {
				t.Fatalf("%v: signed at %v, verified at the same instant: %v", d, tm, err)
			}
			if err := at(tm.Add(v.MaxAge() + time.Second)); !errors.Is(err, verify.ErrStale) {
				t.Fatalf("%v: one second past max age: %v", d, err)
			}
			if err := at(tm.Add(-v.MaxSkew() - time.Second)); !errors.Is(err, verify.ErrStale) {
				t.Fatalf("%v: one second beyond skew: %v", d, err)
			}
			tampered := *req
			tampered.Body = append(bytes.Clone(body), 'x')
			if err := newHMAC(t, tm, secret).Verify(context.Background(), &tampered); !errors.Is(err, verify.ErrSignature) {
				t.Fatalf("%v: tampered body: %v", d, err)
			}
		}
	})
}

// BenchmarkHMAC compares the verification of a 1 KiB body with the bare
// primitives it cannot avoid: SHA-512 of the body, its hex encoding, and an
// HMAC-SHA512 of the canonical message with a keyed HMAC reused across
// iterations.
func BenchmarkHMAC(b *testing.B) {
	const (
		secret = "bench-secret-0123456789"
		date   = "Tue, 28 Apr 2026 15:23:40 GMT"
		uri    = "/callbacks/ixopay?shop=42&order=A-1001"
	)
	body := bytes.Repeat([]byte("0123456789abcdef"), 64) // 1 KiB
	req := signedRequest(secret, verify.HMACSHA512, body, date, uri)
	now := mustParseDate(b, date)

	b.Run("primitives", func(b *testing.B) {
		mac := hmac.New(sha512.New, []byte(secret))
		var hexSum [2 * sha512.Size]byte
		var out [sha512.Size]byte
		msg := make([]byte, 0, 512)
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			sum := sha512.Sum512(body)
			hex.Encode(hexSum[:], sum[:])
			msg = append(msg[:0], "POST\n"...)
			msg = append(msg, hexSum[:]...)
			msg = append(msg, "\n"+ixopayCT+"\n"+date+"\n"+uri...)
			mac.Reset()
			mac.Write(msg)
			mac.Sum(out[:0])
		}
	})
	b.Run("verify", func(b *testing.B) {
		v := newHMAC(b, now, secret)
		ctx := context.Background()
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := v.Verify(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify-md5", func(b *testing.B) {
		// The legacy variant: the SHA-512 attempt fails first.
		md5req := signedRequest(secret, verify.HMACMD5, body, date, uri)
		v := newHMAC(b, now, secret)
		ctx := context.Background()
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := v.Verify(ctx, md5req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
