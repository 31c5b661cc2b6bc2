package interop

import (
	"os"
	"os/exec"
	"testing"
)

// EnvInterop names the environment variable that makes interop tests
// mandatory: when it is "1", a missing tool fails the test instead of
// skipping it.
const EnvInterop = "NGRELAY_INTEROP"

// Require returns the path of tool, looked up in PATH (or checked as given
// when it contains a slash). When the tool is missing, the test is skipped
// with an install hint naming debianPkg, or fails with the same hint when
// NGRELAY_INTEROP=1.
func Require(t testing.TB, tool, debianPkg string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err == nil {
		return path
	}
	if os.Getenv(EnvInterop) == "1" {
		t.Fatalf("interop: %s not installed: apt-get install %s (%v)", tool, debianPkg, err)
	}
	t.Skipf("interop: %s not installed: apt-get install %s (set %s=1 to make this a failure)", tool, debianPkg, EnvInterop)
	return ""
}

// requireOrSkip skips (or, with NGRELAY_INTEROP=1, fails) the test for a
// missing precondition other than a tool.
func requireOrSkip(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(EnvInterop) == "1" {
		t.Fatalf("interop: "+format, args...)
	}
	t.Skipf("interop: "+format, args...)
}
