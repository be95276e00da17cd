#!/bin/sh
# shellcheck disable=SC2046  # word splitting of "set -- $(...)" is meant
# bench_http.sh: HTTP benchmark of inferd with wrk.  Starts inferd on free
# loopback ports and measures, for GET /predict and POST /predict (one
# 30-feature row, contrib/wrk/post.lua): requests/s, p50/p99 latency as
# wrk reports them, and the server's CPU time per request (utime+stime of
# the master and its workers from /proc, before and after the run).
# While GET /predict is under load it times scrapes of /metrics.  Then it
# compares prediction_latency_seconds_count with what wrk counted, stops
# inferd with SIGTERM and checks exit 0, no worker left and no
# /dev/shm/inferd.<pid> left.  Not part of make check; see bench/README.md.
#
#   cd BUILDDIR && sh SRCDIR/bench/bench_http.sh [-w workers] [-d duration]
#       [-c connections] [-t threads] [-n scrapes] [-b inferd] [-m model]
#
# Environment (options win): INFERD_BIN (./src/inferd), WORKERS (2),
# DURATION (10s), CONNECTIONS (50), THREADS (1), SCRAPES (100),
# MODEL (SRCDIR/models/breast_cancer.json), POST_LUA
# (SRCDIR/contrib/wrk/post.lua).  Exit status: 0 if inferd started, served,
# and stopped cleanly (a count mismatch is reported, not failed); 1 if not.

set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(dirname "$here")
bin=${INFERD_BIN:-./src/inferd}
workers=${WORKERS:-2}
duration=${DURATION:-10s}
conns=${CONNECTIONS:-50}
threads=${THREADS:-1}
scrapes=${SCRAPES:-100}
model=${MODEL:-$srcdir/models/breast_cancer.json}
post_lua=${POST_LUA:-$srcdir/contrib/wrk/post.lua}

usage() {
	echo "usage: $0 [-w workers] [-d duration] [-c connections]" \
	    "[-t threads] [-n scrapes] [-b inferd] [-m model]" >&2
	exit 1
}

while getopts w:d:c:t:n:b:m:h opt; do
	case $opt in
	w) workers=$OPTARG ;;
	d) duration=$OPTARG ;;
	c) conns=$OPTARG ;;
	t) threads=$OPTARG ;;
	n) scrapes=$OPTARG ;;
	b) bin=$OPTARG ;;
	m) model=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage

for tool in wrk curl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench_http: $tool not found (Debian package $tool)" >&2
		exit 1
	fi
done
if [ ! -x "$bin" ]; then
	echo "bench_http: $bin is not an executable (set INFERD_BIN or -b)" >&2
	exit 1
fi
if ! grep -q '/predict' "$post_lua" || ! grep -q '"features"' "$post_lua"
then
	echo "bench_http: $post_lua does not POST {\"features\":[...]}" \
	    "to /predict" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/inferd-bench.XXXXXX")
pid=
wrk_pid=
dog_pid=
hz=$(getconf CLK_TCK)

# shellcheck disable=SC2317
# cleanup: end every process this script started, by pid, and remove tmp.
cleanup() {
	for p in $wrk_pid $dog_pid; do
		kill $(children "$p") "$p" 2>/dev/null
	done
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		ws=$(children "$pid")
		kill -TERM "$pid" 2>/dev/null
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null
		for w in $ws; do
			kill -KILL "$w" 2>/dev/null
		done
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# children PID: the pids of PID's children.
children() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v m="$1" '{
		r = $0; sub(/^.*\) /, "", r); split(r, f, " ")
		if (f[2] == m) print $1
	}'
}

# cpu_ticks PID: "MASTER WORKERS" clock ticks of CPU (user+system):
# MASTER of PID itself, WORKERS of its live children plus those it reaped.
cpu_ticks() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v m="$1" '{
		r = $0; sub(/^.*\) /, "", r); split(r, f, " ")
		if ($1 == m) { mt = f[12] + f[13]; wt += f[14] + f[15] }
		else if (f[2] == m) wt += f[12] + f[13]
	} END { printf "%d %d\n", mt, wt }'
}

