package simulateapp_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/examples/internal/merchantapp"
	"github.com/paycallback/paycallback/examples/internal/simulateapp"
)

const (
	chipPublicKey  = "../../../callback/callbacktest/testdata/chip/test_key.pub.pem"
	chipPrivateKey = "../../../callback/callbacktest/testdata/chip/test_key.pem"
	secpaidToken   = "secpaid-token"
)

// syncBuffer is a bytes.Buffer safe for the server's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// merchant is the example merchant app serving on loopback, with every
// provider configured, and SecPaid's API faked.
type merchant struct {
	url     string
	events  *syncBuffer
	secpaid *callbacktest.SecPaidAPI
}

func startMerchant(t *testing.T) *merchant {
	t.Helper()
	api := callbacktest.NewSecPaidAPI(secpaidToken)
	t.Cleanup(api.Close)
	events, notes := &syncBuffer{}, &syncBuffer{}
	app, err := merchantapp.New(t.Context(), []string{
		"-avarda-auth", "Bearer t0k3n",
		"-chip-public-key", chipPublicKey,
		"-ixopay-secret", "s3cret",
		"-secpaid-user-id", callbacktest.SecPaidTestUserID, "-secpaid-token", secpaidToken, "-secpaid-api", api.URL,
	}, events, notes, merchantapp.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, app.Close()) })
	srv := httptest.NewServer(app.Handler)
	t.Cleanup(srv.Close)
	return &merchant{url: srv.URL, events: events, secpaid: api}
}

// processed returns how often each (provider, key) was recorded.
func (m *merchant) processed(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(m.events.String()))
	for sc.Scan() {
		var line struct{ Provider, Key string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), "events line %q", sc.Text())
		out[line.Provider+" "+line.Key]++
	}
	return out
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = simulateapp.Run(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

var attemptLine = regexp.MustCompile(`^attempt (\d+)/(\d+) copy (\d+) at \+(\S+): (\d{3}) ".*" (acked, ack lost|acked|not acked)$`)

// attemptLines checks the printed attempts and returns them.
func attemptLines(t *testing.T, stdout string) [][]string {
	t.Helper()
	var out [][]string
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if strings.HasPrefix(l, "attempt ") {
			m := attemptLine.FindStringSubmatch(l)
			require.NotNil(t, m, "attempt line %q", l)
			out = append(out, m)
		}
	}
	return out
}

func TestSimulateAgainstTheExampleMerchant(t *testing.T) {
	m := startMerchant(t)
	const payID = "987654321"
	m.secpaid.Pay(payID, "49.99", callbacktest.SecPaidTestUserID)
	tests := []struct {
		name     string
		args     []string
		key      string // the merchant's record: provider and dedup key
		attempts int    // schedule length
		copies   int
	}{
		{
			name:     "avarda",
			args:     []string{"-provider", "avarda", "-url", m.url + "/callbacks/avarda", "-auth", "Bearer t0k3n", "-id", "489ea341e23941089e6d0378c708512a", "-lose-acks", "0.5", "-lose-first", "1", "-duplicates", "2", "-seed", "7"},
			key:      "avarda 489ea341e23941089e6d0378c708512a",
			attempts: 21, copies: 3,
		},
		{
			name:     "chip, bundled test key",
			args:     []string{"-provider", "chip", "-url", m.url + "/callbacks/chip", "-event", "purchase.paid", "-id", "0b7c8a6e-1111-4222-8333-444455556666", "-lose-first", "2", "-duplicates", "1"},
			key:      "chip 0b7c8a6e-1111-4222-8333-444455556666:purchase.paid:",
			attempts: 8, copies: 2,
		},
		{
			name:     "chip, -key file",
			args:     []string{"-provider", "chip", "-url", m.url + "/callbacks/chip", "-key", chipPrivateKey, "-event", "purchase.created", "-id", "0b7c8a6e-1111-4222-8333-777788889999", "-lose-first", "1", "-lose-acks", "0.5", "-seed", "3"},
			key:      "chip 0b7c8a6e-1111-4222-8333-777788889999:purchase.created:",
			attempts: 8, copies: 1,
		},
		{
			name:     "ixopay",
			args:     []string{"-provider", "ixopay", "-url", m.url + "/callbacks/ixopay?shop=1", "-secret", "s3cret", "-event", "debit.ok", "-id", "0123456789abcdef0123", "-lose-first", "2", "-duplicates", "2"},
			key:      "ixopay 0123456789abcdef0123:DEBIT:OK",
			attempts: 15, copies: 3,
		},
		{
			name:     "secpaid",
			args:     []string{"-provider", "secpaid", "-url", m.url + "/callbacks/secpaid", "-id", payID, "-lose-first", "1", "-duplicates", "1"},
			key:      "secpaid " + payID + ":success",
			attempts: 6, copies: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tt.args...)
			require.Equal(t, simulateapp.ExitAcknowledged, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.Contains(t, stdout, "acknowledged at attempt")
			lines := attemptLines(t, stdout)
			require.NotEmpty(t, lines)
			lost := 0
			for i, l := range lines {
				require.Equal(t, i/tt.copies+1, atoi(t, l[1]), "attempt number, line %d", i)
				require.Equal(t, tt.attempts, atoi(t, l[2]))
				require.Equal(t, i%tt.copies+1, atoi(t, l[3]), "copy number, line %d", i)
				require.Contains(t, []string{"200", "409"}, l[5], "line %v", l[0])
				if l[6] == "acked, ack lost" {
					lost++
				}
			}
			require.GreaterOrEqual(t, lost, 1, "some ack was lost:\n%s", stdout)
			require.Contains(t, lastAttempt(lines), "acked", "the last attempt's ack got through")

			// The merchant processed the event exactly once.
			n := 0
			for k, c := range m.processed(t) {
				if strings.HasPrefix(k, tt.key) {
					n += c
				}
			}
			require.Equal(t, 1, n, "records of %q in:\n%s", tt.key, m.events.String())
		})
	}
}

