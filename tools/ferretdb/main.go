// Command ferretdb runs FerretDB 1.24.2 (pinned in go.mod) as the platform's
// embedded MongoDB-wire server over PostgreSQL, through FerretDB's embeddable
// package: building its own cmd/ferretdb outside its repository panics on the
// missing generated version file.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	postgresql := flag.String("postgresql-url", "postgres://127.0.0.1:5432/ferretdb", "PostgreSQL URL")
	debug := flag.String("debug-addr", "", "TCP address for Go's profiler (/debug/pprof/), off when empty")
	flag.Parse()

	if *debug != "" {
		go func() { log.Print(http.ListenAndServe(*debug, nil)) }()
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Logger:        logger,
		Handler:       "postgresql",
		PostgreSQLURL: *postgresql,
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}
