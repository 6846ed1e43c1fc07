module github.com/framekit/framekit/eventloop/bench

go 1.22

replace (
	github.com/framekit/framekit => ../..
	github.com/framekit/framekit/eventloop/gnet => ../gnet
	github.com/framekit/framekit/eventloop/internal/loopcore => ../internal/loopcore
	github.com/framekit/framekit/eventloop/internal/looptest => ../internal/looptest
	github.com/framekit/framekit/eventloop/nbio => ../nbio
	github.com/framekit/framekit/eventloop/netpoll => ../netpoll
)

require (
	github.com/cloudwego/netpoll v0.7.2
	github.com/framekit/framekit v0.0.0-00010101000000-000000000000
	github.com/framekit/framekit/eventloop/gnet v0.0.0-00010101000000-000000000000
	github.com/framekit/framekit/eventloop/internal/looptest v0.0.0-00010101000000-000000000000
	github.com/framekit/framekit/eventloop/nbio v0.0.0-00010101000000-000000000000
	github.com/framekit/framekit/eventloop/netpoll v0.0.0-00010101000000-000000000000
	github.com/google/go-cmp v0.7.0
	github.com/lesismal/nbio v1.6.8
	github.com/panjf2000/gnet/v2 v2.9.7
)

require (
	github.com/bytedance/gopkg v0.1.1 // indirect
	github.com/cloudwego/gopkg v0.1.4 // indirect
	github.com/framekit/framekit/eventloop/internal/loopcore v0.0.0-00010101000000-000000000000 // indirect
	github.com/panjf2000/ants/v2 v2.11.3 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.uber.org/zap v1.27.0 // indirect
	golang.org/x/sync v0.11.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
	gopkg.in/natefinch/lumberjack.v2 v2.2.1 // indirect
)
