package config

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// keyValue is one "key = value" line of a config file.
type keyValue struct {
	key, value string
	line       int
}

// keyFile is a parsed INI file (glib GKeyFile syntax): [section] headers,
// key = value lines, comment lines starting with "#" (or ";", which glib
// rejects) and blank lines. Sections given twice are merged, as by glib.
type keyFile struct {
	sections map[string][]keyValue
}

// parseKeyFile parses data read from path (used in error messages).
func parseKeyFile(path string, data []byte) (*keyFile, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	kf := &keyFile{sections: map[string][]keyValue{}}
	section := ""
	haveSection := false
	for n, raw := range strings.Split(string(data), "\n") {
		lineNo := n + 1
		line := strings.TrimLeft(raw, " \t\r\f\v")
		line = strings.TrimRight(line, " \t\r\f\v")
		switch {
		case line == "", line[0] == '#', line[0] == ';':
			continue
		case line[0] == '[':
			name, ok := strings.CutSuffix(line[1:], "]")
			if !ok || name == "" || strings.ContainsAny(name, "[]") {
				return nil, fmt.Errorf("%s:%d: invalid section header %q", path, lineNo, line)
			}
			section, haveSection = name, true
			if _, ok := kf.sections[name]; !ok {
				kf.sections[name] = nil
			}
		default:
			key, value, ok := strings.Cut(line, "=")
			key = strings.TrimRight(key, " \t")
			if !ok || key == "" {
				return nil, fmt.Errorf("%s:%d: line is not a key = value pair, [section] or comment: %q", path, lineNo, line)
			}
			if !haveSection {
				return nil, fmt.Errorf("%s:%d: key %q comes before the first [section]", path, lineNo, key)
			}
			value = strings.TrimLeft(value, " \t")
			kf.sections[section] = append(kf.sections[section], keyValue{key: key, value: value, line: lineNo})
		}
	}
	return kf, nil
}

// unescape resolves glib's escape sequences \s \n \t \r \\ (and \;).
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("value ends in a lone backslash")
		}
		i++
		switch s[i] {
		case 's':
			b.WriteByte(' ')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\':
			b.WriteByte('\\')
		case ';':
			b.WriteByte(';')
		default:
			return "", fmt.Errorf("invalid escape sequence \\%c", s[i])
		}
	}
	return b.String(), nil
}

// splitList splits a glib list value at ";" (not at "\;"), unescapes the
// elements and drops empty ones; a trailing ";" is allowed.
func splitList(s string) ([]string, error) {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] == '\\' {
			i++
			continue
		}
		if i < len(s) && s[i] != ';' {
			continue
		}
		elem, err := unescape(strings.TrimSpace(s[start:min(i, len(s))]))
		if err != nil {
			return nil, err
		}
		if elem != "" {
			out = append(out, elem)
		}
		start = i + 1
	}
	return out, nil
}

// loadFile reads the config file at path and returns one layer per section
// read, lowest precedence first: section if not empty, otherwise
// [rtpengine] then [ngrelay] (at least one of them must exist). Unknown keys
// are recorded in the layers' errs; notices are about keys ignored.
func loadFile(path, section string) (layers []*layer, notices []string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading config file: %w", err)
	}
	kf, err := parseKeyFile(path, data)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	if section != "" {
		if _, ok := kf.sections[section]; !ok {
			return nil, nil, fmt.Errorf("config file %s has no section [%s]", path, section)
		}
		names = []string{section}
	} else {
		for _, name := range []string{"rtpengine", "ngrelay"} {
			if _, ok := kf.sections[name]; ok {
				names = append(names, name)
			}
		}
		if len(names) == 0 {
			return nil, nil, fmt.Errorf("config file %s has neither a [rtpengine] nor a [ngrelay] section", path)
		}
	}
	for _, name := range names {
		l := newLayer(source{file: path, section: name})
		for _, kv := range kf.sections[name] {
			o := byLong[kv.key]
			if o == nil || o.class == builtin {
				l.errs = append(l.errs, fmt.Errorf("unknown option %q in %s [%s]", kv.key, path, name))
				continue
			}
			if o.long == "config-file" || o.long == "config-section" {
				notices = append(notices, fmt.Sprintf("option %s in %s [%s] ignored: only valid on the command line", kv.key, path, name))
				continue
			}
			var values []string
			if o.repeatable {
				values, err = splitList(kv.value)
			} else {
				var v string
				v, err = unescape(kv.value)
				values = []string{v}
			}
			if err != nil {
				l.errs = append(l.errs, fmt.Errorf("%s:%d: %s: %v", path, kv.line, kv.key, err))
				continue
			}
			l.add(o, values, false)
		}
		layers = append(layers, l)
	}
	return layers, notices, nil
}
