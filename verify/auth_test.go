package verify_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/paycallback/paycallback/verify"
)

// sentinels are the errors every failed check must match exactly one of.
var sentinels = map[string]error{
	"missing":     verify.ErrMissing,
	"malformed":   verify.ErrMalformed,
	"credentials": verify.ErrCredentials,
	"signature":   verify.ErrSignature,
	"stale":       verify.ErrStale,
	"unavailable": verify.ErrUnavailable,
	"config":      verify.ErrConfig,
}

// outcome names the result of a check: "ok", or the one sentinel err
// matches. It fails t when err matches none or several.
func outcome(t testing.TB, err error) string {
	t.Helper()
	name := classify(err)
	if name == "" {
		t.Fatalf("error %q matches no sentinel or several", err)
	}
	return name
}

// classify is outcome for goroutines other than the test's: it returns ""
// when err matches no sentinel or several.
func classify(err error) string {
	if err == nil {
		return "ok"
	}
	var names []string
	for name, s := range sentinels {
		if errors.Is(err, s) {
			names = append(names, name)
		}
	}
	if len(names) != 1 {
		return ""
	}
	return names[0]
}

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func header(name string, values ...string) http.Header {
	h := http.Header{}
	for _, v := range values {
		h.Add(name, v)
	}
	return h
}

func hash(t testing.TB, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	return string(h)
}

const (
	token     = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhdmFyZGEifQ.c2lnbmF0dXJl"
	oldToken  = "old-token_~+/=="
	exact     = "ApiKey s3cr3t-value"
	user      = "avarda"
	password  = "pa:ss word"
	secondPwd = "next-password"
)

// secrets are the configured secret values in TestAuthorizationCheck, none
// of which may appear in an error.
var secrets = []string{token, oldToken, "s3cr3t-value", password, secondPwd}

