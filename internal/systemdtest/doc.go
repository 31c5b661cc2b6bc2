// Package systemdtest holds the tests of ngrelay's systemd files in
// systemd/: the unit passes "systemd-analyze verify" and keeps its
// hardening score, the sysusers entry is valid, and the default config file
// and the unit's command line are accepted by ngrelay's configuration
// parser. It has no code of its own.
//
// The tests skip when systemd's tools are missing (apt-get install systemd)
// and fail then when NGRELAY_INTEROP=1, as in CI.
package systemdtest
