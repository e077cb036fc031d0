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
// example testdata/avarda/purchase.completed.json. Keys bundled here are for
// tests only: never configure them in production.
package callbacktest
