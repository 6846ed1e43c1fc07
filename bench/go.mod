module github.com/framekit/framekit/bench

go 1.26.0

replace github.com/framekit/framekit => ../

require (
	github.com/framekit/framekit v0.0.0-00010101000000-000000000000
	github.com/libp2p/go-msgio v0.3.0
	github.com/smallnest/goframe v1.0.0
	golang.org/x/perf v0.0.0-20260908200009-22c9c6c9d4da
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/aclements/go-moremath v0.0.0-20210112150236-f10218a38794 // indirect
	github.com/libp2p/go-buffer-pool v0.0.2 // indirect
	github.com/multiformats/go-varint v0.0.6 // indirect
)
