package ctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Querier sends one CLI command and returns the reply.
type Querier func(command string) (string, error)

// errorPrefixes start the replies that report a failure.
var errorPrefixes = []string{
	"Unknown or incomplete command", "More parameters required", "Fail ", "Failed ",
	"Call ID not found", "Call Id not found", "Invalid ", "No such ", "No call ID specified",
	"No tag specified", "Call ID '",
}

// IsErrorReply reports whether a CLI reply says the command failed.
func IsErrorReply(reply string) bool {
	r := strings.TrimSpace(reply)
	for _, p := range errorPrefixes {
		if strings.HasPrefix(r, p) {
			return true
		}
	}
	return strings.HasPrefix(r, "Keyspace ") && strings.HasSuffix(r, "is not among redis notifications.")
}

// ToJSON runs command and returns its reply as a JSON-encodable value:
// statistics from "list jsonstats", session lists, session details,
// interfaces and single values parsed from the text; for other commands
// {"command", "reply", "ok"}. failed is set when the server reported an
// error.
func ToJSON(command string, q Querier) (v any, failed bool, err error) {
	words := strings.Fields(command)
	verb := ""
	if len(words) > 0 {
		verb = words[0]
	}
	if (verb == "list" || verb == "get") && len(words) > 1 {
		return listJSON(command, words[1], words[2:], q)
	}
	reply, err := q(command)
	if err != nil {
		return nil, false, err
	}
	failed = IsErrorReply(reply)
	return map[string]any{"command": command, "reply": strings.TrimSpace(reply), "ok": !failed}, failed, nil
}

func errorJSON(command, reply string) map[string]any {
	return map[string]any{"command": command, "error": strings.TrimSpace(reply)}
}

func listJSON(command, what string, rest []string, q Querier) (any, bool, error) {
	switch what {
	case "totals", "jsonstats", "counters":
		reply, err := q("list jsonstats")
		if err != nil {
			return nil, false, err
		}
		if !json.Valid([]byte(reply)) {
			return errorJSON("list jsonstats", reply), true, nil
		}
		raw := json.RawMessage(reply)
		if what == "counters" {
			var all struct {
				Current json.RawMessage `json:"currentstatistics"`
			}
			if err := json.Unmarshal(raw, &all); err == nil && all.Current != nil {
				return all.Current, false, nil
			}
		}
		return raw, false, nil
	}

	reply, err := q(command)
	if err != nil {
		return nil, false, err
	}
	if IsErrorReply(reply) {
		return errorJSON(command, reply), true, nil
	}
	switch what {
	case "numsessions":
		return parseNumSessions(reply), false, nil
	case "sessions", "session":
		arg := strings.Join(rest, " ")
		switch {
		case arg == "json":
			if json.Valid([]byte(reply)) {
				return json.RawMessage(reply), false, nil
			}
			return errorJSON(command, reply), true, nil
		case arg == "all" || arg == "own" || arg == "foreign" || strings.HasPrefix(reply, "callid:") || strings.HasPrefix(reply, "No "):
			return parseSessionLines(reply), false, nil
		default:
			return ParseSessionDetails(reply), false, nil
		}
	case "interfaces":
		return parseInterfaces(reply), false, nil
	case "loglevels":
		m := orderedMap{}
		for _, l := range lines(reply) {
			if k, v, ok := strings.Cut(l, " - "); ok {
				m = append(m, kv{k, v})
			}
		}
		return m, false, nil
	case "loglevel":
		if len(rest) > 0 {
			return orderedMap{{rest[0], number(strings.TrimSpace(reply))}}, false, nil
		}
		m := orderedMap{}
		for _, l := range lines(reply) {
			if k, v, ok := strings.Cut(l, " = "); ok {
				m = append(m, kv{k, number(v)})
			}
		}
		return m, false, nil
	case "transcoders":
		if strings.TrimSpace(reply) == "No stats entries" {
			return []any{}, false, nil
		}
		return map[string]any{"reply": strings.TrimSpace(reply)}, false, nil
	}
	// One value: "TIMEOUT=60", "Maximum sessions configured on rtpengine:
	// -1", "Maximum open-files ...: 20000; cat /proc/1/limits", "0".
	text := strings.TrimSpace(reply)
	if !strings.Contains(text, "\n") {
		val := text
		if i := strings.LastIndex(val, ": "); i >= 0 {
			val = val[i+2:]
		} else if _, v, ok := strings.Cut(val, "="); ok {
			val = v
		}
		val, _, _ = strings.Cut(val, ";")
		return orderedMap{{what, number(strings.TrimSpace(val))}}, false, nil
	}
	return map[string]any{"command": command, "reply": text}, false, nil
}

