module github.com/framekit/framekit

go 1.22