# metric NAME_REGEX: the sum of the samples of /metrics matching it.
metric() {
	curl -s --max-time 5 "http://$host:$mport/metrics" |
	    awk -v re="$1" '$1 ~ re { s += $NF } END { printf "%d\n", s }'
}

# wrk_field FILE WHAT: requests, rps, p50, p99, non2xx or errors from a
# wrk --latency output.
wrk_field() {
	case $2 in
	requests) awk '/ requests in / { print $1 }' "$1" ;;
	secs) awk '/ requests in / { sub(/s,$/, "", $4); print $4 }' "$1" ;;
	rps) awk '/^Requests\/sec:/ { print $2 }' "$1" ;;
	p50) awk '$1 == "50%" { print $2 }' "$1" ;;
	p99) awk '$1 == "99%" { print $2 }' "$1" ;;
	non2xx) awk '/Non-2xx/ { n = $NF } END { print n + 0 }' "$1" ;;
	errors) awk '/Socket errors:/ { sub(/^ *Socket errors: */, "");
	    e = $0 } END { print (e == "" ? "none" : e) }' "$1" ;;
	esac
}

# run_wrk NAME URL [ARGS...]: run wrk in the background, output in
# $tmp/NAME.out; the /proc stat of the sh that waited for it (whose
# cutime+cstime is wrk's own CPU) in $tmp/NAME.stat.
run_wrk() {
	name=$1
	url=$2
	shift 2
	sh -c 'wrk "$@"; rc=$?; cat /proc/$$/stat >"$0.stat"; exit $rc' \
	    "$tmp/$name" \
	    -t"$threads" -c"$conns" -d"$duration" --latency "$@" "$url" \
	    >"$tmp/$name.out" 2>&1 &
	wrk_pid=$!
}

# percentiles FILE: "p50 p99 max n" (nearest rank, ms) of seconds in FILE.
percentiles() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - - 0"; exit }
		i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++
		i99 = int(NR * 0.99); if (i99 < NR * 0.99) i99++
		printf "%.2f %.2f %.2f %d\n", v[i50] * 1000, v[i99] * 1000,
		    v[NR] * 1000, NR
	}'
}

# measure NAME: wait for the wrk started by run_wrk NAME, with the CPU
# and prediction counts around it; results in $tmp/NAME.res.
cpu_before=
cnt_before=
# busy_ticks: "BUSY STEAL" clock ticks of the whole machine, /proc/stat.
busy_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $9 }' /proc/stat
}
measure_start() {
	busy_before=$(busy_ticks)
	cpu_before=$(cpu_ticks "$pid")
	cnt_before=$(metric '^prediction_latency_seconds_count$')
}
measure_end() {
	wait "$wrk_pid"
	wrk_rc=$?
	wrk_pid=
	cpu_after=$(cpu_ticks "$pid")
	busy_after=$(busy_ticks)
	cnt_after=$(metric '^prediction_latency_seconds_count$')
	cat "$tmp/$1.out"
	if [ $wrk_rc -ne 0 ]; then
		echo "bench_http: wrk exited $wrk_rc" >&2
		exit 1
	fi
	req=$(wrk_field "$tmp/$1.out" requests)
	if [ -z "$req" ] || [ "$req" -eq 0 ]; then
		echo "bench_http: wrk completed no request" >&2
		exit 1
	fi
	set -- "$1" $cpu_before $cpu_after $busy_before $busy_after
	echo "$2 $3 $4 $5 $cnt_before $cnt_after $req $6 $7 $8 $9" |
	    awk -v hz="$hz" \
	    -v wcpu="$(sed 's/^.*) //' "$tmp/$1.stat" |
	    awk '{ print $14 + $15 }')" \
	    -v secs="$(wrk_field "$tmp/$1.out" secs)" '{
		m = $3 - $1; w = $4 - $2; req = $7
		busy = $10 - $8; steal = $11 - $9
		other = busy - m - w - wcpu; if (other < 0) other = 0
		printf "%.1f %.1f %.1f %d %d %.2f %.2f %.2f %.2f\n",
		    (m + w) / hz * 1e6 / req, w / hz * 1e6 / req,
		    wcpu / hz * 1e6 / req, req, $6 - $5,
		    (m + w) / hz / secs, wcpu / hz / secs,
		    other / hz / secs, steal / hz / secs
	}' >"$tmp/$1.res"
}

