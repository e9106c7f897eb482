#!/usr/bin/env bash
# completion.sh BIN > verbatim.bash: bash completion for verbatim, its
# commands and each command's flags as its --help lists them.
set -euo pipefail
bin=$1
flags() { "$bin" "$@" --help 2>&1 | grep -oE -- '(^|[ [])--[a-z][a-z-]*' | tr -d ' [' | sort -u | tr '\n' ' '; }
cat <<HEAD
# bash completion for verbatim (made by scripts/completion.sh)
_verbatim() {
    local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]:-} words
    if [ "\$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=(\$(compgen -W "serve stream transcribe bench keys --help --version" -- "\$cur"))
        return
    fi
    case \$cmd in
HEAD
for cmd in serve stream transcribe keys; do
    printf '        %s) words="%s" ;;\n' "$cmd" "$(flags "$cmd")"
done
printf '        bench) words="engine load %s %s" ;;\n' "$(flags bench engine)" "$(flags bench load)"
cat <<'TAIL'
        *) words="" ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -o filenames -F _verbatim verbatim
TAIL
