#!/usr/bin/env bash
# Scale-out on this machine (issue 34, point 6): how many live streams 1,
# 2 and 3 instances behind nginx keep up, per core, against one instance
# alone; and what the Redis hop adds to a watcher's interims and finals.
# Prints a table and writes bench/results/instances-STAMP-COMMIT.json.
#
#   bench/instances.sh              accurate profile, about 15 minutes
#   PROFILE=fast bench/instances.sh
#   HOP_STREAMS=N                   streams of the hop measurement (6)
#   BALANCE=round_robin             nginx without deploy/nginx.conf's
#                                   least_conn: `verbatim bench load`,
#                                   like the web app, makes each stream's
#                                   transcription with a POST before its
#                                   WebSocket, and round robin over those
#                                   pairs of requests, all at once, put
#                                   every WebSocket on one of two instances
#
# Configurations, each on fresh servers (needs 2 cores; cores 0 and 1):
#   alone  one instance, SQLite, in-process bus, no nginx; cores 0-1,
#          --workers 2 (the embedded default)
#   single the control: one instance as alone but on core 0 only,
#          --workers 1 (its ceiling is one core's): what a one-core,
#          one-worker instance holds, with no other instance beside it
#   one    one instance, PostgreSQL, Redis bus, behind nginx; cores 0-1,
#          --workers 2
#   two    two instances, as "one", each pinned to its own core,
#          --workers 1
#   three  three instances, as "one", --workers 1 each, all on cores 0-1:
#          two cores do not split into three whole ones, so each gets a
#          CPU quota of 2/3 core (cgroup v1 cpu.cfs_quota_us) where the
#          cgroup is writable, else they share the cores unbounded
# nginx, Redis, PostgreSQL and the load generator are not pinned: on two
# cores they share them with the instances; their CPU time is measured.
#
# Every figure is set against the recogniser's own speed at that moment,
# since this machine's speed drifts: before each configuration and after
# the last, a copy of `verbatim bench engine` runs on each core at once;
# a configuration's ceiling is cores / their mean CPU s per audio s,
# averaged over the measurements before and after it.  A configuration's
# knee (the most streams that keep up: interim lag p95 and the latest
# final after its endpoint both under 1 s, as bench/run.sh counts) is
# found by steps of 2 from a guess, then 1; each step's streams play the
# LibriVox recording out of step (bench/run.sh's spread set) through one
# `verbatim bench load`, on fresh instances warmed up to their share.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
. tests/lib/postgres.sh
for tool in redis-server redis-cli nginx psql python3 taskset curl openssl; do
    command -v "$tool" >/dev/null ||
        { echo "bench/instances.sh: $tool is missing (scripts/deps.sh test installs it)" >&2; exit 127; }
done
[ "$(nproc)" -ge 2 ] || { echo "bench/instances.sh: needs cores 0 and 1" >&2; exit 1; }
build_verbatim
profile=${PROFILE:-accurate}
hop_streams=${HOP_STREAMS:-6}
balance=${BALANCE:-least_conn}
case "$balance" in least_conn | round_robin) ;;
*) echo "bench/instances.sh: BALANCE is least_conn or round_robin, not '$balance'" >&2; exit 2 ;; esac
cores=2
tick=$(getconf CLK_TCK)
work=build/instances
rm -rf "$work" && mkdir -p "$work" bench/results
conc=$work/conversation.raw
conversation_of $(librivox_files) > "$conc"
head -c 96000 "$conc" > "$work/warm.raw"
run_on_bytes=96000 # streams play on for up to 3 s more (bench/run.sh)

base=$((20000 + RANDOM % 20000))
redis_port=$((base + 20)) nginx_dir=$PWD/$work/nginx # nginx wants it whole
inst=() inst_ports=() groups=() nginx_up=0
stop_instances() {
    local p
    for p in "${inst[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${inst[@]}"; do wait "$p" 2>/dev/null || true; done
    inst=() inst_ports=()
    for p in "${groups[@]}"; do rmdir "$p" 2>/dev/null || true; done
    groups=()
}
stop_nginx() {
    if [ "$nginx_up" = 1 ]; then tests/lib/nginx.sh stop "$nginx_dir"; nginx_up=0; fi
}
cleanup() { stop_instances; stop_nginx; kill_pids; pg_cleanup; }
trap cleanup EXIT

