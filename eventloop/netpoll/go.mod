module github.com/framekit/framekit/eventloop/netpoll

go 1.22

replace (
	github.com/framekit/framekit => ../..
	github.com/framekit/framekit/eventloop/internal/loopcore => ../internal/loopcore
	github.com/framekit/framekit/eventloop/internal/looptest => ../internal/looptest
)

require (
	github.com/cloudwego/netpoll v0.7.2
	github.com/framekit/framekit v0.0.0-00010101000000-000000000000
	github.com/framekit/framekit/eventloop/internal/loopcore v0.0.0-00010101000000-000000000000
	github.com/framekit/framekit/eventloop/internal/looptest v0.0.0-00010101000000-000000000000
)

require (
	github.com/bytedance/gopkg v0.1.1 // indirect
	github.com/cloudwego/gopkg v0.1.4 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
)