# --- start inferd ---------------------------------------------------------
echo "== bench_http: $(nproc) CPUs, load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg) before start"
others=$(ps -eo pid=,args= | grep -E '[i]nferd: master|[w]rk ' |
    grep -v "^ *$$ " | wc -l)
if [ "$others" -gt 0 ]; then
	echo "== warning: $others other inferd master / wrk processes are" \
	    "running; the figures share the CPUs with them:"
	ps -eo pid=,pcpu=,args= | grep -E '[i]nferd: master|[w]rk ' |
	    sed 's/^/   /'
fi

"$bin" -w "$workers" -l 127.0.0.1:0 -m 127.0.0.1:0 --model "$model" \
    2>"$tmp/inferd.log" &
pid=$!
i=0
while ! grep -q 'ready:' "$tmp/inferd.log"; do
	if ! kill -0 "$pid" 2>/dev/null || [ $i -ge 100 ]; then
		echo "bench_http: inferd did not become ready:" >&2
		cat "$tmp/inferd.log" >&2
		exit 1
	fi
	sleep 0.1
	i=$((i + 1))
done
cat "$tmp/inferd.log"
hostport=$(sed -n 's/.*http listening on \(.*\)$/\1/p' "$tmp/inferd.log")
mhostport=$(sed -n 's/.*metrics listening on \(.*\)$/\1/p' \
    "$tmp/inferd.log")
