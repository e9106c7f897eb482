#!/usr/bin/env bash
# The command line: `verbatim transcribe`, `verbatim stream` and
# `verbatim serve` as a person would run them, including their mistakes.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${VERBATIM_BIN:-build/asan/verbatim}
work=$(mktemp -d /tmp/vbcli-XXXXXX)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0
check() { # check NAME CONDITION...
    local name=$1; shift
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name"; fi
}
# expect STATUS PATTERN CMD... : runs CMD, checks its exit status and that
# its output (stdout and stderr) matches PATTERN.
expect() {
    local status=$1 pattern=$2; shift 2
    local out rc
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" -eq "$status" ] && grep -qiE -- "$pattern" <<<"$out"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $* -> exit $rc (want $status), output:"; echo "$out" | head -5
    fi
}

flite -voice slt -t "Please open the window." -o "$work/a.wav"
expect 0 '^\[ +0\.[0-9]+ - +[12]\.[0-9]+\] Please open the window\.$' "$bin" transcribe "$work/a.wav"
expect 0 '"text": "please open the window"' "$bin" transcribe --json --no-punctuate "$work/a.wav"
expect 0 '\] Please open the window\.$' "$bin" transcribe --profile fast "$work/a.wav"
expect 2 'profile must be' "$bin" transcribe --profile quick "$work/a.wav"
expect 2 'profile must be' "$bin" serve --profile quick
# The recogniser by name (--engine, VERBATIM_ENGINE) and its own settings
# (--engine-option KEY=VALUE, after the flags that stand for them).
expect 0 '\] Please open the window\.$' "$bin" transcribe --engine pocketsphinx --engine-option profile=fast "$work/a.wav"
expect 0 '\] Please open the window\.$' "$bin" transcribe --model-dir /nonexistent \
    --engine-option model-dir=/usr/share/pocketsphinx/model/en-us "$work/a.wav"
expect 0 '"words": 4, "rtf_cpu"' "$bin" bench engine --engine=pocketsphinx --engine-option profile=fast "$work/a.wav"
expect 0 '\] Please open the window\.$' env VERBATIM_ENGINE=nope "$bin" transcribe --engine pocketsphinx "$work/a.wav"
expect 2 '^verbatim serve: unknown engine "nope" \(known engines: pocketsphinx, deepgram\)$' "$bin" serve --engine nope
expect 2 '^verbatim serve: unknown engine "nope" \(known engines: pocketsphinx, deepgram\)$' env VERBATIM_ENGINE=nope "$bin" serve
# The deepgram engine needs its key; its flags are its options; a second
# engine must be another one.
expect 2 '^verbatim serve: the deepgram engine needs an API key: set DEEPGRAM_API_KEY or give --deepgram-key$' \
    env -u DEEPGRAM_API_KEY "$bin" serve --engine deepgram
expect 2 'deepgram option url must look like wss://HOST\[:PORT\]\[/PATH\], not "api.deepgram.com"' \
    env DEEPGRAM_API_KEY=k "$bin" serve --engine deepgram --deepgram-url api.deepgram.com
expect 2 'deepgram has no option "profile"' env DEEPGRAM_API_KEY=k "$bin" serve --engine deepgram --engine-option profile=fast
expect 2 '^verbatim serve: --engine-fallback must name another engine than --engine \(pocketsphinx\)$' \
    "$bin" serve --engine-fallback pocketsphinx
expect 2 '^verbatim serve: the deepgram engine needs an API key' env -u DEEPGRAM_API_KEY "$bin" serve --engine-fallback deepgram
expect 2 '^verbatim stream: --engine must be an engine.s name such as pocketsphinx$' "$bin" stream --engine 'a b' "$work/a.wav"
expect 2 '^verbatim transcribe: unknown engine "whisper"' "$bin" transcribe --engine whisper "$work/a.wav"
expect 2 '^verbatim bench: unknown engine "whisper"' env VERBATIM_ENGINE=whisper "$bin" bench engine "$work/a.wav"
expect 2 'engine option "fast" is not KEY=VALUE' "$bin" transcribe --engine-option fast "$work/a.wav"
expect 2 'pocketsphinx has no option "beam" \(its options: model-dir, ' "$bin" bench engine --engine-option beam=1e-40 "$work/a.wav"
expect 2 'pocketsphinx option spare-decoders must be a whole number from 0 to 64, not "65"' \
    "$bin" serve --engine-option spare-decoders=65
