package secpaid_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/callback/secpaid"
)

func TestAmount(t *testing.T) {
	tests := []struct {
		in      string
		ok      bool
		sign    int
		cents   int64
		centsOK bool
	}{
		{"49.99", true, 1, 4999, true},
		{"49.9", true, 1, 4990, true},
		{"100", true, 1, 10000, true},
		{"0.00", true, 0, 0, true},
		{"-0.10", true, -1, -10, true},
		{"1.005", true, 1, 0, false},
		{"1.000", true, 1, 100, true},
		{"92233720368547758.07", true, 1, 9223372036854775807, true},
		{"92233720368547758.08", true, 1, 0, false},
		{"", false, 0, 0, false},
		{"1e2", false, 0, 0, false},
		{"+1", false, 0, 0, false},
		{".5", false, 0, 0, false},
		{"5.", false, 0, 0, false},
		{"1,00", false, 0, 0, false},
		{" 1", false, 0, 0, false},
		{"NaN", false, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := secpaid.ParseAmount(tt.in)
			if !tt.ok {
				require.ErrorIs(t, err, secpaid.ErrAmount)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.in, a.String())
			require.Equal(t, tt.sign, a.Sign())
			cents, err := a.MinorUnits(2)
			if !tt.centsOK {
				require.ErrorIs(t, err, secpaid.ErrAmount)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.cents, cents)
		})
	}
}

func TestAmountCmp(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"49.9", "49.90", 0},
		{"049.90", "49.9", 0},
		{"10", "9.99", 1},
		{"9.99", "10", -1},
		{"-1", "0.5", -1},
		{"-2", "-1", -1},
		{"0.00", "-0", 0},
		{"1.01", "1.1", -1},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			require.Equal(t, tt.want, mustAmount(t, tt.a).Cmp(mustAmount(t, tt.b)))
			require.Equal(t, -tt.want, mustAmount(t, tt.b).Cmp(mustAmount(t, tt.a)))
		})
	}
}

func TestAmountText(t *testing.T) {
	var a secpaid.Amount
	require.True(t, a.IsZero())
	require.NoError(t, a.UnmarshalText([]byte("12.30")))
	b, err := a.MarshalText()
	require.NoError(t, err)
	require.Equal(t, "12.30", string(b))
	require.ErrorIs(t, a.UnmarshalText([]byte("12,30")), secpaid.ErrAmount)
}