host=${hostport%:*}
port=${hostport##*:}
mport=${mhostport##*:}
wpids=$(children "$pid")
echo "== inferd pid $pid, workers $(echo $wpids), http $host:$port," \
    "metrics $host:$mport"

# --- GET /predict, with /metrics scraped meanwhile ------------------------
echo
echo "== GET /predict: wrk -t$threads -c$conns -d$duration --latency" \
    "http://$host:$port/predict"
measure_start
run_wrk get "http://$host:$port/predict"
sleep 1
: >"$tmp/scrape.all"
i=0
while [ $i -lt "$scrapes" ]; do
	alive=0
	kill -0 "$wrk_pid" 2>/dev/null && alive=1
	curl -s -o /dev/null --max-time 5 -w "$alive %{http_code} %{time_total}\n" \
	    "http://$host:$mport/metrics" >>"$tmp/scrape.all"
	i=$((i + 1))
	sleep 0.05
done
measure_end get
awk '$1 == 1 && $2 == 200 { print $3 }' "$tmp/scrape.all" >"$tmp/scrape.ok"
scrape_bad=$(awk '$2 != 200' "$tmp/scrape.all" | wc -l)
scrape_idle=$(awk '$1 != 1' "$tmp/scrape.all" | wc -l)
set -- $(percentiles "$tmp/scrape.ok")
s50=$1 s99=$2 smax=$3 sn=$4

# --- POST /predict --------------------------------------------------------
echo
echo "== POST /predict: wrk -t$threads -c$conns -d$duration --latency" \
    "-s $post_lua http://$host:$port"
measure_start
run_wrk post "http://$host:$port" -s "$post_lua"
measure_end post

total_count=$(metric '^prediction_latency_seconds_count$')
total_http=$(metric '^inferd_http_requests_total[{]handler="/predict",')

# --- stop -----------------------------------------------------------------
status=0
kill -TERM "$pid"
(sleep 30; kill -KILL "$pid" 2>/dev/null) &
dog_pid=$!
wait "$pid"
rc=$?
kill "$dog_pid" 2>/dev/null
dog_pid=
stopped_pid=$pid
pid=
echo
echo "== inferd log:"
cat "$tmp/inferd.log"
left=
for w in $wpids; do
	kill -0 "$w" 2>/dev/null && left="$left $w"
done
if [ "$rc" -eq 0 ]; then
	echo "== stop: inferd exited 0 after SIGTERM"
else
	echo "== stop: FAIL: inferd exited $rc after SIGTERM"
	status=1
fi
if [ -n "$left" ]; then
	echo "== stop: FAIL: workers still alive:$left"
	status=1
fi
if [ -e "/dev/shm/inferd.$stopped_pid" ]; then
	echo "== stop: FAIL: /dev/shm/inferd.$stopped_pid left behind"
	status=1
else
	echo "== stop: /dev/shm/inferd.$stopped_pid removed"
fi
for f in /dev/shm/inferd.*; do
	[ -e "$f" ] || continue
	owner=${f##*.}
	if kill -0 "$owner" 2>/dev/null; then
		echo "== stop: note: $f belongs to another running process" \
		    "$owner ($(ps -o args= -p "$owner"))"
	else
		echo "== stop: note: $f was left by another, dead, process" \
		    "$owner (not this run's inferd $stopped_pid)"
	fi
done

# --- summary --------------------------------------------------------------
echo
echo "== summary: inferd -w $workers, wrk -t$threads -c$conns -d$duration," \
    "$(nproc) CPUs shared by wrk and inferd"
fmt='%-13s %9s %9s %9s %8s %6s %7s %8s %5s %5s %5s %5s %7s\n'
# shellcheck disable=SC2059
printf "$fmt" run req/s p50 p99 requests non2xx 'us/req' 'wrk us/r' \
    'srv' 'wrk' 'other' 'steal' 'srv-wrk'
for name in get post; do
	set -- $(cat "$tmp/$name.res")
	label="GET /predict"
	[ $name = post ] && label="POST /predict"
	# shellcheck disable=SC2059
	printf "$fmt" "$label" \
	    "$(wrk_field "$tmp/$name.out" rps)" \
	    "$(wrk_field "$tmp/$name.out" p50)" \
	    "$(wrk_field "$tmp/$name.out" p99)" \
	    "$4" "$(wrk_field "$tmp/$name.out" non2xx)" "$1" "$3" "$6" "$7" \
	    "$8" "$9" "$(($5 - $4))"
done
echo "us/req: CPU time (user+system) of the inferd master and workers over"
echo "the run divided by wrk's requests (workers alone: get $(cut -d' ' -f2 \
    "$tmp/get.res"), post $(cut -d' ' -f2 "$tmp/post.res")); wrk us/r: wrk's"
echo "own CPU per request; srv, wrk, other, steal: CPU cores used over the"
echo "run by inferd, by wrk, by every other process on the machine (the"
echo "/metrics curl loop during GET included) and stolen by the hypervisor;"
echo "srv-wrk: prediction_latency_seconds_count delta minus wrk's requests"
for name in get post; do
	e=$(wrk_field "$tmp/$name.out" errors)
	[ "$e" = none ] || echo "wrk $name socket errors: $e"
done
echo
echo "/metrics under GET load: p50 $s50 ms, p99 $s99 ms, max $smax ms" \
    "($sn scrapes with curl during the load; $scrape_idle after it ended," \
    "$scrape_bad not 200)"
echo
for name in get post; do
	set -- $(cat "$tmp/$name.res")
	if [ "$5" -eq "$4" ]; then
		verdict="equal"
	else
		verdict="MISMATCH: server counted $(($5 - $4)) more"
	fi
	echo "count $name: wrk requests $4, prediction_latency_seconds_count" \
	    "delta $5: $verdict"
done
get_req=$(set -- $(cat "$tmp/get.res"); echo "$4")
post_req=$(set -- $(cat "$tmp/post.res"); echo "$4")
echo "count total: wrk $((get_req + post_req)), final" \
    "prediction_latency_seconds_count $total_count," \
    "inferd_http_requests_total{handler=\"/predict\"} $total_http"
echo "(wrk counts the responses it completed; inferd counts a response"
echo " right before writing it, so responses in flight when wrk stops at"
echo " the end of its duration are counted by inferd only)"
echo
echo "reproduce:"
echo "  cd $(pwd) && INFERD_BIN=$bin WORKERS=$workers DURATION=$duration" \
    "CONNECTIONS=$conns THREADS=$threads SCRAPES=$scrapes sh $here/bench_http.sh"
echo "  which runs inferd -w $workers -l 127.0.0.1:0 -m 127.0.0.1:0" \
    "--model $model, then"
echo "  wrk -t$threads -c$conns -d$duration --latency" \
    "http://127.0.0.1:PORT/predict"
echo "  wrk -t$threads -c$conns -d$duration --latency -s $post_lua" \
    "http://127.0.0.1:PORT"
exit $status
