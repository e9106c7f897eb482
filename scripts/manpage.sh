#!/usr/bin/env bash
# manpage.sh BIN > verbatim.1: the manual page, made from the program's own
# --help texts (the top level's and each command's), so that it says what
# --help says.
set -euo pipefail
bin=$1
version=$("$bin" --version | awk '{ print $2 }')
roff() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/" -e 's/-/\\-/g'; }
cat <<HEAD
.TH VERBATIM 1 "" "Verbatim $version" "User Commands"
.SH NAME
verbatim \\- real\\-time speech transcription server and command line
.SH SYNOPSIS
.B verbatim
.I COMMAND
[\\fIoptions\\fR]
.SH DESCRIPTION
HEAD
echo ".nf"
"$bin" --help | roff
echo ".fi"
echo ".SH COMMANDS"
for cmd in serve stream transcribe keys; do
    echo ".SS verbatim $cmd"
    echo ".nf"
    "$bin" "$cmd" --help | roff
    echo ".fi"
done
echo ".SS verbatim bench"
echo ".nf"
"$bin" bench --help | roff
"$bin" bench load --help | roff
echo ".fi"
cat <<'TAIL'
.SH FILES
.TP
.I data/verbatim.db
the default database (\-\-db, VERBATIM_DB)
.SH SEE ALSO
The documents in the project's docs/ folder: protocol.md, api.md,
deepgram.md, operations.md.
TAIL
