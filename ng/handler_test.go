package ng

import (
	"strings"
	"testing"

	"github.com/ngrelay/ngrelay/ng/bencode"
)

func result(r bencode.Value) (res, reason string) {
	res, _ = r.GetString("result")
	reason, _ = r.GetString("error-reason")
	return
}

func TestLabelsGoToTheLegWhoseSDPTheCommandCarries(t *testing.T) {
	h := newTestHandler(t)
	sdpOf(t, h, "command", "offer", "call-id", "l1", "from-tag", "a", "sdp", plain("198.51.100.7", 4000), "label", "caller", "set-label", "ignored")
	sdpOf(t, h, "command", "answer", "call-id", "l1", "from-tag", "a", "to-tag", "b", "sdp", plain("198.51.100.8", 5000), "label", "callee")
	r := h.Handle(request("command", "query", "call-id", "l1"))
	tags, _ := r.Get("tags")
	for tag, want := range map[string]string{"a": "caller", "b": "callee"} {
		leg, _ := tags.Get(tag)
		if got, _ := leg.GetString("label"); got != want {
			t.Errorf("leg %s label %q, want %q", tag, got, want)
		}
	}
}

func TestQueryWithTagsListsOnlyThatDialogue(t *testing.T) {
	h := newTestHandler(t)
	sdpOf(t, h, "command", "offer", "call-id", "q1", "from-tag", "a", "sdp", plain("198.51.100.7", 4000))
	sdpOf(t, h, "command", "answer", "call-id", "q1", "from-tag", "a", "to-tag", "b", "sdp", plain("198.51.100.8", 5000))
	r := h.Handle(request("command", "query", "call-id", "q1", "from-tag", "a", "to-tag", "b"))
	tags, _ := r.Get("tags")
	if len(tags.Dict) != 2 {
		t.Fatalf("query with both tags listed %d legs", len(tags.Dict))
	}
	if res, reason := result(h.Handle(request("command", "query", "call-id", "q1", "from-tag", "zz"))); res != "error" || !strings.HasPrefix(reason, "Unknown from-tag") {
		t.Fatalf("query with an unknown from-tag: %s %s", res, reason)
	}
}

func TestSessionLimitRepliesLoadLimitToProxiesThatSupportIt(t *testing.T) {
	h := newTestHandler(t)
	h.SetMaxSessions(0)
	r := h.Handle(request("command", "offer", "call-id", "ll", "from-tag", "a", "sdp", plain("198.51.100.7", 4000), "supports", []string{"load limit"}))
	if res, _ := result(r); res != "load limit" {
		t.Fatalf("result %q, want \"load limit\"", res)
	}
	r = h.Handle(request("command", "offer", "call-id", "ll", "from-tag", "a", "sdp", plain("198.51.100.7", 4000)))
	if res, reason := result(r); res != "error" || reason != "Parallel session limit reached" {
		t.Fatalf("without supports: %s %s", res, reason)
	}
}

func TestListLimit(t *testing.T) {
	h := newTestHandler(t)
	sdpOf(t, h, "command", "offer", "call-id", "x", "from-tag", "a", "sdp", plain("198.51.100.7", 4000))
	r := h.Handle(bencode.Dict(bencode.P("command", bencode.String("list")), bencode.P("limit", bencode.Int(0))))
	if calls, _ := r.GetList("calls"); len(calls) != 0 {
		t.Fatalf("limit 0 listed %d calls", len(calls))
	}
	r = h.Handle(bencode.Dict(bencode.P("command", bencode.String("list")), bencode.P("limit", bencode.Int(-1))))
	if res, reason := result(r); res != "error" || reason != "invalid limit, must be >= 0" {
		t.Fatalf("negative limit: %s %s", res, reason)
	}
}

func TestSIPSourceAddressNeedsReceivedFrom(t *testing.T) {
	h := newTestHandler(t)
	r := h.Handle(request("command", "offer", "call-id", "s", "from-tag", "a", "sdp", plain("198.51.100.7", 4000), "flags", []string{"SIP-source-address"}))
	if res, reason := result(r); res != "error" || !strings.HasPrefix(reason, "Incomplete SDP specification") {
		t.Fatalf("%s %s", res, reason)
	}
}

func TestFlagStringsCannotRewriteTheRequest(t *testing.T) {
	h := newTestHandler(t)
	sdpOf(t, h, "command", "offer", "call-id", "real", "from-tag", "a", "sdp", plain("198.51.100.7", 4000), "rtpp-flags", "call-id=other sdp=x command=delete")
	if h.engine.Call("real") == nil || h.engine.Call("other") != nil {
		t.Fatal("rtpp-flags overrode the call-id")
	}
}

func TestMessagesWithACookieButNoDictionaryGetAnErrorReply(t *testing.T) {
	srv := NewServer(newTestHandler(t), nil)
	for _, in := range []string{"c1 li1ee", "c1 xyz", "c1 "} {
		out := string(srv.Process("p", []byte(in)))
		if !strings.HasPrefix(out, "c1 d6:result5:error12:error-reason") || !strings.Contains(out, "Invalid NG data format") {
			t.Errorf("%q -> %q", in, out)
		}
	}
}

func TestControlStatisticsCountCommandsPerProxy(t *testing.T) {
	h := newTestHandler(t)
	h.HandleFrom("192.0.2.1", request("command", "ping"))
	h.HandleFrom("192.0.2.1", request("command", "ping"))
	h.HandleFrom("192.0.2.2", request("command", "query", "call-id", "none"))
	r := h.Handle(request("command", "statistics"))
	st, _ := r.Get("statistics")
	ctl, _ := st.Get("controlstatistics")
	if n, _ := ctl.GetInt("totalpingcount"); n != 2 {
		t.Errorf("totalpingcount %d", n)
	}
	proxies, _ := ctl.GetList("proxies")
	if len(proxies) != 2 {
		t.Fatalf("%d proxies", len(proxies))
	}
	if n, _ := proxies[1].GetInt("errorcount"); n != 1 {
		t.Errorf("second proxy errorcount %d, want 1", n)
	}
}
