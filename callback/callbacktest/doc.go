// Package callbacktest helps merchants unit-test their callback handlers,
// as net/http/httptest helps with handlers in general: bundled fixtures for
// every provider's events, request builders that add the credentials or
// signatures the real verifiers accept, and test keys.
//
//	req := callbacktest.AvardaRequest("/callbacks/avarda", "", "Bearer test-token")
//	rec := httptest.NewRecorder()
//	handler.ServeHTTP(rec, req)
//
// Fixtures are scrubbed, realistic payloads named after their event, for
// example testdata/avarda/purchase.completed.json or
// testdata/chip/purchase.paid.json: AvardaFixture, ChipFixture,
// IXOPAYFixture, and SecPaid's return URLs and body encodings. Signers
// (SignChip, SignIXOPAY, SecPaidEncrypt) produce what the real verifiers
// accept, and NewSecPaidAPI fakes SecPaid's confirmation API on loopback.
//
// The simulations (AvardaSimulation, ChipSimulation, IXOPAYSimulation,
// SecPaidSimulation) play a provider's whole redelivery schedule against a
// handler with retry.Simulate, losing acknowledgements and sending
// duplicates, and Record wraps the merchant's function to prove it ran
// exactly once per event.
//
// Keys bundled here are for tests only: never configure them in production.
package callbacktest