func TestAuthorizationCheck(t *testing.T) {
	a, err := verify.NewAuthorization(verify.AuthorizationConfig{
		Basic: []verify.BasicCredential{
			{Username: user, Password: password},
			{Username: "second", Password: secondPwd},
		},
		Bearer: []string{token, oldToken},
		Exact:  []string{exact},
	})
	require.NoError(t, err)

	bearerOnly, err := verify.NewAuthorization(verify.AuthorizationConfig{Bearer: []string{token}})
	require.NoError(t, err)
	basicOnly, err := verify.NewAuthorization(verify.AuthorizationConfig{
		Basic: []verify.BasicCredential{{Username: user, Password: password}},
	})
	require.NoError(t, err)
	custom, err := verify.NewAuthorization(verify.AuthorizationConfig{
		Exact:  []string{"s3cr3t-value"},
		Header: "x-callback-key",
	})
	require.NoError(t, err)

	unpadded := "Basic " + base64.RawStdEncoding.EncodeToString([]byte(user+":"+password))
	tests := []struct {
		name string
		a    *verify.Authorization
		h    http.Header
		want string
	}{
		{"basic", a, header("Authorization", basic(user, password)), "ok"},
		{"basic rotation second user", a, header("Authorization", basic("second", secondPwd)), "ok"},
		{"basic lower-case scheme", a, header("Authorization", "basic "+basic(user, password)[6:]), "ok"},
		{"basic upper-case scheme", a, header("Authorization", "BASIC "+basic(user, password)[6:]), "ok"},
		{"basic several spaces", a, header("Authorization", "Basic   "+basic(user, password)[6:]), "ok"},
		{"basic unpadded", a, header("Authorization", unpadded), "ok"},
		{"basic header added in lower case", a, header("authorization", basic(user, password)), "ok"},
		{"basic wrong password", a, header("Authorization", basic(user, "pa:ss")), "credentials"},
		{"basic password of other user", a, header("Authorization", basic(user, secondPwd)), "credentials"},
		{"basic wrong user", a, header("Authorization", basic("Avarda", password)), "credentials"},
		{"basic empty password", a, header("Authorization", basic(user, "")), "credentials"},
		{"basic only", basicOnly, header("Authorization", basic(user, password)), "ok"},
		{"basic bad base64", a, header("Authorization", "Basic !!!!"), "malformed"},
		{"basic base64 with newline", a, header("Authorization", "Basic YXZh\ncmRhOnBh"), "malformed"},
		{"basic no colon", a, header("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user))), "malformed"},
		{"basic no credential", a, header("Authorization", "Basic"), "malformed"},
		{"basic to bearer-only", bearerOnly, header("Authorization", basic(user, password)), "credentials"},

		{"bearer", a, header("Authorization", "Bearer "+token), "ok"},
		{"bearer rotation old token", a, header("Authorization", "Bearer "+oldToken), "ok"},
		{"bearer lower-case scheme", a, header("Authorization", "bearer "+token), "ok"},
		{"bearer upper-case scheme", a, header("Authorization", "BEARER "+token), "ok"},
		{"bearer only", bearerOnly, header("Authorization", "Bearer "+token), "ok"},
		{"bearer prefix of token", a, header("Authorization", "Bearer "+token[:len(token)-1]), "credentials"},
		{"bearer token plus one", a, header("Authorization", "Bearer "+token+"x"), "credentials"},
		{"bearer token of other case", a, header("Authorization", "Bearer "+strings.ToUpper(token)), "credentials"},
		{"bearer to basic-only", basicOnly, header("Authorization", "Bearer "+token), "credentials"},
		{"bearer empty", a, header("Authorization", "Bearer "), "malformed"},
		{"bearer no space", a, header("Authorization", "Bearer"), "malformed"},
		{"bearer two tokens", a, header("Authorization", "Bearer "+token+" "+token), "malformed"},
		{"bearer list", a, header("Authorization", "Bearer "+token+", Basic x"), "malformed"},

		{"exact", a, header("Authorization", exact), "ok"},
		{"exact other case", a, header("Authorization", strings.ToLower(exact)), "credentials"},
		{"exact without scheme", a, header("Authorization", "s3cr3t-value"), "credentials"},
		{"exact other scheme", a, header("Authorization", "Digest "+token), "credentials"},
		{"other scheme without exact", bearerOnly, header("Authorization", "Digest "+token), "malformed"},
		{"no scheme without exact", bearerOnly, header("Authorization", token), "malformed"},
		{"custom header", custom, header("X-Callback-Key", "s3cr3t-value"), "ok"},
		{"custom header ignores Authorization", custom, header("Authorization", "s3cr3t-value"), "missing"},

		{"no header", a, http.Header{}, "missing"},
		{"nil header", a, nil, "missing"},
		{"empty header", a, header("Authorization", ""), "missing"},
		{"other header", a, header("X-Authorization", "Bearer "+token), "missing"},
		{"repeated header", a, header("Authorization", "Bearer "+token, "Bearer "+token), "malformed"},
		{"repeated header one wrong", a, header("Authorization", "Bearer "+token, "Bearer x"), "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.a.Check(tt.h)
			require.Equal(t, tt.want, outcome(t, err), "error: %v", err)
			if err != nil {
				for _, s := range secrets {
					require.NotContains(t, err.Error(), s)
				}
			}
			// Verify is Check on the request's headers.
			verr := tt.a.Verify(context.Background(), &verify.Request{Method: http.MethodPost, Header: tt.h})
			require.Equal(t, tt.want, outcome(t, verr))
		})
	}
}

func TestAuthorizationVerifyHTTP(t *testing.T) {
	a, err := verify.NewAuthorization(verify.AuthorizationConfig{Bearer: []string{token}})
	require.NoError(t, err)
	var v verify.Verifier = a

	body := []byte(`{"purchaseId":"489ea341e23941089e6d0378c708512a"}`)
	r := httptest.NewRequest(http.MethodPost, "/avarda?shop=1", strings.NewReader(string(body)))
	r.Header.Set("Authorization", "Bearer "+token)
	require.NoError(t, v.Verify(r.Context(), verify.FromHTTP(r, body)))

	r.Header.Set("Authorization", "Bearer "+oldToken)
	require.ErrorIs(t, v.Verify(r.Context(), verify.FromHTTP(r, body)), verify.ErrCredentials)
	require.ErrorIs(t, v.Verify(r.Context(), nil), verify.ErrMissing)
}

func TestAuthorizationZeroValue(t *testing.T) {
	var zero verify.Authorization
	require.ErrorIs(t, zero.Check(header("Authorization", "Bearer "+token)), verify.ErrConfig)
	var nilAuth *verify.Authorization
	require.ErrorIs(t, nilAuth.Verify(context.Background(), &verify.Request{}), verify.ErrConfig)
}

func TestNewAuthorizationConfigErrors(t *testing.T) {
	valid := hash(t, "pw")
	tests := []struct {
		name   string
		cfg    verify.AuthorizationConfig
		secret string // must not appear in the error
	}{
		{"nothing", verify.AuthorizationConfig{}, ""},
		{"only a header", verify.AuthorizationConfig{Header: "X-Key"}, ""},
		{"empty lists", verify.AuthorizationConfig{Basic: []verify.BasicCredential{}, Bearer: []string{}, Exact: []string{}}, ""},
		{"empty bearer", verify.AuthorizationConfig{Bearer: []string{token, ""}}, token},
		{"bearer only padding", verify.AuthorizationConfig{Bearer: []string{"=="}}, ""},
		{"bearer with space", verify.AuthorizationConfig{Bearer: []string{"secret token"}}, "secret token"},
		{"bearer with scheme", verify.AuthorizationConfig{Bearer: []string{"Bearer " + token}}, token},
		{"empty exact", verify.AuthorizationConfig{Exact: []string{""}}, ""},
		{"exact leading space", verify.AuthorizationConfig{Exact: []string{" secret"}}, "secret"},
		{"exact trailing tab", verify.AuthorizationConfig{Exact: []string{"secret\t"}}, "secret"},
		{"exact newline", verify.AuthorizationConfig{Exact: []string{"sec\nret"}}, "sec\nret"},
		{"exact NUL", verify.AuthorizationConfig{Exact: []string{"sec\x00ret"}}, "sec\x00ret"},
		{"basic empty username", verify.AuthorizationConfig{Basic: []verify.BasicCredential{{Password: "secret"}}}, "secret"},
		{"basic username with colon", verify.AuthorizationConfig{Basic: []verify.BasicCredential{{Username: "a:b", Password: "secret"}}}, "secret"},
		{"basic no password", verify.AuthorizationConfig{Basic: []verify.BasicCredential{{Username: user}}}, ""},
		{"basic password and hash", verify.AuthorizationConfig{Basic: []verify.BasicCredential{{Username: user, Password: "secret", PasswordHash: valid}}}, "secret"},
		{"basic invalid hash", verify.AuthorizationConfig{Basic: []verify.BasicCredential{{Username: user, PasswordHash: "secret"}}}, "secret"},
		{"basic hash outside alphabet", verify.AuthorizationConfig{Basic: []verify.BasicCredential{{Username: user, PasswordHash: "$2a$10$" + strings.Repeat("secret!", 7) + "abcd"}}}, "secret"},
		{"basic hash truncated", verify.AuthorizationConfig{Basic: []verify.BasicCredential{{Username: user, PasswordHash: valid[:len(valid)-1]}}}, valid[7:]},
		{"basic hash too long", verify.AuthorizationConfig{Basic: []verify.BasicCredential{{Username: user, PasswordHash: valid + "A"}}}, valid[7:]},
		{"basic two hashes for one user", verify.AuthorizationConfig{Basic: []verify.BasicCredential{
			{Username: user, PasswordHash: valid}, {Username: user, PasswordHash: hash(t, "pw2")},
		}}, valid},
		{"one bad among good", verify.AuthorizationConfig{Bearer: []string{token}, Basic: []verify.BasicCredential{{Username: "", Password: "secret"}}}, "secret"},
		{"header with space", verify.AuthorizationConfig{Bearer: []string{token}, Header: "X Key"}, ""},
		{"header with colon", verify.AuthorizationConfig{Bearer: []string{token}, Header: "X-Key:"}, ""},
		{"negative bcrypt limit", verify.AuthorizationConfig{Bearer: []string{token}, BcryptLimit: -1}, ""},
		{"negative reject cache", verify.AuthorizationConfig{Bearer: []string{token}, RejectCacheSize: -1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := verify.NewAuthorization(tt.cfg)
			require.ErrorIs(t, err, verify.ErrConfig)
			require.Equal(t, "config", outcome(t, err))
			require.Nil(t, a)
			if tt.secret != "" {
				require.NotContains(t, err.Error(), tt.secret)
			}
		})
	}
}

func TestAuthorizationBcrypt(t *testing.T) {
	a, err := verify.NewAuthorization(verify.AuthorizationConfig{
		Basic: []verify.BasicCredential{
			{Username: user, PasswordHash: hash(t, "new-password")},
			{Username: user, Password: "old-password"}, // rotation: old one in plaintext
			{Username: "other", PasswordHash: hash(t, "other-password")},
		},
		Bearer: []string{token},
	})
	require.NoError(t, err)

	// Each step: the header's user and password, the outcome, and how many
	// bcrypt comparisons have run in all after it.
	type step struct {
		User, Password string
		Want           string
		Calls          int64
	}
	steps := []step{
		{user, "new-password", "ok", 1},
		{user, "new-password", "ok", 1},             // remembered: no bcrypt
		{user, "old-password", "ok", 1},             // plaintext: no bcrypt
		{user, "wrong", "credentials", 2},           // one bcrypt
		{user, "wrong", "credentials", 2},           // rejected before: no bcrypt
		{user, "new-password", "ok", 2},             // still remembered
		{"other", "new-password", "credentials", 3}, // other user, other hash
		{"other", "other-password", "ok", 4},
		{"other", "other-password", "ok", 4},
		{user, "new-password", "ok", 4},              // one slot per credential
		{"nobody", "new-password", "credentials", 4}, // no hash for the user: no bcrypt
		{"avarda2", "new-password", "credentials", 4},
	}
	var got []step
	for _, s := range steps {
		err := a.Check(header("Authorization", basic(s.User, s.Password)))
		got = append(got, step{s.User, s.Password, outcome(t, err), verify.BcryptCalls(a)})
	}
	if diff := cmp.Diff(steps, got); diff != "" {
		t.Errorf("bcrypt steps (-want +got):\n%s", diff)
	}
	// Bearer requests never touch bcrypt.
	require.NoError(t, a.Check(header("Authorization", "Bearer "+token)))
	require.Equal(t, int64(4), verify.BcryptCalls(a))
}

func TestAuthorizationRejectCacheEviction(t *testing.T) {
	a, err := verify.NewAuthorization(verify.AuthorizationConfig{
		Basic:           []verify.BasicCredential{{Username: user, PasswordHash: hash(t, "right")}},
		RejectCacheSize: 2,
	})
	require.NoError(t, err)

	var calls []int64
	for _, pw := range []string{"a", "b", "a", "b", "c", "b", "c", "a", "c", "b"} {
		require.ErrorIs(t, a.Check(header("Authorization", basic(user, pw))), verify.ErrCredentials)
		calls = append(calls, verify.BcryptCalls(a))
	}
	// a, b cost one each; c evicts a (the oldest); a then evicts b.
	want := []int64{1, 2, 2, 2, 3, 3, 3, 4, 4, 5}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("bcrypt calls after each wrong password (-want +got):\n%s", diff)
	}
}

