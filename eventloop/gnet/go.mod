module github.com/framekit/framekit/eventloop/gnet

go 1.22

replace (
	github.com/framekit/framekit => ../..
	github.com/framekit/framekit/eventloop/internal/loopcore => ../internal/loopcore
	github.com/framekit/framekit/eventloop/internal/looptest => ../internal/looptest
)

require (
	github.com/framekit/framekit v0.0.0-00010101000000-000000000000
	github.com/framekit/framekit/eventloop/internal/loopcore v0.0.0-00010101000000-000000000000
	github.com/framekit/framekit/eventloop/internal/looptest v0.0.0-00010101000000-000000000000
	github.com/panjf2000/gnet/v2 v2.9.7
)

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/panjf2000/ants/v2 v2.11.3 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.uber.org/zap v1.27.0 // indirect
	golang.org/x/sync v0.11.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
	gopkg.in/natefinch/lumberjack.v2 v2.2.1 // indirect
)