expect 2 'profile must be accurate or fast, not "quick"' "$bin" serve --profile fast --engine-option profile=quick
expect 2 '--engine-option needs a value' "$bin" serve --engine-option
expect 1 'no such file' "$bin" transcribe "$work/missing.wav"
# Every format (tests/fixtures/make.sh made them); damage keeps what came before.
fx=build/fixtures
for f in speech.mp3 speech.flac speech.m4a speech_vorbis.ogg speech_live.webm; do
    expect 0 'quick brown fox .* lazy dog' "$bin" transcribe "$fx/$f"
done
# A file that is no recording is not read as raw PCM unless flags say so;
# a pipe may be raw.
expect 1 'cli.sh is not a recording in a format .* it looks like text.* --encoding' "$bin" transcribe tests/cli.sh
head -c 64 /dev/urandom > "$work/noise.bin"
expect 1 'begins with the bytes [0-9a-f]{2} ' "$bin" transcribe "$work/noise.bin"
expect 0 'quick brown fox' "$bin" transcribe <(tail -c +45 "$fx/speech.wav")
expect 1 'cut off inside an element at byte' "$bin" transcribe "$fx/truncated.webm"
expect 1 'going on with the 1\.[0-9] s decoded' "$bin" transcribe "$fx/truncated.webm"
expect 1 '\] The quick brown fox' "$bin" transcribe "$fx/truncated.webm"
expect 0 'quick brown fox' "$bin" transcribe --sample-rate 16000 <(tail -c +45 "$fx/speech.wav")
expect 2 'usage' "$bin" transcribe
expect 0 '"files": 1, "audio_s": 1\.[0-9]+, .*"words": 4, "rtf_cpu"' "$bin" bench engine "$work/a.wav"
expect 0 'reading it as raw 16000 Hz' "$bin" bench engine <(tail -c +45 "$work/a.wav")
expect 0 '^usage: verbatim bench engine' "$bin" bench engine --help
# make run passes ARGS to the server, and builds with every core.
expect 0 'build/verbatim serve --port 8000 --db data/verbatim.db --profile fast' \
    make -n run ARGS="--profile fast"
expect 0 "-j$(nproc) build/verbatim" make -n all
# make install: the program, its web app, a manual page and completion,
# the last two made from --help.
make -s install PREFIX="$work/prefix" >/dev/null 2>&1
expect 0 '^verbatim [0-9]' "$work/prefix/bin/verbatim" --version
check "the manual page documents serve's flags" \
    grep -q -- 'max\\-watchers' "$work/prefix/share/man/man1/verbatim.1"
if command -v man >/dev/null; then
    expect 0 'ws-queue-kb' man -l "$work/prefix/share/man/man1/verbatim.1"
fi
expect 0 '^--max-watchers$' bash -c ". '$work/prefix/share/bash-completion/completions/verbatim'
    COMP_WORDS=(verbatim serve --max-w); COMP_CWORD=2; _verbatim; printf '%s\n' \"\${COMPREPLY[@]}\""
iport=$((20000 + RANDOM % 20000))
"$work/prefix/bin/verbatim" serve --port "$iport" --db "$work/installed.db" 2>/dev/null &
installed=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$iport/api/health" >/dev/null && break; sleep 0.2; done
expect 0 '<title>Verbatim</title>' curl -sf "http://127.0.0.1:$iport/"
kill "$installed"; wait "$installed" 2>/dev/null
expect 0 'usage: verbatim bench engine' "$bin" bench --help
expect 1 'no such file' "$bin" bench engine "$work/missing.wav"
expect 2 'usage: verbatim bench engine' "$bin" bench engine
# --realtime: handed over as a live stream sends it, so no sooner than the
# audio lasts, and the same words.
"$bin" bench engine --realtime --chunk-ms 200 "$work/a.wav" > "$work/paced.json" 2>&1
check "bench engine --realtime: the same words, at the audio's pace" \
    grep -qE '"words": 4, .*"rtf_wall": (1\.[0-9]+|[2-9]\.[0-9]+)' "$work/paced.json"
