package config

import (
	"fmt"
	"strings"
)

// Usage returns the help text listing the options ngrelay supports and the
// rtpengine options it accepts and ignores, in the style of rtpengine's
// (glib's) --help output.
func Usage() string {
	var b strings.Builder
	b.WriteString("Usage:\n  ngrelay [OPTION...]  - rtpengine-compatible media relay\n")
	section := func(title string, class optClass) {
		type row struct{ left, help string }
		var rows []row
		width := 0
		for _, o := range optionTable {
			if o.class != class {
				continue
			}
			left := "--" + o.long
			if o.short != 0 {
				left = fmt.Sprintf("-%c, %s", o.short, left)
			}
			if o.arg != argNone && o.meta != "" {
				left += "=" + o.meta
			}
			help := o.help
			if o.ngrelay {
				help += " [ngrelay only]"
			}
			if o.class == ignored {
				help += " [ignored: " + o.reason + "]"
			}
			rows = append(rows, row{left, help})
			width = max(width, len(left))
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		for _, r := range rows {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, r.left, r.help)
		}
	}
	section("Help Options", builtin)
	section("Application Options", supported)
	section("Accepted and ignored rtpengine options", ignored)
	b.WriteString("\nAll other rtpengine options are recognized and refused at startup:\n" +
		"ngrelay does not implement them.\n" +
		"\nOptions can also be set in the config file (--config-file): long names as\n" +
		"keys, \"true\"/\"false\" for flags, \";\"-separated lists for repeatable options.\n" +
		"Without --config-section, [rtpengine] is read, then [ngrelay] overrides it.\n")
	return b.String()
}