func TestAuthorizationBcryptSaturated(t *testing.T) {
	a, err := verify.NewAuthorization(verify.AuthorizationConfig{
		Basic:  []verify.BasicCredential{{Username: user, PasswordHash: hash(t, "right")}},
		Bearer: []string{token},
	})
	require.NoError(t, err)
	require.NoError(t, a.Check(header("Authorization", basic(user, "right"))))
	require.ErrorIs(t, a.Check(header("Authorization", basic(user, "wrong"))), verify.ErrCredentials)

	release := verify.FillBcryptSlots(a)
	err = a.Check(header("Authorization", basic(user, "new guess")))
	require.ErrorIs(t, err, verify.ErrUnavailable)
	require.Equal(t, "unavailable", outcome(t, err))
	require.NotContains(t, err.Error(), "new guess")
	// What needs no bcrypt is still decided.
	require.NoError(t, a.Check(header("Authorization", basic(user, "right"))))
	require.ErrorIs(t, a.Check(header("Authorization", basic(user, "wrong"))), verify.ErrCredentials)
	require.NoError(t, a.Check(header("Authorization", "Bearer "+token)))
	require.Equal(t, int64(2), verify.BcryptCalls(a))

	release()
	require.ErrorIs(t, a.Check(header("Authorization", basic(user, "new guess"))), verify.ErrCredentials)
	require.Equal(t, int64(3), verify.BcryptCalls(a))
}

