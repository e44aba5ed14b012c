#!/usr/bin/env bash
# Builds gitops-connector in release mode and installs the binary, shell completions and man pages.
#   ./install.sh                  install under ~/.local
#   ./install.sh --prefix /usr/local
#   ./install.sh --uninstall      remove what an install put there
#   ./install.sh --binary PATH    install a binary built elsewhere instead of building one
# Running it again is safe: every file is simply replaced.
set -euo pipefail

prefix="${HOME}/.local"
uninstall=false
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --uninstall) uninstall=true; shift ;;
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

# Paths the caller gave are relative to where they ran this from, not to the repository.
absolute() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }
prefix="$(absolute "$prefix")"
[ -n "$binary" ] && binary="$(absolute "$binary")"

cd "$(dirname "$0")"
bin="$prefix/bin/gitops-connector"
bash_completion="$prefix/share/bash-completion/completions/gitops-connector"
zsh_completion="$prefix/share/zsh/site-functions/_gitops-connector"
fish_completion="$prefix/share/fish/vendor_completions.d/gitops-connector.fish"
man_dir="$prefix/share/man/man1"

if $uninstall; then
  rm -f "$bin" "$bash_completion" "$zsh_completion" "$fish_completion" "$man_dir"/gitops-connector*.1
  echo "removed gitops-connector from $prefix"
  exit 0
fi

if [ -z "$binary" ]; then
  if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: cargo is not installed. Install Rust (https://rustup.rs, or 'apt-get install cargo' on Debian) and run ./install.sh again." >&2
    exit 1
  fi
  cargo build --release --locked
  # Cargo builds where CARGO_TARGET_DIR says, when it is set.
  binary="${CARGO_TARGET_DIR:-target}/release/gitops-connector"
fi
[ -x "$binary" ] || { echo "install.sh: $binary is not an executable" >&2; exit 1; }
install -d "$prefix/bin" "$(dirname "$bash_completion")" "$(dirname "$zsh_completion")" "$(dirname "$fish_completion")" "$man_dir"
install -m 0755 "$binary" "$bin"
install -m 0644 completions/gitops-connector.bash "$bash_completion"
install -m 0644 completions/_gitops-connector "$zsh_completion"
install -m 0644 completions/gitops-connector.fish "$fish_completion"
install -m 0644 man/*.1 "$man_dir"/
echo "installed $bin"
echo "completions: fish loads them; bash does with the bash-completion package (else: source $bash_completion in ~/.bashrc);"
echo "  zsh: add  fpath=($prefix/share/zsh/site-functions \$fpath)  before compinit in ~/.zshrc"
# Last, so that it is what people see: the one line to add when the binary is not on PATH.
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "$prefix/bin is not on your PATH: add it, e.g. in ~/.profile:  export PATH=\"$prefix/bin:\$PATH\"" ;;
esac
