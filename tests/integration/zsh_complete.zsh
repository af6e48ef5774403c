# Used by completion.sh (not a test itself): types LINE and a TAB into an
# interactive zsh (zsh/zpty) with the completion in DIR on its $fpath,
# and prints the words the completion offered, one compadd call a line.
#   zsh -f zsh_complete.zsh DIR LINE
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PATH=${(q)PATH}; PS1='> '; fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u"
zpty -w z 'compadd() { local -a h; builtin compadd -O h "$@"; (( $#h )) && print -r -- "<HITS:${(j: :)h}>"; builtin compadd "$@"; }'
zpty -w -n z "$2"$'\t'
local out chunk i
for i in {1..50}; do
    sleep 0.1
    while zpty -r -t z chunk; do out+=$chunk; done
    if [[ $out == *'<HITS:'[^\$]* ]]; then
        sleep 0.3
        while zpty -r -t z chunk; do out+=$chunk; done
        break
    fi
done
print -r -- "$out" | tr -d '\r' | grep -ao '<HITS:[^$>][^>]*>' |
    sed 's/^<HITS:\(.*\)>$/\1/' | sort -u
zpty -d z
