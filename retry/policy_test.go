package retry_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/paycallback/paycallback/retry"
)

func minutes(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Minute
	}
	return out
}

func TestSchedules(t *testing.T) {
	day := 24 * 60
	tests := []struct {
		name    string
		policy  retry.Policy
		want    []time.Duration
		horizon time.Duration
	}{
		{"chip", retry.CHIP, minutes(0, 2, 8, 26, 80, 242, 728, 2186), 36*time.Hour + 26*time.Minute},
		{"ixopay", retry.IXOPAY, minutes(0, 1, 6, 21, 81, 201, 381, 1101,
			1101+day, 1101+2*day, 1101+3*day, 1101+4*day, 1101+5*day, 1101+6*day, 1101+7*day),
			7*24*time.Hour + 18*time.Hour + 21*time.Minute},
		{"avarda", retry.Avarda, minutes(0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100,
			110, 120, 130, 140, 150, 160, 170, 180, 190, 200), 3*time.Hour + 20*time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []time.Duration
			for n := 1; n <= tt.policy.Attempts(); n++ {
				got = append(got, tt.policy.At(n))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("attempt offsets (-want +got):\n%s", diff)
			}
			require.Equal(t, tt.horizon, tt.policy.Horizon())
		})
	}
}

func TestAtOutOfRangePanics(t *testing.T) {
	require.Panics(t, func() { retry.CHIP.At(0) })
	require.Panics(t, func() { retry.CHIP.At(9) })
	require.Equal(t, time.Duration(0), retry.Policy{}.Horizon())
}
