package ctl

import (
	"fmt"
	"io"
	"strings"
)

// Command words offered by shell completion.
var (
	completeOptions = []string{"-ip", "-port", "-config-file", "--json", "--watch", "-h", "--help"}
	completeTop     = []string{"list", "get", "set", "terminate", "call", "ksadd", "ksrm", "kslist", "active", "standby", "help", "usage", "completion"}
	completeList    = []string{"numsessions", "sessions", "totals", "counters", "jsonstats", "interfaces", "transcoders",
		"maxsessions", "maxopenfiles", "maxcpu", "maxload", "maxbw", "timeout", "silenttimeout", "finaltimeout",
		"offertimeout", "deletedelay", "loglevels", "loglevel", "controltos", "redisallowederrors",
		"redisdisabletime", "redisconnecttimeout", "rediscmdtimeout", "help"}
	completeSet = []string{"maxsessions", "maxopenfiles", "timeout", "silenttimeout", "finaltimeout", "offertimeout",
		"deletedelay", "loglevel", "help"}
	completeSessions   = []string{"all", "own", "foreign", "json"}
	completeTerminate  = []string{"all", "own", "foreign"}
	completeCall       = []string{"info", "terminate", "tag"}
	completeSubsystems = []string{"core", "spandsp", "ffmpeg", "transcoding", "codec", "rtcp", "ice", "crypto",
		"srtp", "internals", "http", "control", "dtx"}
)

func runCompletion(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: ngrelay-ctl completion bash|zsh")
		return 1
	}
	switch args[0] {
	case "bash":
		io.WriteString(stdout, BashCompletion())
	case "zsh":
		io.WriteString(stdout, ZshCompletion())
	default:
		fmt.Fprintf(stderr, "ngrelay-ctl: no completion for shell %q (bash, zsh)\n", args[0])
		return 1
	}
	return 0
}

func words(w []string) string { return strings.Join(w, " ") }

// BashCompletion returns a bash completion script for ngrelay-ctl:
//
//	source <(ngrelay-ctl completion bash)
//
// Call IDs are completed from "list sessions all" of the relay that the
// options on the command line name.
func BashCompletion() string {
	r := strings.NewReplacer(
		"@OPTIONS@", words(completeOptions), "@TOP@", words(completeTop), "@LIST@", words(completeList),
		"@SET@", words(completeSet), "@SESSIONS@", words(completeSessions), "@TERMINATE@", words(completeTerminate),
		"@CALL@", words(completeCall), "@SUBSYSTEMS@", words(completeSubsystems),
	)
	return r.Replace(bashScript)
}

const bashScript = `# bash completion for ngrelay-ctl; load with: source <(ngrelay-ctl completion bash)
_ngrelay_ctl_callids() {
    "$1" "${@:2}" list sessions all 2>/dev/null | sed -n 's/^callid: *\([^ ]*\) |.*/\1/p'
}

_ngrelay_ctl() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    local i=1 w
    local -a conn=()
    while [ "$i" -lt "$COMP_CWORD" ]; do
        w="${COMP_WORDS[i]}"
        case "$w" in
            -ip|--ip|-port|--port|-config-file|--config-file)
                conn+=("$w" "${COMP_WORDS[i+1]}"); i=$((i+2)); continue ;;
            -*) i=$((i+1)); continue ;;
        esac
        break
    done
    case "$prev" in
        -config-file|--config-file) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
        -ip|--ip|-port|--port) COMPREPLY=(); return ;;
    esac
    local -a cmd=( "${COMP_WORDS[@]:i:COMP_CWORD-i}" )
    local words=""
    case "${#cmd[@]}" in
        0)
            if [[ "$cur" == -* ]]; then words="@OPTIONS@"; else words="@TOP@"; fi ;;
        1)
            case "${cmd[0]}" in
                list|get) words="@LIST@" ;;
                set) words="@SET@" ;;
                terminate) words="@TERMINATE@ $(_ngrelay_ctl_callids "${COMP_WORDS[0]}" "${conn[@]}")" ;;
                call) words="$(_ngrelay_ctl_callids "${COMP_WORDS[0]}" "${conn[@]}")" ;;
                completion) words="bash zsh" ;;
            esac ;;
        2)
            case "${cmd[0]} ${cmd[1]}" in
                "list sessions"|"get sessions") words="@SESSIONS@ $(_ngrelay_ctl_callids "${COMP_WORDS[0]}" "${conn[@]}")" ;;
                "list loglevel"|"get loglevel"|"set loglevel") words="@SUBSYSTEMS@" ;;
                call\ *) words="@CALL@" ;;
            esac ;;
        4)
            [ "${cmd[0]}" = call ] && [ "${cmd[2]}" = tag ] && words="info" ;;
    esac
    COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -F _ngrelay_ctl ngrelay-ctl
`

