// Command gentone writes the prompts that ngrelay ships (see package
// tone) into a directory. Run by "go generate" in ng/rtpp.
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/ngrelay/ngrelay/ng/rtpp/internal/tone"
)

func main() {
	dir := flag.String("out", ".", "directory to write the prompt files into")
	flag.Parse()
	for name, data := range tone.Files() {
		if err := os.WriteFile(filepath.Join(*dir, name), data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
