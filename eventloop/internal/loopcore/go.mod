module github.com/framekit/framekit/eventloop/internal/loopcore

go 1.22

replace github.com/framekit/framekit => ../../..

require github.com/framekit/framekit v0.0.0-00010101000000-000000000000
