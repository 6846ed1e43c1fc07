module github.com/framekit/framekit/eventloop/internal/looptest

go 1.22

replace (
	github.com/framekit/framekit => ../../..
	github.com/framekit/framekit/eventloop/internal/loopcore => ../loopcore
)

require (
	github.com/framekit/framekit v0.0.0-00010101000000-000000000000
	github.com/framekit/framekit/eventloop/internal/loopcore v0.0.0-00010101000000-000000000000
	github.com/google/go-cmp v0.7.0
)