// kv and orderedMap keep the order of parsed fields in the JSON output.
type kv struct {
	k string
	v any
}

type orderedMap []kv

func (m orderedMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, "\r"); strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// number returns s as an int64 or float64 when it is one, else s.
func number(s string) any {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}

var numSessionKeys = map[string]string{
	"Current sessions own":             "sessionsown",
	"Current sessions foreign":         "sessionsforeign",
	"Current sessions total":           "sessionstotal",
	"Current transcoded media":         "transcodedmedia",
	"Current sessions ipv4 only media": "ipv4sessions",
	"Current sessions ipv6 only media": "ipv6sessions",
	"Current sessions ip mixed  media": "mixedsessions",
}

func parseNumSessions(reply string) orderedMap {
	m := orderedMap{}
	for _, l := range lines(reply) {
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			continue
		}
		key, known := numSessionKeys[k]
		if !known {
			key = strings.ToLower(strings.Join(strings.Fields(k), "_"))
		}
		m = append(m, kv{key, number(strings.TrimSpace(v))})
	}
	return m
}

var sessionLine = regexp.MustCompile(`^callid:\s*(.*?) \| deletionmark:\s*(\S+) \| created:\s*(-?\d+) \| proxy:(.*?) \| redis_keyspace:(-?\d+) \| foreign:(\S+)$`)

// SessionLine is one line of "list sessions all".
type SessionLine struct {
	CallID        string `json:"callid"`
	DeletionMark  bool   `json:"deletionmark"`
	Created       int64  `json:"created"`
	Proxy         string `json:"proxy"`
	RedisKeyspace int    `json:"redis_keyspace"`
	Foreign       bool   `json:"foreign"`
}

func parseSessionLines(reply string) []SessionLine {
	out := []SessionLine{}
	for _, l := range lines(reply) {
		m := sessionLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		created, _ := strconv.ParseInt(m[3], 10, 64)
		ks, _ := strconv.Atoi(m[5])
		out = append(out, SessionLine{
			CallID: strings.TrimSpace(m[1]), DeletionMark: m[2] == "yes", Created: created,
			Proxy: m[4], RedisKeyspace: ks, Foreign: m[6] == "yes",
		})
	}
	return out
}

// SessionDetails is "list sessions CALL-ID" parsed.
type SessionDetails struct {
	CallID        string       `json:"callid"`
	DeletionMark  bool         `json:"deletionmark"`
	Created       int64        `json:"created"`
	Proxy         string       `json:"proxy"`
	TOS           int          `json:"tos"`
	LastSignal    int64        `json:"last_signal"`
	RedisKeyspace int          `json:"redis_keyspace"`
	Foreign       bool         `json:"foreign"`
	Tags          []DetailsTag `json:"tags"`
}

// DetailsTag is one tag (leg) of SessionDetails.
type DetailsTag struct {
	Tag            string         `json:"tag"`
	Type           string         `json:"type"`
	Label          string         `json:"label"`
	Branch         string         `json:"branch"`
	CallDuration   float64        `json:"callduration"`
	SubscribedTo   []string       `json:"subscribed_to"`
	SubscriptionOf []string       `json:"subscription_of"`
	Medias         []DetailsMedia `json:"medias"`
}

// DetailsMedia is one media of a tag.
type DetailsMedia struct {
	Index    int             `json:"index"`
	Type     string          `json:"type"`
	Protocol string          `json:"protocol"`
	Codec    string          `json:"codec"`
	Streams  []DetailsStream `json:"streams"`
}

// DetailsStream is one port of a media.
type DetailsStream struct {
	Local      string `json:"local"`
	Endpoint   string `json:"endpoint"`
	RTCP       bool   `json:"rtcp"`
	SSRC       string `json:"ssrc"`
	Packets    uint64 `json:"packets"`
	Bytes      uint64 `json:"bytes"`
	Errors     uint64 `json:"errors"`
	LastPacket int64  `json:"last_packet"`
}

var (
	tagLine   = regexp.MustCompile(`^--- Tag '(.*)', type: (\S+), label '(.*)', branch '(.*)', callduration ([0-9.]+)`)
	subLine   = regexp.MustCompile(`^---\s+(subscribed to|subscription of) '(.*)'$`)
	mediaLine = regexp.MustCompile(`^------ Media #(\d+) \((.*) over (.*)\) using (.*)$`)
	portLine  = regexp.MustCompile(`^-------- Port\s+(\S*:\d+)\s+<>\s+(\S*:\d+)\s*( \(RTCP\))?, SSRC (\S+), (\d+) p, (\d+) b, (\d+) e, (\d+) ts`)
)