expect 2 'chunk-ms sets the pieces of --realtime' "$bin" bench engine --chunk-ms 100 "$work/a.wav"
expect 2 'chunk-ms must be a whole number from 10 to 1000, not "5"' \
    "$bin" bench engine --realtime --chunk-ms 5 "$work/a.wav"
expect 2 'profile must be accurate or fast, not "slow"' "$bin" bench engine --profile slow "$work/a.wav"
expect 2 'unknown option "--bogus"' "$bin" bench engine --bogus "$work/a.wav"
expect 2 'unknown option' "$bin" transcribe --bogus "$work/a.wav"
expect 2 'sample-rate must be' "$bin" transcribe --sample-rate 3 "$work/a.wav"
expect 2 'unknown command' "$bin" frobnicate
expect 0 'usage: verbatim serve' "$bin" serve --help
expect 2 'port must be' "$bin" serve --port 99999
expect 2 'workers must be' "$bin" serve --workers none
expect 2 'release-decoders-after must be' "$bin" serve --release-decoders-after -1
expect 2 'max-load must be a whole number from 0 to 100' "$bin" serve --max-load 101
expect 2 'max-load must be' env VERBATIM_MAX_LOAD=lots "$bin" serve
expect 2 'needs a value' "$bin" serve --db
expect 2 'log-level' "$bin" serve --log-level loud
expect 1 'cannot (create|open)' "$bin" serve --port 1 --db /proc/nowhere/x.db
# API keys: a server that needs them starts only with some; on an address
# other machines reach it needs them unless told --auth off.
expect 2 '--auth must be required or off' "$bin" serve --auth maybe
expect 1 'auth required, but the database .* has no API keys: make one with' \
    "$bin" serve --port 1 --auth required --db "$work/keys.db"
expect 1 'listening on 0.0.0.0 lets other machines in, so API keys are required.*--auth off' \
    "$bin" serve --port 1 --host 0.0.0.0 --db "$work/keys.db"
expect 2 'scope must be read, write or admin, not "root"' "$bin" keys create --name a --scope root --db "$work/keys.db"
expect 2 '--name and --scope are needed' "$bin" keys create --scope read --db "$work/keys.db"
expect 2 'a name is 1 to 64 letters' "$bin" keys create --name 'a b' --scope read --db "$work/keys.db"
expect 2 'which key' "$bin" keys revoke --db "$work/keys.db"
expect 2 'unknown action "make"' "$bin" keys make --db "$work/keys.db"
expect 0 '^vb_[A-Za-z0-9_-]{43}$' "$bin" keys create --name ci --scope write --db "$work/keys.db"
expect 1 'no key is named "nobody"' "$bin" keys revoke nobody --db "$work/keys.db"
expect 0 '^ci +write +vb_' "$bin" keys list --db "$work/keys.db"
# `verbatim migrate` copies a database into an empty one (test_store
# checks every row; tests/postgres.sh does it into PostgreSQL), and says
# what is wrong with its arguments.
expect 0 '^api_keys +1 rows' "$bin" migrate --from "$work/keys.db" --to "sqlite:$work/copy.db"
expect 0 '^ci +write +vb_' "$bin" keys list --db "$work/copy.db"
expect 1 'already holds transcriptions or keys; copy into an empty one; nothing was copied' \
    "$bin" migrate --from "$work/keys.db" --to "$work/copy.db"
expect 1 'cannot connect to PostgreSQL.*nothing was copied' \
    "$bin" migrate --from "$work/keys.db" --to postgresql://verbatim@127.0.0.1:1/x
