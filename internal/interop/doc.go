// Package interop runs ngrelay's peers for real: sipwise rtpengine,
// Kamailio (with its rtpengine or rtpproxy module) and SIPp, all on
// loopback addresses, so tests can drive whole SIP calls with RTP through
// a media relay and compare the real rtpengine with ngrelay.
//
// Every helper takes a testing.TB and ties what it starts to it: processes
// run in their own process group, are stopped (SIGTERM, then SIGKILL) in
// t.Cleanup, and log to files under t.TempDir() whose tails are printed
// when the test fails. Missing tools skip the test, unless the environment
// sets NGRELAY_INTEROP=1, which turns a missing tool into a failure (see
// Require).
//
// The helpers bind loopback addresses only and bound every wait.
package interop