# ---- the recogniser's speed ---------------------------------------------
# engine_rtf: a copy of the recogniser on each core at once (every core
# busy, as under load); prints their mean CPU s per audio s and records
# each core's in $work/engine_runs (it runs in a subshell).
engine_rtf() {
    local c e=() r sum=0
    for c in 0 1; do
        taskset -c "$c" "$bin" bench engine --profile "$profile" "$conc" \
            > "$work/engine.$c.json" 2>/dev/null &
        e+=($!)
    done
    wait "${e[@]}"
    for c in 0 1; do
        r=$(json_field "$(cat "$work/engine.$c.json")" rtf_cpu)
        echo "$r" >> "$work/engine_runs"
        sum=$(calc "$sum + $r")
    done
    calc "$sum / 2"
}

# ---- the processes' CPU time --------------------------------------------
# tree_ticks PID: PID's CPU time with its children's, reaped or alive
# (PostgreSQL's backends, nginx's worker).
tree_ticks() {
    local c sum
    sum=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat")
    for c in $(pgrep -P "$1"); do sum=$((sum + $(cpu_ticks "$c" 2>/dev/null || echo 0))); done
    echo "$sum"
}
# snapshot: the ticks of the instances, nginx, Redis and PostgreSQL, one
# line.
snapshot() {
    local s=0 p
    for p in "${inst[@]}"; do s=$((s + $(cpu_ticks "$p"))); done
    echo "$s $([ "$nginx_up" = 1 ] && tree_ticks "$(cat "$nginx_dir/nginx.pid")" || echo 0)" \
        "$([ -n "${redis:-}" ] && cpu_ticks "$redis" || echo 0)" \
        "$([ -n "${postmaster:-}" ] && tree_ticks "$postmaster" || echo 0)"
}

# busy_ticks: the ticks every core has spent busy since boot (/proc/stat).
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# ---- servers ------------------------------------------------------------
# start_instance PORT DB BUS CPUS WORKERS [QUOTA]: an instance pinned to
# CPUS; with QUOTA (microseconds of CPU per 100 ms), in a cgroup of its
# own limited to that.  Returns once its recogniser is ready.
start_instance() {
    local port=$1 db=$2 bus=$3 cpus=$4 workers=$5 quota=${6:-} busflag=()
    [ -n "$bus" ] && busflag=(--bus "$bus")
    taskset -c "$cpus" "$bin" serve --host 127.0.0.1 --port "$port" --db "$db" \
        "${busflag[@]}" --workers "$workers" --max-sessions 200 --max-lag-ms 0 \
        --max-load 0 --profile "$profile" --log-level warn 2>>"$work/server.$port.log" &
    inst+=($!) inst_ports+=("$port")
    if [ -n "$quota" ]; then
        local g=/sys/fs/cgroup/cpu/vb-instances-$$-$port
        mkdir "$g"
        groups+=("$g")
        echo 100000 > "$g/cpu.cfs_period_us"
        echo "$quota" > "$g/cpu.cfs_quota_us"
        echo "$!" > "$g/cgroup.procs" # moves every thread it has
    fi
    until curl -sf "http://127.0.0.1:$port/api/health" | grep -q '"recogniser":"ready"'; do
        kill -0 "$!" 2>/dev/null ||
            { echo "bench/instances.sh: an instance stopped (see $work/server.$port.log)" >&2; exit 1; }
        sleep 0.05
    done
}
# Can the three instances have a quota each (cgroup v1 cpu controller)?
quota_ok=false
if mkdir "/sys/fs/cgroup/cpu/vb-instances-$$-probe" 2>/dev/null; then
    rmdir "/sys/fs/cgroup/cpu/vb-instances-$$-probe" && quota_ok=true
fi

pg_start >/dev/null
postmaster=$(head -1 "$PG_TMP/data/postmaster.pid")
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$work" > "$work/redis.log" 2>&1 &
redis=$!
pids+=("$redis")
until redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; do
    kill -0 "$redis" 2>/dev/null || { echo "bench/instances.sh: redis-server stopped" >&2; exit 1; }
    sleep 0.05
done

