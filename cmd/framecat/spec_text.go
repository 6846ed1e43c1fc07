package main

import (
	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/textframe"
)

// textSpecForms lists the text framings' SPEC names (issue 19).
const textSpecForms = `  lines-eof           as lines, and a last line without \n at EOF is a frame
  lsp                 Content-Length header block + body (LSP, JSON-RPC, DAP)
  lsp-headers         the same, frames are header block and body
  json  json-elements a JSON value stream; json-elements streams top-level arrays
  netstring           5:hello,
  syslog              RFC 6587 octet counting (LEN SP MSG), LF-ended fallback
  pktline             git pkt-line (0000 flush, 0001 delim, 0002 response end)
  chunked             HTTP/1.1 chunked body, one frame per chunk
  resp                Redis RESP2/RESP3, one frame per top-level value
  stomp               STOMP 1.2 frames (NUL-ended, or by content-length)`

// textSpec returns the codec a text framing's SPEC names.
func textSpec(spec string) (*codec, bool) {
	var c framing.Codec
	switch spec {
	case "lines-eof":
		return &codec{spec: spec, dec: delimiter.LinesAtEOF, enc: delimiter.LinesAtEOF, special: []byte("\r\n")}, true
	case "lsp":
		c = textframe.LSP
	case "lsp-headers":
		c = textframe.MustContentLength(textframe.ContentLengthConfig{KeepHeaders: true})
	case "json":
		c = textframe.JSONStream
	case "json-elements":
		c = textframe.JSONArrayElements
	case "netstring":
		c = textframe.Netstring
	case "syslog":
		c = textframe.OctetCounting
	case "pktline":
		c = textframe.PktLine
	case "chunked":
		c = textframe.HTTPChunked
	case "resp":
		c = textframe.Redis
	case "stomp":
		c = textframe.STOMP12
	default:
		return nil, false
	}
	return &codec{spec: spec, dec: c, enc: c}, true
}