func TestAuthorizationConcurrent(t *testing.T) {
	a, err := verify.NewAuthorization(verify.AuthorizationConfig{
		Basic: []verify.BasicCredential{
			{Username: user, PasswordHash: hash(t, "right")},
			{Username: "plain", Password: "text"},
		},
		Bearer:          []string{token},
		BcryptLimit:     64, // above the number of goroutines: nothing is refused
		RejectCacheSize: 4,
	})
	require.NoError(t, err)

	cases := []struct {
		value string
		want  string
	}{
		{basic(user, "right"), "ok"},
		{basic(user, "wrong"), "credentials"},
		{basic(user, "wrong2"), "credentials"},
		{basic("plain", "text"), "ok"},
		{"Bearer " + token, "ok"},
		{"Bearer nope", "credentials"},
		{"Basic %%%", "malformed"},
	}
	const goroutines, rounds = 16, 20
	var wg sync.WaitGroup
	errs := make(chan string, goroutines*rounds*len(cases))
	for g := range goroutines {
		wg.Go(func() {
			for r := range rounds {
				c := cases[(g+r)%len(cases)]
				if got := classify(a.Check(header("Authorization", c.value))); got != c.want {
					errs <- c.value + ": got " + got + ", want " + c.want
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// Concurrent first attempts may each have paid for bcrypt, but now
	// every bcrypt-backed answer is remembered.
	before := verify.BcryptCalls(a)
	require.LessOrEqual(t, before, int64(goroutines*rounds))
	for _, c := range cases {
		require.Equal(t, c.want, outcome(t, a.Check(header("Authorization", c.value))))
	}
	require.Equal(t, before, verify.BcryptCalls(a))
}

func TestAuthorizationBcryptLimit(t *testing.T) {
	for _, limit := range []int{1, 3} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			a, err := verify.NewAuthorization(verify.AuthorizationConfig{
				Basic:       []verify.BasicCredential{{Username: user, PasswordHash: hash(t, "right")}},
				BcryptLimit: limit,
			})
			require.NoError(t, err)

			// Distinct wrong passwords: each needs its own bcrypt, so
			// they contend for the slots.
			const goroutines, rounds = 8, 10
			var wg sync.WaitGroup
			results := make(chan string, goroutines*rounds)
			for g := range goroutines {
				wg.Go(func() {
					for r := range rounds {
						results <- classify(a.Check(header("Authorization", basic(user, fmt.Sprint(g, "/", r)))))
					}
				})
			}
			wg.Wait()
			close(results)
			counts := map[string]int{}
			for r := range results {
				counts[r]++
			}
			require.Equal(t, goroutines*rounds, counts["credentials"]+counts["unavailable"], "outcomes: %v", counts)
			require.Equal(t, int64(counts["credentials"]), verify.BcryptCalls(a))
			require.LessOrEqual(t, verify.BcryptPeak(a), int64(limit))
			require.GreaterOrEqual(t, verify.BcryptPeak(a), int64(1))
		})
	}
}

// token68 and fieldValue are the test's own statement of which Bearer
// tokens and Exact values are acceptable, independent of the code's.
var (
	token68    = regexp.MustCompile(`^[A-Za-z0-9._~+/-]+=*$`)
	fieldValue = regexp.MustCompile(`^[^\x00-\x20\x7f]([^\x00-\x08\x0a-\x1f\x7f]*[^\x00-\x20\x7f])?$`)
)

// FuzzAuthorization checks that no header value makes Check panic or
// return anything but nil or exactly one sentinel, that NewAuthorization
// accepts exactly the credentials the specification allows, and that a
// header built from a configured credential always verifies, whatever the
// case of the scheme and the number of spaces after it.
func FuzzAuthorization(f *testing.F) {
	f.Add("Basic YXZhcmRhOnB3", user, "pw", token, "basic", uint8(0))
	f.Add("Bearer "+token, "u", "p:w", "t", "Bearer", uint8(1))
	f.Add("bearer ==", "user name", "", "a=", "BEARER", uint8(2))
	f.Add("Basic ====", "\u00fc", "\x00\xff", "~+/.-_", "Digest", uint8(3))
	f.Add("Basic   YQ", "a:b", "b", "x y", "bAsIc", uint8(0))
	f.Add(" ApiKey x\t", "", "", "", "", uint8(0))
	f.Fuzz(func(t *testing.T, value, username, pw, tok, scheme string, spaces uint8) {
		basicOK := username != "" && !strings.Contains(username, ":") && pw != ""
		bearerOK := token68.MatchString(tok)
		exactOK := fieldValue.MatchString(value)

		var cfg verify.AuthorizationConfig
		for _, c := range []struct {
			name string
			ok   bool
			cfg  verify.AuthorizationConfig
		}{
			{"basic", basicOK, verify.AuthorizationConfig{Basic: []verify.BasicCredential{{Username: username, Password: pw}}}},
			{"bearer", bearerOK, verify.AuthorizationConfig{Bearer: []string{tok}}},
			{"exact", exactOK, verify.AuthorizationConfig{Exact: []string{value}}},
		} {
			_, err := verify.NewAuthorization(c.cfg)
			if !c.ok {
				require.ErrorIs(t, err, verify.ErrConfig, c.name)
				continue
			}
			require.NoError(t, err, c.name)
			cfg.Basic = append(cfg.Basic, c.cfg.Basic...)
			cfg.Bearer = append(cfg.Bearer, c.cfg.Bearer...)
			cfg.Exact = append(cfg.Exact, c.cfg.Exact...)
		}
		cfg.Bearer = append(cfg.Bearer, "other")
		a, err := verify.NewAuthorization(cfg)
		require.NoError(t, err)

		// Whatever arrives: no panic, nil or exactly one sentinel.
		outcome(t, a.Check(header("Authorization", value)))
		require.Equal(t, "malformed", outcome(t, a.Check(header("Authorization", value, value))))

		sep := strings.Repeat(" ", 1+int(spaces%4))
		if exactOK {
			require.NoError(t, a.Check(header("Authorization", value)))
		}
		if basicOK {
			b := base64.StdEncoding.EncodeToString([]byte(username + ":" + pw))
			require.NoError(t, a.Check(header("Authorization", "Basic"+sep+b)))
			require.NoError(t, a.Check(header("Authorization", caseOf(scheme, "basic")+sep+b)))
		}
		if bearerOK {
			require.NoError(t, a.Check(header("Authorization", "Bearer"+sep+tok)))
			require.NoError(t, a.Check(header("Authorization", caseOf(scheme, "bearer")+sep+tok)))
		}
	})
}

// caseOf returns name with the letter case of pattern where pattern has a
// letter at the same position: fuzzing the case of a scheme name.
func caseOf(pattern, name string) string {
	b := []byte(name)
	for i := range b {
		if i < len(pattern) && 'A' <= pattern[i] && pattern[i] <= 'Z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

func BenchmarkAuthorizationBearer(b *testing.B) {
	a, err := verify.NewAuthorization(verify.AuthorizationConfig{Bearer: []string{oldToken, token}})
	require.NoError(b, err)
	h := header("Authorization", "Bearer "+token)
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Check(h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthorizationBcryptCached(b *testing.B) {
	a, err := verify.NewAuthorization(verify.AuthorizationConfig{
		Basic: []verify.BasicCredential{{Username: user, PasswordHash: hash(b, "right")}},
	})
	require.NoError(b, err)
	h := header("Authorization", basic(user, "right"))
	require.NoError(b, a.Check(h))
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Check(h); err != nil {
			b.Fatal(err)
		}
	}
	if verify.BcryptCalls(a) != 1 {
		b.Fatalf("%d bcrypt comparisons, want 1", verify.BcryptCalls(a))
	}
}

func BenchmarkAuthorizationBcryptCachedParallel(b *testing.B) {
	a, err := verify.NewAuthorization(verify.AuthorizationConfig{
		Basic: []verify.BasicCredential{{Username: user, PasswordHash: hash(b, "right")}},
	})
	require.NoError(b, err)
	h := header("Authorization", basic(user, "right"))
	require.NoError(b, a.Check(h))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := a.Check(h); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
