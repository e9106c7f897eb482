# Verbatim - build, run and test.
#
#   make run     install what is missing, build, serve on port 8000
#   make test    install what is missing, build, run every test
#   make         build build/verbatim
#
# The test build (build/asan/) compiles the same sources with Address- and
# UndefinedBehaviorSanitizer; the tests run that binary.

CC      ?= cc
PKGS    := libwebsockets pocketsphinx libcjson sqlite3 soxr opus libavformat \
           libavcodec libavutil libswresample libsodium libpq hiredis
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CFLAGS  ?= -O2 -g
BASE    := -std=c17 -D_GNU_SOURCE $(WARN) -pthread -MMD -MP
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lflite_cmulex -lflite -lm -pthread
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC := $(wildcard src/util/*.c src/store/*.c src/asr/*.c src/audio/*.c \
             src/session/*.c src/format/*.c src/api/*.c src/net/*.c \
             src/bus/*.c src/diarize/*.c src/transcription/*.c src/auth/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c)

LIB_OBJ      := $(LIB_SRC:src/%.c=build/obj/%.o)
CLI_OBJ      := $(CLI_SRC:src/%.c=build/obj/%.o)
ASAN_LIB_OBJ := $(LIB_SRC:src/%.c=build/asan/obj/%.o)
ASAN_CLI_OBJ := $(CLI_SRC:src/%.c=build/asan/obj/%.o)
TEST_BIN     := $(TEST_SRC:tests/%.c=build/asan/%)

# Fuzz targets (libFuzzer, clang): the audio parsers written here, and the
# REST API behind the HTTP parser.
FUZZ_SRC  := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN  := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)
FUZZ_LIB  := src/audio/webm.c src/audio/ogg.c src/audio/opus.c \
             src/audio/resample.c src/audio/input.c src/util/vb.c \
             src/net/chunked.c src/net/multipart.c
FUZZ_API_LIB := $(wildcard src/api/*.c src/store/*.c src/format/*.c) src/auth/auth.c src/asr/keywords.c \
             src/audio/keep.c src/audio/ogg.c \
             src/util/log.c src/util/metrics.c src/util/strbuf.c \
             src/util/utf8.c src/util/vb.c
FUZZ_SECONDS ?= 600

PORT ?= 8000

.PHONY: all run test deps deps-test unit clean fuzz install

# Builds use every core; ARGS passes more flags to `make run`, e.g.
# make run ARGS="--profile fast".
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
ARGS ?=

all: deps
	@$(MAKE) --no-print-directory -j$(JOBS) build/verbatim

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

run: all
	build/verbatim serve --port $(PORT) --db data/verbatim.db $(ARGS)

# The manual page and bash completion, made from the program's --help.
build/verbatim.1: build/verbatim scripts/manpage.sh
	@echo "GEN $@"; scripts/manpage.sh build/verbatim > $@.tmp && mv $@.tmp $@

build/verbatim.bash: build/verbatim scripts/completion.sh
	@echo "GEN $@"; scripts/completion.sh build/verbatim > $@.tmp && mv $@.tmp $@

PREFIX ?= /usr/local
install: all build/verbatim.1 build/verbatim.bash
	install -D -m 755 build/verbatim $(DESTDIR)$(PREFIX)/bin/verbatim
	mkdir -p $(DESTDIR)$(PREFIX)/share/verbatim
	cp -r web $(DESTDIR)$(PREFIX)/share/verbatim/
	install -D -m 644 build/verbatim.1 $(DESTDIR)$(PREFIX)/share/man/man1/verbatim.1
	install -D -m 644 build/verbatim.bash \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/verbatim

test: deps-test
	@$(MAKE) --no-print-directory -j$(JOBS) build/verbatim build/asan/verbatim \
	    $(TEST_BIN) $(FUZZ_BIN)
	@tests/run.sh

# Longer fuzzing on demand: make fuzz FUZZ_SECONDS=3600
fuzz: deps-test $(FUZZ_BIN)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz.sh

build/verbatim: $(LIB_OBJ) $(CLI_OBJ)
	@echo "CC $@"; $(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

build/asan/verbatim: $(ASAN_LIB_OBJ) $(ASAN_CLI_OBJ)
	@echo "CC $@"; $(CC) -O1 -g $(SAN) -o $@ $^ $(PKG_LIBS)

build/fuzz/fuzz_api: fuzz/fuzz_api.c $(FUZZ_API_LIB)
	@mkdir -p $(dir $@)
	@echo "CC $@"; clang -O1 -g -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined -std=c17 -D_GNU_SOURCE -Isrc \
	    $(shell pkg-config --cflags libcjson sqlite3 libsodium opus libpq) -o $@ $^ \
	    $(shell pkg-config --libs libcjson sqlite3 libsodium opus libpq) -lm -pthread

build/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	@echo "CC $@"; clang -O1 -g -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined -std=c17 -D_GNU_SOURCE -Isrc \
	    $(shell pkg-config --cflags opus soxr) -o $@ $< $(FUZZ_LIB) \
	    $(shell pkg-config --libs opus soxr) -lm

build/asan/test_%: tests/test_%.c tests/testutil.c $(ASAN_LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "CC $@"; $(CC) -O1 -g $(SAN) $(BASE) $(PKG_CFLAGS) -Isrc -o $@ $< tests/testutil.c \
	    $(ASAN_LIB_OBJ) $(PKG_LIBS) -lcmocka

build/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "CC $@"; $(CC) $(CFLAGS) $(BASE) $(PKG_CFLAGS) -c -o $@ $<

build/asan/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "CC $@"; $(CC) -O1 -g $(SAN) $(BASE) $(PKG_CFLAGS) -c -o $@ $<

clean:
	rm -rf build

-include $(wildcard build/obj/*/*.d build/asan/obj/*/*.d)