# start_instances NAME: the instances of configuration NAME (see the
# top), its database made already; sets shape (how they were pinned).
start_instances() {
    local name=$1 db="$VERBATIM_TEST_PG/vb_$1" bus=redis://127.0.0.1:$redis_port
    case "$name" in
    alone)
        start_instance $((base + 1)) "$work/alone.sqlite" "" 0,1 2
        shape="cores 0-1, --workers 2, SQLite, in-process bus, no nginx" ;;
    single)
        start_instance $((base + 1)) "$work/single.sqlite" "" 0 1
        shape="core 0 only, --workers 1, SQLite, in-process bus, no nginx" ;;
    one)
        start_instance $((base + 1)) "$db" "$bus" 0,1 2
        shape="cores 0-1, --workers 2" ;;
    two)
        # The first creates the database's tables before the others start.
        start_instance $((base + 1)) "$db" "$bus" 0 1
        start_instance $((base + 2)) "$db" "$bus" 1 1
        shape="core 0 and core 1, --workers 1 each" ;;
    three)
        local q= i
        [ "$quota_ok" = true ] && q=66667
        for i in 1 2 3; do start_instance $((base + i)) "$db" "$bus" 0,1 1 "$q"; done
        shape="all on cores 0-1, --workers 1 each, $([ -n "$q" ] &&
            echo "a 2/3-core CPU quota each" || echo "no quota (cgroup not writable): shared")" ;;
    esac
}
# start_config NAME: its database, instances and nginx; sets url (where
# the load goes) and shape.
start_config() {
    local direct=0
    [ "$1" = alone ] || [ "$1" = single ] && direct=1
    [ "$direct" = 1 ] || psql -q "$VERBATIM_TEST_PG/postgres" -c "CREATE DATABASE vb_$1"
    start_instances "$1"
    if [ "$direct" = 1 ]; then
        url=ws://127.0.0.1:$((base + 1))
    else
        tests/lib/nginx.sh start "$nginx_dir" $((base + 10)) $((base + 11)) $((base + 12)) \
            "${inst_ports[@]}" >/dev/null
        nginx_up=1
        if [ "$balance" = round_robin ]; then
            sed -i '/^    least_conn;$/d' "$nginx_dir/site.conf"
            nginx -p "$nginx_dir" -c "$nginx_dir/nginx.conf" -e "$nginx_dir/error.log" -s reload
            sleep 0.5 # the old worker hands over to the new one
        fi
        url=ws://127.0.0.1:$((base + 10))
        curl -sf "http://127.0.0.1:$((base + 10))/api/health" -o /dev/null
    fi
}