// ParseSessionDetails parses the reply of "list sessions CALL-ID" (of
// ngrelay or rtpengine).
func ParseSessionDetails(reply string) SessionDetails {
	d := SessionDetails{Tags: []DetailsTag{}}
	var tag *DetailsTag
	var media *DetailsMedia
	for _, l := range lines(reply) {
		if m := tagLine.FindStringSubmatch(l); m != nil {
			dur, _ := strconv.ParseFloat(m[5], 64)
			d.Tags = append(d.Tags, DetailsTag{Tag: m[1], Type: m[2], Label: m[3], Branch: m[4], CallDuration: dur,
				SubscribedTo: []string{}, SubscriptionOf: []string{}, Medias: []DetailsMedia{}})
			tag, media = &d.Tags[len(d.Tags)-1], nil
			continue
		}
		if m := subLine.FindStringSubmatch(l); m != nil && tag != nil {
			if m[1] == "subscribed to" {
				tag.SubscribedTo = append(tag.SubscribedTo, m[2])
			} else {
				tag.SubscriptionOf = append(tag.SubscriptionOf, m[2])
			}
			continue
		}
		if m := mediaLine.FindStringSubmatch(l); m != nil && tag != nil {
			idx, _ := strconv.Atoi(m[1])
			tag.Medias = append(tag.Medias, DetailsMedia{Index: idx, Type: m[2], Protocol: m[3], Codec: m[4], Streams: []DetailsStream{}})
			media = &tag.Medias[len(tag.Medias)-1]
			continue
		}
		if m := portLine.FindStringSubmatch(l); m != nil && media != nil {
			p, _ := strconv.ParseUint(m[5], 10, 64)
			b, _ := strconv.ParseUint(m[6], 10, 64)
			e, _ := strconv.ParseUint(m[7], 10, 64)
			ts, _ := strconv.ParseInt(m[8], 10, 64)
			media.Streams = append(media.Streams, DetailsStream{Local: m[1], Endpoint: m[2], RTCP: m[3] != "", SSRC: m[4],
				Packets: p, Bytes: b, Errors: e, LastPacket: ts})
			continue
		}
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			k, v, ok = strings.Cut(l, ":")
		}
		if !ok || tag != nil {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "callid":
			d.CallID = v
		case "deletionmark":
			d.DeletionMark = v == "yes"
		case "created":
			d.Created, _ = strconv.ParseInt(v, 10, 64)
		case "proxy":
			d.Proxy = v
		case "tos":
			d.TOS, _ = strconv.Atoi(v)
		case "last_signal":
			d.LastSignal, _ = strconv.ParseInt(v, 10, 64)
		case "redis_keyspace":
			d.RedisKeyspace, _ = strconv.Atoi(v)
		case "foreign":
			d.Foreign = v == "yes"
		}
	}
	return d
}

var (
	ifaceLine = regexp.MustCompile(`^Interface '(.*)' address '(.*)' \((.*)\)$`)
	rangeLine = regexp.MustCompile(`^ Port range:\s*(\d+)\s*-\s*(\d+)$`)
	usedLine  = regexp.MustCompile(`^ Ports used:\s*(\d+)\s*/\s*(\d+)\s*\(\s*([0-9.]+)%\)$`)
	lastLine  = regexp.MustCompile(`^ Last port used:\s*(\d+)$`)
)

// Interface is one entry of "list interfaces".
type Interface struct {
	Name    string  `json:"name"`
	Address string  `json:"address"`
	Family  string  `json:"family"`
	Min     int     `json:"min"`
	Max     int     `json:"max"`
	Used    int     `json:"used"`
	Total   int     `json:"totals"`
	UsedPct float64 `json:"used_pct"`
	Last    int     `json:"last"`
}

func parseInterfaces(reply string) []Interface {
	out := []Interface{}
	for _, l := range lines(reply) {
		if m := ifaceLine.FindStringSubmatch(l); m != nil {
			out = append(out, Interface{Name: m[1], Address: m[2], Family: m[3]})
			continue
		}
		if len(out) == 0 {
			continue
		}
		it := &out[len(out)-1]
		if m := rangeLine.FindStringSubmatch(l); m != nil {
			it.Min, _ = strconv.Atoi(m[1])
			it.Max, _ = strconv.Atoi(m[2])
		} else if m := usedLine.FindStringSubmatch(l); m != nil {
			it.Used, _ = strconv.Atoi(m[1])
			it.Total, _ = strconv.Atoi(m[2])
			it.UsedPct, _ = strconv.ParseFloat(m[3], 64)
		} else if m := lastLine.FindStringSubmatch(l); m != nil {
			it.Last, _ = strconv.Atoi(m[1])
		}
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}