expect 2 'give both --from and --to' "$bin" migrate --from "$work/keys.db"
expect 2 'are the same database' "$bin" migrate --from "$work/keys.db" --to "$work/keys.db"
expect 2 'unknown option "--into"' "$bin" migrate --from a --into b
expect 0 'usage: verbatim migrate' "$bin" migrate --help
# The model is loaded after the server begins listening (a free port,
# then): what is wrong with it still stops the server with exit 1.
mport=$((20000 + RANDOM % 20000))
expect 1 'PocketSphinx|not found' "$bin" serve --port "$mport" --db "$work/m.db" --model-dir /nonexistent
expect 1 'acoustic model not found at /nonexistent/en-us' "$bin" serve --port "$mport" --db "$work/m.db" \
    --engine-option model-dir=/nonexistent
# A model folder with the right names but no model in them: PocketSphinx's
# own reason reaches the log.
mkdir -p "$work/model/en-us" && touch "$work/model/en-us.lm.bin" "$work/model/cmudict-en-us.dict"
expect 1 "could not load the model" "$bin" serve --port "$mport" --db "$work/m.db" --model-dir "$work/model"
expect 1 "\\[pocketsphinx\\] Folder '$work/model/en-us' does not contain acoustic model definition" \
    "$bin" serve --port "$mport" --db "$work/m.db" --model-dir "$work/model"
# Its language model cannot be read to trim the dictionary: the decoders
# are given the whole dictionary, and the log says so.
expect 1 "cannot read the language model $work/model/en-us.lm.bin; decoders read the whole dictionary" \
    "$bin" serve --port "$mport" --db "$work/m.db" --model-dir "$work/model"
# A dictionary that is not the language model's: refused at start-up with
# both files named, rather than a server that recognises nothing.
en_us=/usr/share/pocketsphinx/model/en-us
mkdir -p "$work/unpaired" && ln -s "$en_us/en-us" "$en_us/en-us.lm.bin" "$work/unpaired/" &&
    printf 'zzqxvwj Z Z K\nqqzzyxw K Z\n' > "$work/unpaired/cmudict-en-us.dict"
expect 1 "dictionary $work/unpaired/cmudict-en-us.dict has no word of the language model .*not a pair" \
    "$bin" serve --port "$mport" --db "$work/m.db" --model-dir "$work/unpaired"
expect 1 'cannot connect' "$bin" stream --url ws://127.0.0.1:1 "$work/a.wav"
expect 2 'dg-store must be true or false, not "maybe"' "$bin" serve --dg-store maybe
expect 2 'keep-audio must be on or off, not "yes"' "$bin" serve --keep-audio yes

# wait_healthy: until the server on $port answers (at most 20 s).
wait_healthy() {
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.2; done
}
port=$((20000 + RANDOM % 20000))
VERBATIM_PORT=$port "$bin" serve --db "$work/db.sqlite" 2>"$work/server.log" &
server=$!
wait_healthy
check "the environment sets the port" curl -sf "http://127.0.0.1:$port/api/health" -o /dev/null
# It answers while its model loads: health says which; the first stream
# below may begin before the model is ready and waits for it.
expect 0 '"recogniser":"(loading|ready)"' curl -sf "http://127.0.0.1:$port/api/health"
expect 1 'cannot listen on 127.0.0.1:[0-9]+: the port is in use' "$bin" serve --port "$port" --db "$work/other.db"
# ... said once, before any model is loaded, with no lines of libwebsockets'
inuse=$("$bin" serve --port "$port" --db "$work/other.db" 2>&1)
check "a port in use is one line" test "$(grep -c . <<<"$inuse")" -eq 1
# A second server on the same database file would take streams too.
expect 1 "database $work/db.sqlite is in use by another Verbatim server \\(process $server\\)" \
    "$bin" serve --port "$((port + 1))" --db "$work/db.sqlite"
expect 0 '\] Please open the window\.$' "$bin" stream --url "ws://127.0.0.1:$port" --title "cli" "$work/a.wav"
expect 0 '"recogniser":"ready"' curl -sf "http://127.0.0.1:$port/api/health"
# The server's address as people type it; and where to see the transcript.
expect 0 "transcript [0-9]+, http://localhost:$port/t/[0-9]+" "$bin" stream --url "localhost:$port" "$work/a.wav"
expect 0 '\] Please open the window\.$' "$bin" stream --url "http://127.0.0.1:$port/" "$work/a.wav"
expect 2 'not a server address; give HOST:PORT, http://HOST:PORT or ws://HOST:PORT' \
    "$bin" stream --url "127.0.0.1:port" "$work/a.wav"
