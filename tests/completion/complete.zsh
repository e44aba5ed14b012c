# Completes a command line in a real interactive zsh and prints each match on a line.
#   zsh -f complete.zsh DIR 'gitops-connector handle --'
# DIR holds _gitops-connector. zsh/zpty runs an interactive shell, compinit loads the function
# from DIR, compadd is wrapped to print what it is given, and the line is typed with a Tab.
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1=''; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd () { local -a __hits; builtin compadd -O __hits "$@"; local h; for h in $__hits; do print -r -- "<h""it>$h</hit>"; done; builtin compadd "$@"; }'
zpty -w z "bindkey '^I' complete-word"
zpty -w -n z "$2"
sleep 0.1
zpty -w -n z $'\t'
sleep 0.5
# The marker is split in the command so that only its output matches.
zpty -w z $'\C-u''print "<""end>"'
local out all
integer tries=0
while (( tries++ < 500 )); do
  if zpty -r -t z out; then
    all+=$out
    [[ $all == *'<end>'* ]] && break
  else
    sleep 0.02
  fi
done
zpty -d z
print -r -- "${all//$'\r'/}" | sed -n 's/.*<hit>\(.*\)<\/hit>.*/\1/p' | sort -u
