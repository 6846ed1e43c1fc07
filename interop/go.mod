module github.com/framekit/framekit/interop

go 1.23

replace github.com/framekit/framekit => ../

require (
	github.com/framekit/framekit v0.0.0-00010101000000-000000000000
	github.com/smallnest/goframe v1.0.0
)