expect 2 'plain HTTP and ws:// only' "$bin" stream --url "https://example.com" "$work/a.wav"
expect 1 'cli.sh is not a recording in a format' "$bin" stream --url "127.0.0.1:$port" tests/cli.sh
expect 0 '"type":"status".*|"is_final":true' "$bin" stream --url "ws://127.0.0.1:$port" --json --id 1 "$work/a.wav"
expect 1 'code 4004.*not found' "$bin" stream --url "ws://127.0.0.1:$port" --id 999 "$work/a.wav"
expect 1 'code 1003.*sample_rate must be a whole number of Hz from 8000 to 48000' "$bin" stream --url "ws://127.0.0.1:$port" --id 1 --sample-rate 200000 "$work/a.wav"
expect 2 'not both' "$bin" stream --id 1 --title x "$work/a.wav"
expect 0 'quick brown fox .* lazy dog' "$bin" stream --url "ws://127.0.0.1:$port" --title formats "$fx/speech.mp3"
expect 0 'quick brown fox .* lazy dog' "$bin" stream --url "ws://127.0.0.1:$port" --title formats "$fx/speech.ogg"
expect 0 'quick brown fox .* lazy dog' "$bin" stream --url "ws://127.0.0.1:$port" --title formats "$fx/speech_vorbis.ogg"
expect 1 'code 1003.*Vorbis audio' "$bin" stream --url "ws://127.0.0.1:$port" --title formats --sample-rate 16000 "$fx/speech_vorbis.ogg"
# stdin, as raw PCM (the WAV's header is skipped by tail)
expect 0 'window' bash -c "tail -c +45 '$work/a.wav' | '$bin' stream --url ws://127.0.0.1:$port --id 1 -"
# --realtime --timings (the benchmark's client): chunks leave as a
# microphone would give them, so no result arrives before the audio it
# covers was sent; each utterance's final is followed by its endpoint,
# which lies after its last word.
"$bin" stream --url "ws://127.0.0.1:$port" --title timed --realtime --timings \
    "$work/a.wav" > "$work/timings" 2>&1
check "timings: results after their audio" awk '$1 == "T" && $2 < $3 - 0.001 { bad = 1 }
    $1 == "T" { n++ } END { exit bad || n < 2 }' "$work/timings"
check "timings: the endpoint follows the final" awk '$1 == "T" && $4 == 1 && $7 == 1 { last = $6; f = 1 }
    $1 == "E" && f && $3 >= last { ok = 1 } END { exit !ok }' "$work/timings"
# bench load: the same client for many streams from one process.  Each
# stream's transcript is stored; its timings look like stream's.
# start_gap OUT: seconds between the first two streams' starts in bench
# load's JSON lines.
start_gap() {
    awk -F'"started_s":' 'NR == 1 { split($2, a, ","); first = a[1] }
        NR == 2 { split($2, a, ","); print a[1] - first }' "$1"
}
"$bin" bench load --url "ws://127.0.0.1:$port" --stagger 0.5 --timings "$work/load" \
    "$work/a.wav" "$work/a.wav" > "$work/load.out" 2>&1
check "bench load: both streams closed normally" \
    test "$(grep -c '"audio_s":1\.[0-9]*,"sent_s":1\.[0-9]*,"close_code":1000,"error":""' "$work/load.out")" -eq 2
check "bench load: --stagger 0.5 starts the second stream 0.5 s (and half a chunk) later" \
    awk -v gap="$(start_gap "$work/load.out")" 'BEGIN { exit !(gap >= 0.5 && gap < 1) }'
for i in 1 2; do
    check "bench load: stream $i's results after their audio, its final, its endpoint" \
        awk '$1 == "T" && $2 < $3 - 0.001 { bad = 1 } $1 == "T" && $4 == 1 && $7 == 1 { f = 1 }
             $1 == "E" && f { e = 1 } END { exit bad || !e }' "$work/load.$i"
