package textframe_test

import (
	"fmt"
	"strings"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/textframe"
)

func Example() {
	stream := "Content-Length: 17\r\n\r\n{\"jsonrpc\":\"2.0\"}"
	r := framing.NewReader(strings.NewReader(stream), textframe.LSP, nil)
	body, err := r.ReadFrame()
	fmt.Printf("%s %v\n", body, err)
	// Output: {"jsonrpc":"2.0"} <nil>
}

func ExampleRESP() {
	stream := "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n>2\r\n+message\r\n+x\r\n"
	r := framing.NewReader(strings.NewReader(stream), textframe.Redis, nil)
	for {
		v, err := r.ReadFrame()
		if err != nil {
			break
		}
		fmt.Printf("%q push=%v\n", v, r.Kind() == textframe.RESPPush)
	}
	// Output:
	// "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n" push=false
	// ">2\r\n+message\r\n+x\r\n" push=true
}
