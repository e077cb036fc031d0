package secpaid_test

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/callbacktest"
	"github.com/paycallback/paycallback/callback/secpaid"
)

func mustAmount(t *testing.T, s string) secpaid.Amount {
	t.Helper()
	a, err := secpaid.ParseAmount(s)
	require.NoError(t, err)
	return a
}

// amountEqual compares amounts as written: "100" and "100.00" differ.
func amountEqual(a, b secpaid.Amount) bool { return a.String() == b.String() }

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

// encryptRaw encrypts whole blocks under the test key without padding,
// to make ciphertexts whose padding is wrong.
func encryptRaw(t *testing.T, plain []byte) string {
	t.Helper()
	k := callbacktest.SecPaidTestKey
	block, err := aes.NewCipher([]byte(k))
	require.NoError(t, err)
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, []byte(k[:16])).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}