done
# Two streams, no stagger: the second starts half a chunk (50 ms) after
# the load (less the first's connecting), so that their chunks do not
# arrive together.
"$bin" bench load --url "ws://127.0.0.1:$port" "$work/a.wav" "$work/a.wav" > "$work/phases.out" 2>&1
check "bench load: the streams' chunks leave at spread moments" \
    awk -v gap="$(start_gap "$work/phases.out")" 'BEGIN { exit !(gap >= 0.04 && gap < 0.5) }'
load_id=$(curl -s "http://127.0.0.1:$port/api/transcriptions/" |
    grep -oE '"id":[0-9]+,"title":"bench load 2"' | grep -oE '[0-9]+' | head -1)
check "bench load: each stream's transcript is stored" grep -q '"text":"Please open the window\."' \
    <(curl -s "http://127.0.0.1:$port/api/transcriptions/${load_id:-0}/segments/")
"$bin" bench load --url "ws://127.0.0.1:$port" --full-speed --timings "$work/fast" "$work/a.wav" >/dev/null 2>&1
check "bench load --full-speed: the audio goes faster than it lasts" \
    awk '$1 == "T" && $3 > $2 + 0.5 { fast = 1 } END { exit !fast }' "$work/fast.1"
expect 2 'usage: verbatim bench load' "$bin" bench load
expect 2 'stagger must be a number of seconds from 0 to 60, not "soon"' "$bin" bench load --stagger soon "$work/a.wav"
expect 2 'chunk-ms must be a whole number from 10 to 1000' "$bin" bench load --chunk-ms 5 "$work/a.wav"
expect 2 'unknown option "--bogus"' "$bin" bench load --bogus "$work/a.wav"
expect 1 'no such file' "$bin" bench load --url "ws://127.0.0.1:$port" "$work/missing.wav"
expect 1 'missing/t\.1: no such file' "$bin" bench load --url "ws://127.0.0.1:$port" --timings "$work/missing/t" "$work/a.wav"
head -c 44 "$work/a.wav" > "$work/header_only.wav"
expect 1 'header_only\.wav holds no audio' "$bin" bench load --url "ws://127.0.0.1:$port" "$work/header_only.wav"
expect 1 'verbatim bench load: cannot connect to 127\.0\.0\.1:1' "$bin" bench load --url http://127.0.0.1:1 "$work/a.wav"
expect 2 'verbatim bench load: --url 127.0.0.1:x is not a server address' "$bin" bench load --url 127.0.0.1:x "$work/a.wav"
expect 1 '"close_code":0,"error":"cannot create a transcription"' \
    "$bin" bench load --url ws://127.0.0.1:1 "$work/a.wav"
segments=$(curl -s "http://127.0.0.1:$port/api/transcriptions/1/segments/")
check "three sittings stored in order" test "$(grep -o '"text"' <<<"$segments" | wc -l)" -eq 3
check "the log names the transcription" grep -q '\[t=1 c=[0-9]*\] session started' "$work/server.log"
kill "$server"; wait "$server"; rc=$?
server=
check "SIGTERM stops the server cleanly" test "$rc" -eq 0

# Workers: one per core the server may run on (its CPU affinity, as
# taskset or a container's cpuset sets it); more are allowed, with a warning.
# serve_on_core0 LOG ARGS...: a server on core 0 until stop_server.
serve_on_core0() {
    local log=$1; shift
    port=$((20000 + RANDOM % 20000))
    taskset -c 0 "$bin" serve --port "$port" --db "$work/cores.db" "$@" 2>"$log" &
    server=$!
    wait_healthy
}
stop_server() { kill "$server"; wait "$server"; server=; }
serve_on_core0 "$work/cores.log"
check "one worker per core it may run on" grep -q '"workers":1,' <(curl -s "http://127.0.0.1:$port/api/health")
stop_server
check "no warning with the default workers" bash -c "! grep -q 'workers but only' '$work/cores.log'"
serve_on_core0 "$work/cores3.log" --workers 3
check "--workers is obeyed beyond the cores" grep -q '"workers":3,' <(curl -s "http://127.0.0.1:$port/api/health")
stop_server
check "more workers than cores: a warning naming the default" \
    grep -q 'WARN .*3 workers but only 1 core to run on: .*--workers 1 (the default)' "$work/cores3.log"
