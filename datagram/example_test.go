package datagram_test

import (
	"fmt"
	"net"
	"time"

	"github.com/framekit/framekit/datagram"
)

// Three frames in one datagram, split out again on receipt.
func Example() {
	spc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	rpc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	sender, _ := datagram.New(spc, nil)
	receiver, _ := datagram.New(rpc, nil)
	defer sender.Close()
	defer receiver.Close()

	sender.WriteFramesTo([][]byte{[]byte("one"), []byte("two"), []byte("three")}, rpc.LocalAddr())

	receiver.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := 0; i < 3; i++ {
		msg, _, err := receiver.ReadFrame()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(string(msg))
	}
	// Output:
	// one
	// two
	// three
}
