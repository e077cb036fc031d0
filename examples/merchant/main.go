// Command merchant is a runnable merchant server receiving payment
// providers' callbacks through paycallback, deduplicating in memory.
//
//	go run ./examples/merchant
//
// With no credentials configured it makes an Avarda token up and prints a
// ready-to-paste curl command. Flags: -addr, -events FILE, and one group per
// provider (-avarda-auth, ...); -h lists them. Each processed callback is
// appended to -events (default standard output) as one JSON line:
// {"provider":"avarda","key":"<purchase id>","event":"purchase.completed",...}.
// SIGINT or SIGTERM stops it gracefully: callbacks in flight finish first.
package main

import (
	"os"

	"github.com/paycallback/paycallback/examples/internal/merchantapp"
)

func main() { os.Exit(merchantapp.Main(merchantapp.Options{Name: "merchant"})) }