# --keep-audio off: a session's audio is not kept (it is by default:
# tests/test_live.c).
serve_on_core0 "$work/nokeep.log" --keep-audio off
kept=$("$bin" stream --url "127.0.0.1:$port" "$work/a.wav" 2>&1 | grep -oE 'transcript [0-9]+' | grep -oE '[0-9]+')
expect 0 '"detail":"this transcription has no kept audio"' \
    curl -s "http://127.0.0.1:$port/api/transcriptions/${kept:-0}/audio.ogg"
stop_server

# bench load against a server at its limits, stopped, and killed: a
# message too large is closed with 1009, the refused stream reports 1013
# and the server's reason; a server that never closes is given up after
# --timeout; one that dies is reported.
serve_on_core0 "$work/limit.log" --max-sessions 1 --max-frame 8000
expect 1 '"sent_s":1,"close_code":1009,"error":"' \
    "$bin" bench load --url "ws://127.0.0.1:$port" --chunk-ms 1000 "$work/a.wav"
"$bin" bench load --url "ws://127.0.0.1:$port" "$work/a.wav" "$work/a.wav" > "$work/limit.out" 2>&1
check "bench load: the first stream is served" grep -q '"stream":1,.*"close_code":1000,"error":""' "$work/limit.out"
check "bench load: the second is refused at once, with the server's reason" \
    grep -q '"stream":2,.*"sent_s":0,"close_code":1013,"error":"the server is at its limit of 1 live sessions' "$work/limit.out"
"$bin" bench load --url "ws://127.0.0.1:$port" --timeout 1 "$work/a.wav" > "$work/stopped.out" 2>&1 &
loader=$!
sleep 1; kill -STOP "$server"
wait "$loader"; rc=$?
kill -CONT "$server"
check "bench load: a server that never closes is given up after --timeout" \
    grep -q '"close_code":0,"error":"no close from the server before --timeout"' "$work/stopped.out"
check "bench load: ... and it exits 1" test "$rc" -eq 1
stop_server
serve_on_core0 "$work/killed.log"
"$bin" bench load --url "ws://127.0.0.1:$port" "$work/a.wav" > "$work/killed.out" 2>&1 &
loader=$!
sleep 1; kill -KILL "$server"; { wait "$server"; } 2>/dev/null; server=
wait "$loader"; rc=$?
check "bench load: a server that dies is reported, exit 1" \
    grep -qE '"close_code":0,"error":"the (server dropped the connection without a close|connection was lost while sending)' "$work/killed.out"
check "bench load: ... and it exits 1" test "$rc" -eq 1

# stream with an API key: --key or VERBATIM_API_KEY; without one, the
# server's reason.
key=$("$bin" keys create --name streamer --scope write --db "$work/keys.db" 2>/dev/null)
port=$((20000 + RANDOM % 20000))
"$bin" serve --port "$port" --db "$work/keys.db" --auth required 2>"$work/keys.log" &
server=$!
wait_healthy
expect 1 'cannot create a transcription \(HTTP 401\).*API key is required' \
    "$bin" stream --url "ws://127.0.0.1:$port" "$work/a.wav"
expect 0 '\] Please open the window\.$' "$bin" stream --url "ws://127.0.0.1:$port" --key "$key" "$work/a.wav"
expect 0 '\] Please open the window\.$' env VERBATIM_API_KEY="$key" "$bin" stream --url "ws://127.0.0.1:$port" --id 1 "$work/a.wav"
expect 1 'refused the WebSocket \(HTTP 401: the API key is not valid' \
    "$bin" stream --url "ws://127.0.0.1:$port" --key vb_wrong --id 1 "$work/a.wav"
stop_server
check "no key in the server's log" bash -c "! grep -qF -- '${key#vb_}' '$work/keys.log'"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