# ---- one load -----------------------------------------------------------
# load_step N: N streams through url, each instance warmed up to its share
# first; sets ok, ip95, fmax, and the CPU s per audio s of the instances
# (cpu_inst), nginx, Redis, PostgreSQL and the load generator (cpu_nginx,
# cpu_redis, cpu_pg, cpu_load; all five in step_cpu).
load_step() {
    local n=$1 k port w=() before after lg lg_ticks=0 audio_s
    rm -f "$work"/play.*.raw "$work"/t.*
    # Fresh instances each step, as bench/run.sh has a fresh server: what
    # one step leaves behind (a backlog, decoders) does not weigh on the
    # next.  The database and nginx stay.
    stop_instances
    start_instances "$cfg"
    k=${#inst_ports[@]}
    play_set "$conc" "$n" 1 "$run_on_bytes" "$work"
    # nginx hands new connections round: each instance gets about n / k.
    for port in "${inst_ports[@]}"; do
        ( warm_up "$bin" "$port" $(((n + k - 1) / k)) "$work/warm.raw" ) &
        w+=($!)
    done
    wait "${w[@]}"
    before=$(snapshot) busy0=$(busy_ticks) t0=$(date +%s.%N)
    "$bin" bench load --url "$url" --timings "$work/t" --sample-rate 16000 \
        "$work"/play.*.raw > "$work/load.out" 2> "$work/load.err" &
    lg=$!
    pids+=("$lg")
    # Its last reading before it exits is its CPU time, give or take 0.5 s.
    while kill -0 "$lg" 2>/dev/null; do
        lg_ticks=$(cpu_ticks "$lg" 2>/dev/null || echo "$lg_ticks")
        sleep 0.5
    done
    local closed=true
    wait "$lg" || closed=false
    after=$(snapshot) busy1=$(busy_ticks) t1=$(date +%s.%N)
    audio_s=$(cat "$work"/play.*.raw | wc -c | awk '{ print $1 / 32000 }')
    read -r cpu_inst cpu_nginx cpu_redis cpu_pg < <(awk -v a="$audio_s" -v hz="$tick" \
        -v b="$before" -v c="$after" 'BEGIN { split(b, x); split(c, y)
            for (i = 1; i <= 4; i++) printf "%.4f ", (y[i] - x[i]) / hz / a; print "" }')
    cpu_load=$(calc "$lg_ticks / $tick / $audio_s")
    # Cores busy with anything else meanwhile (another test suite, say):
    # the machine's busy time less what the measured processes used.
    others=$(awk -v b="$before" -v c="$after" -v busy=$((busy1 - busy0)) -v l="$lg_ticks" \
        -v hz="$tick" -v s="$(calc "$t1 - $t0")" 'BEGIN { split(b, x); split(c, y)
            for (i = 1; i <= 4; i++) busy -= y[i] - x[i]
            v = (busy - l) / hz / s; printf "%.2f", v < 0 ? 0 : v }')
    lag_lines "$work"/t.* > "$work/lags"
    ip95=$(percentiles i .95 < "$work/lags") fmax=$(percentiles f 1 < "$work/lags")
    ok=$(kept_up "$ip95" "$fmax")
    # A stream the server closed badly did not keep up either.
    [ "$closed" = true ] || ok=false
    printf '  %-6s %3d streams  interim p95 %5s s  final max %5s s  %-5s  CPU s per audio s: instances %s nginx %s redis %s postgres %s load %s; other work %s cores\n' \
        "$cfg" "$n" "$ip95" "$fmax" "$ok" "$cpu_inst" "$cpu_nginx" "$cpu_redis" "$cpu_pg" "$cpu_load" "$others"
    steps_json="$steps_json${steps_json:+, }{\"streams\": $n, \"interim_lag_p95_s\": $ip95, \"final_lag_max_s\": $fmax, \"all_closed_normally\": $closed, \"keeps_up\": $ok, \"cpu_per_audio_s\": {\"instances\": $cpu_inst, \"nginx\": $cpu_nginx, \"redis\": $cpu_redis, \"postgres\": $cpu_pg, \"load_generator\": $cpu_load}, \"other_work_cores\": $others}"
    step_cpu="$cpu_inst $cpu_nginx $cpu_redis $cpu_pg $cpu_load $others"
}

# knee_search GUESS: steps of 2 from GUESS until one keeps up and one does
# not, then the count between; sets knee (0: not even 1 stream) and
# knee_cpu (step_cpu of the knee's step).
knee_search() {
    local n=$1 lo=0 hi=0 steps=0
    while [ "$steps" -lt 8 ]; do
        load_step "$n"
        steps=$((steps + 1))
        if [ "$ok" = false ]; then hi=$n
        elif [ "$n" -gt "$lo" ]; then lo=$n knee_cpu=$step_cpu; fi
        if [ "$hi" -gt 0 ] && [ $((hi - lo)) -le 1 ]; then break; fi
        if [ "$hi" = 0 ]; then n=$((n + 2))
        elif [ "$lo" = 0 ]; then n=$((n > 2 ? n - 2 : 1))
        else n=$(((lo + hi) / 2)); fi
        # Known already: a count at or above one that failed, at or below
        # one that kept up.
        if [ "$hi" -gt 0 ] && [ "$n" -ge "$hi" ]; then break; fi
    done
    knee=$lo knee_bracketed=$([ "$hi" -gt 0 ] && echo true || echo false)
}

# hop PORT_A PORT_B KIND WHERE: hop.py's figures (ms after the streaming
# client) for results of KIND (i or f) seen by watcher WHERE, p50 and p95.
hop_figures() {
    awk -v w="$2" '$2 == w { print $1, $3 }' "$work/hop.$1" | percentiles "$3" .5 .95
}
hop_count() { awk -v w="$2" -v k="$3" '$2 == w && $1 == k' "$work/hop.$1" | wc -l; }

# ---- the run ------------------------------------------------------------
commit=$(git rev-parse --short HEAD)
started=$(date +%s)
echo "bench/instances.sh: commit $commit, profile $profile, $cores cores"
rtf_prev=$(engine_rtf)
engine_all=$rtf_prev
configs_json="" rows=() guess=
declare -A knee_of ceiling_of per_core_of
for cfg in alone single one two three; do
    ncores=$([ "$cfg" = single ] && echo 1 || echo "$cores")
    start_config "$cfg"
    if [ "$cfg" = alone ] || [ "$cfg" = two ]; then
        # Watchers on the instance streamed to (in-process bus, or Redis
        # for both) and, with two, on the other one (Redis).
        python3 bench/hop.py "${inst_ports[0]}" "${inst_ports[1]:-0}" "$conc" "$hop_streams" \
            > "$work/hop.$cfg" 2> "$work/hop.$cfg.err"
    fi
    steps_json="" knee_cpu="null null null null null null"
    ceil_now=$(calc "$ncores / $rtf_prev" 2)
    [ -n "$guess" ] || guess=$(awk -v c="$ceil_now" 'BEGIN { printf "%d", c * 0.75 }')
    kept_guess=$guess
    [ "$cfg" = single ] && guess=$(awk -v c="$ceil_now" 'BEGIN { g = int(c * 0.6); print (g < 1 ? 1 : g) }')
    echo "$cfg: $shape (ceiling before: $ceil_now streams)"
    knee_search "$guess"
    stop_instances
    stop_nginx
    rtf_next=$(engine_rtf)
    engine_all="$engine_all $rtf_next"
    ceiling=$(calc "2 * $ncores / ($rtf_prev + $rtf_next)" 2)
    knee_of[$cfg]=$knee ceiling_of[$cfg]=$ceiling
    per_core_of[$cfg]=$(calc "$knee / $ncores" 2)
    # The next configuration starts from this knee, scaled to the speed
    # the recogniser has now (after the one-core control, from the knee
    # before it).
    [ "$cfg" = single ] && knee_for_guess=$kept_guess || knee_for_guess=$knee
    guess=$(awk -v k="$knee_for_guess" -v a="$rtf_prev" -v b="$rtf_next" \
        'BEGIN { g = int(k * a / b + 0.5); print (g < 1 ? 1 : g) }')
    read -r ci cn cr cp cl co <<<"$knee_cpu"
    configs_json="$configs_json${configs_json:+, }\"$cfg\": {\"shape\": \"$shape\", \"instances\": $([ "$cfg" = three ] && echo 3 || { [ "$cfg" = two ] && echo 2 || echo 1; }), \"engine_rtf_cpu_before\": $rtf_prev, \"engine_rtf_cpu_after\": $rtf_next, \"ceiling_streams\": $ceiling, \"knee_streams\": $knee, \"knee_bracketed\": $knee_bracketed, \"streams_per_core\": ${per_core_of[$cfg]}, \"knee_over_ceiling\": $(calc "$knee / $ceiling" 3), \"cpu_per_audio_s_at_knee\": {\"instances\": $ci, \"nginx\": $cn, \"redis\": $cr, \"postgres\": $cp, \"load_generator\": $cl}, \"other_work_cores_at_knee\": $co, \"steps\": [$steps_json]}"
    rows+=("$(printf '%-6s %-9s %-6s %-9s %-12s %-16s %s / %s / %s / %s / %s   %s' "$cfg" \
        "$ceiling" "$knee" "${per_core_of[$cfg]}" "$(calc "$knee / $ceiling" 3)" \
        "$(calc "($knee / $ceiling) / (${knee_of[alone]} / ${ceiling_of[alone]} + 0.000001)" 3)" \
        "$ci" "$cn" "$cr" "$cp" "$cl" "$co")")
    rtf_prev=$rtf_next
done
elapsed=$(($(date +%s) - started))
engine_runs=" $(tr '\n' ' ' < "$work/engine_runs" | sed 's/ $//')"

# The recogniser's noise over the run: its figures' spread, each a mean of
# the two cores, and the cores' runs one by one.
read -r rtf_min rtf_max < <(tr ' ' '\n' <<<"$engine_all" | sort -g |
    awk 'NF { a[++n] = $1 } END { print a[1], a[n] }')
spread=$(calc "100 * ($rtf_max - $rtf_min) / $rtf_min" 0)
ratio() { calc "(${knee_of[$1]} / ${ceiling_of[$1]}) / (${knee_of[$2]} / ${ceiling_of[$2]} + 0.000001)" 3; }

read -r mi50 mi95 < <(hop_figures alone a i)
read -r mf50 mf95 < <(hop_figures alone a f)
read -r ai50 ai95 < <(hop_figures two a i)
read -r af50 af95 < <(hop_figures two a f)
read -r bi50 bi95 < <(hop_figures two b i)
read -r bf50 bf95 < <(hop_figures two b f)
added() { calc "$1 - $2" 3; }

stamp=$(date -u +%Y%m%dT%H%M%SZ)
result="bench/results/instances-$stamp-$commit.json"
cat > "$result" <<JSON
{
  "commit": "$commit", "date": "$stamp", "cores": $cores, "profile": "$profile",
  "elapsed_s": $elapsed,
  "engine_rtf_cpu_all_cores": [$(sed 's/^ //; s/ /, /g' <<<"$engine_all")],
  "engine_rtf_cpu_each_core": [$(sed 's/^ //; s/ /, /g' <<<"$engine_runs")],
  "engine_spread_pct": $spread,
  "three_instances_cpu_quota": $quota_ok, "nginx_balance": "$balance",
  "configs": {$configs_json},
  "per_core_over_alone": {"single": $(ratio single alone), "one": $(ratio one alone), "two": $(ratio two alone), "three": $(ratio three alone)},
  "per_core_over_single": {"two": $(ratio two single), "three": $(ratio three single)},
  "per_core_over_one": {"two": $(ratio two one), "three": $(ratio three one)},
  "hop_ms_after_client": {
    "streams": $hop_streams,
    "in_process_watcher": {"interim_p50": $mi50, "interim_p95": $mi95, "final_p50": $mf50, "final_p95": $mf95,
                           "interims": $(hop_count alone a i), "finals": $(hop_count alone a f)},
    "redis_watcher_same_instance": {"interim_p50": $ai50, "interim_p95": $ai95, "final_p50": $af50, "final_p95": $af95,
                                    "interims": $(hop_count two a i), "finals": $(hop_count two a f)},
    "redis_watcher_other_instance": {"interim_p50": $bi50, "interim_p95": $bi95, "final_p50": $bf50, "final_p95": $bf95,
                                     "interims": $(hop_count two b i), "finals": $(hop_count two b f)}},
  "hop_added_ms": {"interim_p50": $(added "$bi50" "$mi50"), "interim_p95": $(added "$bi95" "$mi95"),
                   "final_p50": $(added "$bf50" "$mf50"), "final_p95": $(added "$bf95" "$mf95")}
}
JSON
cat <<TABLE

Several instances, commit $commit, profile $profile, $cores cores ($((elapsed / 60)) min)
recogniser alone, a copy on each core at once (CPU s per audio s): $engine_all
  (spread over the run $spread %; each core's runs:$engine_runs)
config ceiling   knee   per core  knee/ceiling per core / alone's  CPU s per audio s at the knee:            other work
                                               (both vs ceiling)   instances / nginx / redis / postgres / load   (cores busy)
$(printf '%s\n' "${rows[@]}")
per core against one instance alone (knee / ceiling over alone's): single $(ratio single alone), one $(ratio one alone), two $(ratio two alone), three $(ratio three alone)
against the one-core, one-worker instance alone (single): two $(ratio two single), three $(ratio three single)
against one instance behind nginx with PostgreSQL and Redis: two $(ratio two one), three $(ratio three one)
three instances: $([ "$quota_ok" = true ] && echo "a 2/3-core CPU quota each" || echo "no quota, shared cores"); nginx balancing: $balance

a watcher's results, ms after the streaming client has them (p50 / p95; $hop_streams streams):
  in-process bus, same instance     interims $mi50 / $mi95   finals $mf50 / $mf95
  Redis bus, same instance          interims $ai50 / $ai95   finals $af50 / $af95
  Redis bus, the other instance     interims $bi50 / $bi95   finals $bf50 / $bf95
  the Redis hop adds (other instance - in-process): interims $(added "$bi50" "$mi50") / $(added "$bi95" "$mi95") ms, finals $(added "$bf50" "$mf50") / $(added "$bf95" "$mf95") ms
written to $result
TABLE