// lastAttempt returns the outcomes of the last attempt's copies.
func lastAttempt(lines [][]string) []string {
	var out []string
	for _, l := range lines {
		if l[1] == lines[len(lines)-1][1] {
			out = append(out, l[6])
		}
	}
	return out
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		require.True(t, c >= '0' && c <= '9', s)
		n = n*10 + int(c-'0')
	}
	return n
}

func TestSimulateScheduleRunsOut(t *testing.T) {
	m := startMerchant(t)
	code, stdout, _ := run(t, "-provider", "avarda", "-url", m.url+"/callbacks/avarda", "-auth", "Bearer t0k3n",
		"-id", "aaaabbbbccccddddeeeeffff00001111", "-lose-acks", "1")
	require.Equal(t, simulateapp.ExitExhausted, code, stdout)
	require.Contains(t, stdout, "not acknowledged")
	lines := attemptLines(t, stdout)
	require.Len(t, lines, 21)
	require.Equal(t, "3h20m0s", lines[20][4])
	for _, l := range lines {
		require.Equal(t, "acked, ack lost", l[6])
	}
	require.Equal(t, map[string]int{"avarda aaaabbbbccccddddeeeeffff00001111": 1}, m.processed(t),
		"processed once, although Avarda saw 21 failures")
}

func TestSimulateWrongCredentials(t *testing.T) {
	m := startMerchant(t)
	for _, args := range [][]string{
		{"-provider", "avarda", "-url", m.url + "/callbacks/avarda", "-auth", "Bearer wrong"},
		{"-provider", "ixopay", "-url", m.url + "/callbacks/ixopay", "-secret", "wrong"},
	} {
		code, stdout, _ := run(t, args...)
		require.Equal(t, simulateapp.ExitExhausted, code, stdout)
		for _, l := range attemptLines(t, stdout) {
			require.Equal(t, "401", l[5])
			require.Equal(t, "not acked", l[6])
		}
	}
	require.Empty(t, m.processed(t))
}

func TestSimulateUsage(t *testing.T) {
	tests := map[string][]string{
		"no provider":         {},
		"unknown provider":    {"-provider", "stripe"},
		"ixopay needs secret": {"-provider", "ixopay", "-url", "http://127.0.0.1:1/"},
		"unknown chip event":  {"-provider", "chip", "-event", "purchase.nope"},
		"avarda event":        {"-provider", "avarda", "-event", "purchase.paid"},
		"secpaid event":       {"-provider", "secpaid", "-event", "refund"},
		"lose-acks above 1":   {"-provider", "avarda", "-lose-acks", "2"},
		"negative duplicates": {"-provider", "avarda", "-duplicates", "-1"},
		"negative speed":      {"-provider", "avarda", "-speed", "-1"},
		"relative url":        {"-provider", "avarda", "-url", "/callbacks/avarda"},
		"missing key file":    {"-provider", "chip", "-key", "no-such-file.pem"},
		"public key as -key":  {"-provider", "chip", "-key", chipPublicKey},
		"short secpaid key":   {"-provider", "secpaid", "-secpaid-key", "short"},
		"stray argument":      {"-provider", "avarda", "extra"},
		"bad seed":            {"-provider", "avarda", "-seed", "x"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := run(t, args...)
			require.Equal(t, simulateapp.ExitUsage, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.NotContains(t, stdout, "attempt 1/", "nothing is sent")
		})
	}
	code, _, stderr := run(t, "-h")
	require.Equal(t, 0, code)
	require.Contains(t, stderr, "-lose-acks")
}
