// Command ngrelay-ctl talks to the CLI of ngrelay (or rtpengine), with
// rtpengine-ctl's arguments: ngrelay-ctl [-ip ADDR[:PORT]] [-port PORT]
// [-config-file FILE] [--json] [--watch[=SECONDS]] COMMAND...; run it with
// -h for the commands. "ngrelay-ctl completion bash|zsh" prints a shell
// completion script.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ngrelay/ngrelay/internal/ctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ctl.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
