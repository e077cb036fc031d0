package secpaid

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrAmount is matched by the error for an amount that is not a plain
// decimal number.
var ErrAmount = errors.New("secpaid: invalid amount")

// Amount is an exact decimal amount in euros, kept as SecPaid wrote it
// ("49.99", "100", "-0.10"), never through a float. The zero Amount means
// "absent"; IsZero reports it. Amounts are values, safe for concurrent use.
type Amount struct{ s string }

// maxAmountLen bounds an amount's text; SecPaid's are a few digits.
const maxAmountLen = 40

// ParseAmount parses s: an optional minus sign, digits, and optionally a
// point followed by digits. Exponents, signs other than a leading minus,
// spaces and thousands separators are refused with ErrAmount.
func ParseAmount(s string) (Amount, error) {
	if len(s) == 0 || len(s) > maxAmountLen {
		return Amount{}, fmt.Errorf("%w: %d bytes long", ErrAmount, len(s))
	}
	body := strings.TrimPrefix(s, "-")
	intPart, frac, hasPoint := strings.Cut(body, ".")
	if !digits(intPart) || hasPoint && !digits(frac) {
		return Amount{}, fmt.Errorf("%w: %q is not a plain decimal", ErrAmount, s)
	}
	return Amount{s: s}, nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// String returns the amount as SecPaid wrote it, or "" for the zero Amount.
func (a Amount) String() string { return a.s }

// IsZero reports whether a is the zero Amount (absent). An amount written
// "0.00" is not zero in this sense; use Sign.
func (a Amount) IsZero() bool { return a.s == "" }

// parts returns a's sign and its integer and fraction digits without
// leading (integer) or trailing (fraction) zeros.
func (a Amount) parts() (neg bool, intPart, frac string) {
	body, neg := strings.CutPrefix(a.s, "-")
	intPart, frac, _ = strings.Cut(body, ".")
	intPart = strings.TrimLeft(intPart, "0")
	frac = strings.TrimRight(frac, "0")
	if intPart == "" && frac == "" {
		neg = false
	}
	return neg, intPart, frac
}

// Sign returns -1, 0 or +1. The zero Amount's sign is 0.
func (a Amount) Sign() int {
	neg, i, f := a.parts()
	switch {
	case i == "" && f == "":
		return 0
	case neg:
		return -1
	}
	return 1
}

// Cmp compares a and b numerically ("49.9" equals "49.90"), returning -1,
// 0 or +1. The zero Amount compares as 0.
func (a Amount) Cmp(b Amount) int {
	as, bs := a.Sign(), b.Sign()
	if as != bs {
		if as < bs {
			return -1
		}
		return 1
	}
	_, ai, af := a.parts()
	_, bi, bf := b.parts()
	c := cmpMagnitude(ai, af, bi, bf)
	if as < 0 {
		return -c
	}
	return c
}

func cmpMagnitude(ai, af, bi, bf string) int {
	if len(ai) != len(bi) {
		if len(ai) < len(bi) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(ai, bi); c != 0 {
		return c
	}
	n := max(len(af), len(bf))
	af += strings.Repeat("0", n-len(af))
	bf += strings.Repeat("0", n-len(bf))
	return strings.Compare(af, bf)
}

// MinorUnits returns the amount in units of 10^-scale: MinorUnits(2) is
// cents, so "49.9" gives 4990. It returns an error wrapping ErrAmount when
// the amount has more significant fraction digits than scale (it would
// have to be rounded) or does not fit an int64.
func (a Amount) MinorUnits(scale int) (int64, error) {
	if scale < 0 || scale > 18 {
		return 0, fmt.Errorf("%w: scale %d out of range 0..18", ErrAmount, scale)
	}
	neg, i, f := a.parts()
	if len(f) > scale {
		return 0, fmt.Errorf("%w: %s has more than %d decimals", ErrAmount, a.s, scale)
	}
	var v uint64
	for _, c := range []byte(i + f + strings.Repeat("0", scale-len(f))) {
		d := uint64(c - '0')
		if v > (math.MaxInt64-d)/10 {
			return 0, fmt.Errorf("%w: %s overflows int64 at scale %d", ErrAmount, a.s, scale)
		}
		v = v*10 + d
	}
	if neg {
		return -int64(v), nil
	}
	return int64(v), nil
}

// MarshalText returns the amount as written, so that it encodes as a JSON
// string ("49.99"), exactly.
func (a Amount) MarshalText() ([]byte, error) { return []byte(a.s), nil }

// UnmarshalText parses text with ParseAmount; empty text gives the zero
// Amount.
func (a *Amount) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*a = Amount{}
		return nil
	}
	v, err := ParseAmount(string(text))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
