// Package demo holds the parts of `baton demo` that are not baton itself:
// the Redis it finds or starts (redis.go), the Slack sandbox with its live
// web page (sandbox.go, web/), the terminal story (story.go), and the
// built-in sample alerts and their timer (scenario.go).
//
// main (cmd_demo.go) wires these around an in-process baton built with
// NewAppWith from the demo config. Nothing here changes how baton behaves:
// the sandbox is internal/fakeslack, reached through the real slack-go SDK,
// and alerts go through baton's real webhook over loopback.
package demo
