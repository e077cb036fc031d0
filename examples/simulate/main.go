// Command simulate sends a payment provider's callback to a merchant's URL
// the way the provider would: signed or authorized as the provider does,
// redelivered on the provider's schedule (package retry) until a reply
// acknowledges it, with acknowledgements lost on the way back and
// concurrent duplicates if asked. It prints every attempt with its reply,
// and exits 0 once acknowledged, 1 if the schedule ran out, 2 on bad usage.
//
// Against the example merchant (go run ./examples/merchant -avarda-auth 'Bearer t0k3n'
// -ixopay-secret s3cret -chip-public-key callback/callbacktest/testdata/chip/test_key.pub.pem):
//
//	go run ./examples/simulate -provider avarda -auth 'Bearer t0k3n' -lose-acks 0.5 -duplicates 2
//	go run ./examples/simulate -provider chip -event purchase.paid -lose-first 3 -speed 100000
//	go run ./examples/simulate -provider ixopay -secret s3cret -event debit.ok -duplicates 1
//
// Each run sends a fresh event (a new unique id, or -id), which the
// merchant must process exactly once however often it arrives. -speed X
// plays the schedule compressed X times (-speed 100000 plays CHIP's 36
// hours in about a second); the default, 0, sends every attempt at once.
// -h lists every flag.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/paycallback/paycallback/examples/internal/simulateapp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := simulateapp.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
