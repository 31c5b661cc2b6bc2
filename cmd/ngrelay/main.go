// Command ngrelay is the media relay daemon: a drop-in replacement for
// rtpengine, controlled over the NG protocol. It takes rtpengine's command
// line options and config file; run it with no arguments for the embedded
// defaults (NG on 127.0.0.1:2223, media on 127.0.0.1 ports 30000-40000).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ngrelay/ngrelay/internal/config"
	"github.com/ngrelay/ngrelay/internal/daemon"
	"github.com/ngrelay/ngrelay/internal/sdnotify"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, notices, err := config.Parse(args)
	switch {
	case errors.Is(err, config.ErrHelp):
		fmt.Print(config.Usage())
		return 0
	case errors.Is(err, config.ErrVersion):
		fmt.Println("ngrelay version", daemon.Version)
		return 0
	case err != nil:
		fmt.Fprintln(os.Stderr, "ngrelay:", err)
		return 2
	}
	var level slog.LevelVar
	log := daemon.NewLogger(os.Stderr, cfg, &level)
	if !cfg.LogStderr {
		// rtpengine logs to syslog unless --log-stderr is given.
		if sl, err := daemon.NewSyslogLogger("", "", cfg, &level); err == nil {
			log = sl
		} else {
			log.Warn("cannot log to syslog; logging to stderr", slog.Any("error", err))
		}
	}
	for _, n := range notices {
		log.Warn(n)
	}
	if cfg.PIDFile != "" {
		if err := daemon.WritePIDFile(cfg.PIDFile); err != nil {
			log.Error("cannot write pidfile", slog.Any("error", err))
			return 1
		}
		defer os.Remove(cfg.PIDFile)
	}
	// The daemon runs until SIGTERM or SIGINT, and then drains: its
	// context is not the signal's, so listeners stay up while calls end.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	d, err := daemon.Start(ctx, cfg, log, &level)
	if err != nil {
		log.Error("startup failed", slog.Any("error", err))
		return 1
	}
	log.Info("ngrelay started", slog.String("version", daemon.Version))
	notify := func(err error) {
		if err != nil {
			log.Warn("systemd notify", slog.Any("error", err))
		}
	}
	notify(sdnotify.Ready())
	if iv, ok := sdnotify.WatchdogInterval(); ok {
		// Keep-alives stop when the engine's call table is stuck.
		go sdnotify.RunWatchdogCheck(ctx, iv, func() bool { d.Engine.NumCalls(); return true })
	}
	for sig := range sigs {
		if sig != syscall.SIGHUP {
			log.Info("shutting down", slog.String("signal", sig.String()))
			break
		}
		notify(sdnotify.Reloading())
		next, err := config.Reload("", "", cfg)
		if err != nil {
			log.Error("reload failed; keeping the running configuration", slog.Any("error", err))
		} else {
			cfg = next
			d.ApplyReload(cfg)
		}
		notify(sdnotify.Ready())
	}
	notify(sdnotify.Stopping())
	notify(sdnotify.Status(fmt.Sprintf("draining %d calls", d.Engine.NumCalls())))
	// A second signal during the drain ends it at once.
	drainCtx, cancelDrain := context.WithCancel(ctx)
	go func() {
		select {
		case <-sigs:
			cancelDrain()
		case <-drainCtx.Done():
		}
	}()
	if left := d.Drain(drainCtx, time.Duration(cfg.ShutdownGraceSecs)*time.Second); left > 0 {
		log.Warn("grace period over: ending the remaining calls", slog.Int("calls", left))
	}
	cancelDrain()
	if err := d.Close(); err != nil {
		log.Error("shutdown", slog.Any("error", err))
		return 1
	}
	return 0
}
