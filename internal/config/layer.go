package config

import (
	"fmt"
	"strings"
)

// source tells where a setting came from.
type source struct {
	file    string // "" for the command line
	section string
}

// describe names option o as given in this source, for error messages.
func (s source) describe(o *option) string {
	if s.file == "" {
		return "--" + o.long
	}
	return fmt.Sprintf("%s in %s [%s]", o.long, s.file, s.section)
}

// setting is the raw value(s) of one option in one source.
type setting struct {
	opt    *option
	values []string // scalar options: the last one counts
	src    source
}

// last returns the value that counts for a scalar option.
func (s *setting) last() string { return s.values[len(s.values)-1] }

// layer holds the options found in one source: the command line or one
// section of the config file.
type layer struct {
	src   source
	set   map[string]*setting
	order []string // long names in order of first appearance
	errs  []error  // unknown keys (config file layers)
}

func newLayer(src source) *layer {
	return &layer{src: src, set: map[string]*setting{}}
}

func (l *layer) get(name string) *setting { return l.set[name] }

// add records values for o. Repeated command-line occurrences of a
// repeatable option accumulate (appendValues); otherwise the new values
// replace the old ones.
func (l *layer) add(o *option, values []string, appendValues bool) {
	s := l.set[o.long]
	if s == nil {
		s = &setting{opt: o, src: l.src}
		l.set[o.long] = s
		l.order = append(l.order, o.long)
	}
	if appendValues {
		s.values = append(s.values, values...)
	} else {
		s.values = append([]string(nil), values...)
	}
}

// merge returns, in optionTable order, the setting that counts for each
// option: the one from the last layer that has the option (layers go from
// lowest to highest precedence).
func merge(layers []*layer) []*setting {
	var out []*setting
	for i := range optionTable {
		name := optionTable[i].long
		for j := len(layers) - 1; j >= 0; j-- {
			if s := layers[j].get(name); s != nil {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// scanArgs parses the command line into a layer. It stops at the first
// error; --help and --version end it with ErrHelp and ErrVersion.
func scanArgs(args []string) (*layer, error) {
	l := newLayer(source{})
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return nil, fmt.Errorf("unexpected argument %q (ngrelay takes no arguments)", args[i+1])
			}
			return l, nil

		case strings.HasPrefix(a, "--"):
			name, value, hasValue := strings.Cut(a[2:], "=")
			if name == "help-all" || name == "help-application" {
				name = "help"
			}
			o := byLong[name]
			if o == nil {
				return nil, fmt.Errorf("unknown option --%s", name)
			}
			if o.class == builtin {
				if hasValue {
					return nil, fmt.Errorf("option --%s takes no value", name)
				}
				return nil, builtinErr(o)
			}
			switch {
			case o.arg == argNone:
				if !hasValue {
					value = "true"
				}
			case !hasValue:
				if i+1 >= len(args) {
					return nil, fmt.Errorf("missing value for --%s", name)
				}
				i++
				value = args[i]
			}
			l.add(o, []string{value}, o.repeatable)

		case len(a) > 1 && a[0] == '-':
			// a cluster of short options: flags, then at most one
			// option taking a value, either the rest of the cluster
			// (-m20000, as getopt) or the next argument (-m 20000)
		cluster:
			for j := 1; j < len(a); j++ {
				c := a[j]
				if c == '?' {
					return nil, ErrHelp
				}
				o := byShort[c]
				if o == nil {
					return nil, fmt.Errorf("unknown option -%c", c)
				}
				if o.class == builtin {
					return nil, builtinErr(o)
				}
				if o.arg == argNone {
					l.add(o, []string{"true"}, false)
					continue
				}
				var value string
				switch {
				case j+1 < len(a):
					value = a[j+1:]
				case i+1 < len(args):
					i++
					value = args[i]
				default:
					return nil, fmt.Errorf("missing value for -%c (--%s)", c, o.long)
				}
				l.add(o, []string{value}, o.repeatable)
				break cluster
			}

		default:
			return nil, fmt.Errorf("unexpected argument %q (ngrelay takes no arguments)", a)
		}
	}
	return l, nil
}

func builtinErr(o *option) error {
	if o.long == "version" {
		return ErrVersion
	}
	return ErrHelp
}
