package ng

import (
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/ngrelay/ngrelay/ng/bencode"
)

// controlCommands are the commands counted per proxy, with the key stem
// rtpengine uses in its "controlstatistics".
var controlCommands = []struct{ command, stem string }{
	{"ping", "ping"}, {"offer", "offer"}, {"answer", "answer"}, {"delete", "delete"},
	{"query", "query"}, {"list", "list"}, {"statistics", "stats"},
}

// proxyStats counts NG commands per proxy address, for the
// "controlstatistics" of the statistics command.
type proxyStats struct {
	mu      sync.Mutex
	proxies map[string]*proxyCounts
}

type proxyCounts struct {
	count    map[string]uint64
	duration map[string]time.Duration
	errors   uint64
}

func (p *proxyStats) count(proxy, command string, d time.Duration, failed bool) {
	if proxy == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proxies == nil {
		p.proxies = map[string]*proxyCounts{}
	}
	c := p.proxies[proxy]
	if c == nil {
		c = &proxyCounts{count: map[string]uint64{}, duration: map[string]time.Duration{}}
		p.proxies[proxy] = c
	}
	c.count[command]++
	c.duration[command] += d
	if failed {
		c.errors++
	}
}

// render returns rtpengine's controlstatistics dictionary: a "proxies" list
// and the "total<stem>count" sums.
func (p *proxyStats) render() bencode.Value {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, 0, len(p.proxies))
	for n := range p.proxies {
		names = append(names, n)
	}
	sort.Strings(names)
	totals := map[string]uint64{}
	var list []bencode.Value
	for _, n := range names {
		c := p.proxies[n]
		d := bencode.Dict(bencode.P("proxy", bencode.String(n)))
		for _, cc := range controlCommands {
			d.Set(cc.stem+"count", bencode.Int(int64(c.count[cc.command])))
			d.Set(cc.stem+"duration", bencode.String(seconds(c.duration[cc.command])))
			totals[cc.command] += c.count[cc.command]
		}
		d.Set("errorcount", bencode.Int(int64(c.errors)))
		list = append(list, d)
	}
	out := bencode.Dict(bencode.P("proxies", bencode.List(list...)))
	for _, cc := range controlCommands {
		out.Set("total"+cc.stem+"count", bencode.Int(int64(totals[cc.command])))
	}
	return out
}

// seconds renders a duration the way rtpengine's statistics do.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 6, 64)
}