// ZshCompletion returns a zsh completion script for ngrelay-ctl: source
// it (source <(ngrelay-ctl completion zsh)) or save it as _ngrelay-ctl in
// a directory of $fpath.
func ZshCompletion() string {
	r := strings.NewReplacer(
		"@OPTIONS@", words(completeOptions), "@TOP@", words(completeTop), "@LIST@", words(completeList),
		"@SET@", words(completeSet), "@SESSIONS@", words(completeSessions), "@TERMINATE@", words(completeTerminate),
		"@CALL@", words(completeCall), "@SUBSYSTEMS@", words(completeSubsystems),
	)
	return r.Replace(zshScript)
}

const zshScript = `#compdef ngrelay-ctl
# zsh completion for ngrelay-ctl; load with: source <(ngrelay-ctl completion zsh)

_ngrelay_ctl_callids() {
    "$1" "${@:2}" list sessions all 2>/dev/null | sed -n 's/^callid: *\([^ ]*\) |.*/\1/p'
}

_ngrelay_ctl() {
    local i=2
    local -a conn cmd cands
    while (( i < CURRENT )); do
        case ${words[i]} in
            -ip|--ip|-port|--port|-config-file|--config-file)
                conn+=(${words[i]} ${words[i+1]}); (( i += 2 )); continue ;;
            -*) (( i++ )); continue ;;
        esac
        break
    done
    case ${words[CURRENT-1]} in
        -config-file|--config-file) _files; return ;;
        -ip|--ip|-port|--port) return ;;
    esac
    cmd=(${words[i,CURRENT-1]})
    case ${#cmd} in
        0)
            if [[ $PREFIX == -* ]]; then cands=(@OPTIONS@); else cands=(@TOP@); fi ;;
        1)
            case ${cmd[1]} in
                list|get) cands=(@LIST@) ;;
                set) cands=(@SET@) ;;
                terminate) cands=(@TERMINATE@ ${(f)"$(_ngrelay_ctl_callids ${words[1]} $conn)"}) ;;
                call) cands=(${(f)"$(_ngrelay_ctl_callids ${words[1]} $conn)"}) ;;
                completion) cands=(bash zsh) ;;
            esac ;;
        2)
            case "${cmd[1]} ${cmd[2]}" in
                "list sessions"|"get sessions") cands=(@SESSIONS@ ${(f)"$(_ngrelay_ctl_callids ${words[1]} $conn)"}) ;;
                "list loglevel"|"get loglevel"|"set loglevel") cands=(@SUBSYSTEMS@) ;;
                call\ *) cands=(@CALL@) ;;
            esac ;;
        4)
            [[ ${cmd[1]} == call && ${cmd[3]} == tag ]] && cands=(info) ;;
    esac
    (( ${#cands} )) && compadd -a cands
}

# Autoloaded from $fpath (as _ngrelay-ctl): complete now; sourced: register.
if [[ $funcstack[1] == _ngrelay-ctl ]]; then
    _ngrelay_ctl "$@"
else
    compdef _ngrelay_ctl ngrelay-ctl
fi
`
