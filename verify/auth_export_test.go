package verify

// BcryptCalls returns how many bcrypt comparisons a has run, so that tests
// can prove a cache hit without timing anything.
func BcryptCalls(a *Authorization) int64 { return a.bcryptCalls.Load() }

// BcryptPeak returns the most bcrypt comparisons a has seen running at once.
func BcryptPeak(a *Authorization) int64 { return a.bcryptPeak.Load() }

// FillBcryptSlots takes every bcrypt slot of a, as if BcryptLimit
// comparisons were running, and returns the function that frees them.
func FillBcryptSlots(a *Authorization) (release func()) {
	for range cap(a.sem) {
		a.sem <- struct{}{}
	}
	return func() {
		for range cap(a.sem) {
			<-a.sem
		}
	}
}
