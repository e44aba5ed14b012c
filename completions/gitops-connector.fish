# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_gitops_connector_global_optspecs
    string join \n v/verbose q/quiet config= state= instance= output= log-format= dry-run budget= ack-rejected h/help V/version
end

function __fish_gitops_connector_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_gitops_connector_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_gitops_connector_using_subcommand
    set -l cmd (__fish_gitops_connector_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -l config -d 'Configuration file [default: config.toml in the platform config directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -l state -d 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -l instance -d 'The configured instance to use (else the event\'s gitops_connector_config_name, else the only one)' -r
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -l output -d 'How results are printed on stdout' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -l log-format -d 'How diagnostics are printed on stderr (json: one object per line, for log collectors)' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -l budget -d 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]' -r
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -s v -l verbose -d 'Say more on stderr (each request, each decision)'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -s q -l quiet -d 'Say nothing on stderr but the error that explains a non-zero exit'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -l dry-run -d 'Print the requests that would be sent; send nothing and write no state'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -l ack-rejected -d 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -s V -l version -d 'Print version'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -f -a "status" -d 'Post the event\'s commit statuses to the Git host and subscribers'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -f -a "notify" -d 'If the event ends the deployment, tell the orchestrator (once per commit)'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -f -a "handle" -d 'Status and notify in one invocation: what a webhook relay runs'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -f -a "poll-prs" -d 'Fail the Azure Pipelines tasks still waiting on abandoned PRs (see also `periodic`)'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -f -a "replay" -d 'Send what is still owed, or process a journaled event again'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -f -a "events" -d 'List journaled events, or show one with its requests and their attempts'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -f -a "prune" -d 'Drop journal entries older than a given age (owed requests are always kept)'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -f -a "config" -d 'Print the resolved configuration, secrets redacted, with where each value came from'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -f -a "periodic" -d 'Run the periodic work: replay --failed, then poll-prs; with --every, in a loop'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -f -a "state" -d 'Work on the state itself: copy a SQLite state into PostgreSQL'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -f -a "generate" -d 'Write shell completions and man pages (what `completions/` and `man/` hold)'
complete -c gitops-connector -n "__fish_gitops_connector_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand status" -l signature -d 'The sender\'s X-Signature header (Flux generic-hmac), e.g. sha256=<hex>' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand status" -l config -d 'Configuration file [default: config.toml in the platform config directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand status" -l state -d 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand status" -l instance -d 'The configured instance to use (else the event\'s gitops_connector_config_name, else the only one)' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand status" -l output -d 'How results are printed on stdout' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand status" -l log-format -d 'How diagnostics are printed on stderr (json: one object per line, for log collectors)' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand status" -l budget -d 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand status" -l verified-by-relay -d 'The relay authenticated this request itself (its trigger rule checked Flux\'s HMAC or Argo CD\'s shared header token): ask no signature of it even where an HMAC key is configured. Only for hooks whose trigger rule authenticates'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand status" -s v -l verbose -d 'Say more on stderr (each request, each decision)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand status" -s q -l quiet -d 'Say nothing on stderr but the error that explains a non-zero exit'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand status" -l dry-run -d 'Print the requests that would be sent; send nothing and write no state'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand status" -l ack-rejected -d 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand status" -s h -l help -d 'Print help'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand notify" -l signature -d 'The sender\'s X-Signature header (Flux generic-hmac), e.g. sha256=<hex>' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand notify" -l config -d 'Configuration file [default: config.toml in the platform config directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand notify" -l state -d 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand notify" -l instance -d 'The configured instance to use (else the event\'s gitops_connector_config_name, else the only one)' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand notify" -l output -d 'How results are printed on stdout' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand notify" -l log-format -d 'How diagnostics are printed on stderr (json: one object per line, for log collectors)' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand notify" -l budget -d 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand notify" -l verified-by-relay -d 'The relay authenticated this request itself (its trigger rule checked Flux\'s HMAC or Argo CD\'s shared header token): ask no signature of it even where an HMAC key is configured. Only for hooks whose trigger rule authenticates'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand notify" -s v -l verbose -d 'Say more on stderr (each request, each decision)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand notify" -s q -l quiet -d 'Say nothing on stderr but the error that explains a non-zero exit'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand notify" -l dry-run -d 'Print the requests that would be sent; send nothing and write no state'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand notify" -l ack-rejected -d 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand notify" -s h -l help -d 'Print help'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand handle" -l signature -d 'The sender\'s X-Signature header (Flux generic-hmac), e.g. sha256=<hex>' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand handle" -l config -d 'Configuration file [default: config.toml in the platform config directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand handle" -l state -d 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand handle" -l instance -d 'The configured instance to use (else the event\'s gitops_connector_config_name, else the only one)' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand handle" -l output -d 'How results are printed on stdout' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand handle" -l log-format -d 'How diagnostics are printed on stderr (json: one object per line, for log collectors)' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand handle" -l budget -d 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand handle" -l verified-by-relay -d 'The relay authenticated this request itself (its trigger rule checked Flux\'s HMAC or Argo CD\'s shared header token): ask no signature of it even where an HMAC key is configured. Only for hooks whose trigger rule authenticates'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand handle" -s v -l verbose -d 'Say more on stderr (each request, each decision)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand handle" -s q -l quiet -d 'Say nothing on stderr but the error that explains a non-zero exit'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand handle" -l dry-run -d 'Print the requests that would be sent; send nothing and write no state'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand handle" -l ack-rejected -d 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand handle" -s h -l help -d 'Print help'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand poll-prs" -l max-age -d 'Only PRs closed within this age count (e.g. 72h, 3d, 90m)' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand poll-prs" -l config -d 'Configuration file [default: config.toml in the platform config directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand poll-prs" -l state -d 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand poll-prs" -l instance -d 'The configured instance to use (else the event\'s gitops_connector_config_name, else the only one)' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand poll-prs" -l output -d 'How results are printed on stdout' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand poll-prs" -l log-format -d 'How diagnostics are printed on stderr (json: one object per line, for log collectors)' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand poll-prs" -l budget -d 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand poll-prs" -s v -l verbose -d 'Say more on stderr (each request, each decision)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand poll-prs" -s q -l quiet -d 'Say nothing on stderr but the error that explains a non-zero exit'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand poll-prs" -l dry-run -d 'Print the requests that would be sent; send nothing and write no state'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand poll-prs" -l ack-rejected -d 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand poll-prs" -s h -l help -d 'Print help'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand replay" -l config -d 'Configuration file [default: config.toml in the platform config directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand replay" -l state -d 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand replay" -l instance -d 'The configured instance to use (else the event\'s gitops_connector_config_name, else the only one)' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand replay" -l output -d 'How results are printed on stdout' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand replay" -l log-format -d 'How diagnostics are printed on stderr (json: one object per line, for log collectors)' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand replay" -l budget -d 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand replay" -l failed -d 'Send every request still owed, oldest first, in order per commit'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand replay" -s v -l verbose -d 'Say more on stderr (each request, each decision)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand replay" -s q -l quiet -d 'Say nothing on stderr but the error that explains a non-zero exit'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand replay" -l dry-run -d 'Print the requests that would be sent; send nothing and write no state'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand replay" -l ack-rejected -d 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand replay" -s h -l help -d 'Print help'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -l commit -d 'Only events for this commit: its id, or a prefix of 7 or more hex digits' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -l limit -d 'At most this many, newest first' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -l config -d 'Configuration file [default: config.toml in the platform config directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -l state -d 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -l instance -d 'The configured instance to use (else the event\'s gitops_connector_config_name, else the only one)' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -l output -d 'How results are printed on stdout' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -l log-format -d 'How diagnostics are printed on stderr (json: one object per line, for log collectors)' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -l budget -d 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -l failed -d 'Only events that were rejected or still have requests owed or failed'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -s v -l verbose -d 'Say more on stderr (each request, each decision)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -s q -l quiet -d 'Say nothing on stderr but the error that explains a non-zero exit'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -l dry-run -d 'Print the requests that would be sent; send nothing and write no state'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -l ack-rejected -d 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'The event body, its outcome, and each request with its attempts'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and __fish_seen_subcommand_from show" -l config -d 'Configuration file [default: config.toml in the platform config directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and __fish_seen_subcommand_from show" -l state -d 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and __fish_seen_subcommand_from show" -l instance -d 'The configured instance to use (else the event\'s gitops_connector_config_name, else the only one)' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and __fish_seen_subcommand_from show" -l output -d 'How results are printed on stdout' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and __fish_seen_subcommand_from show" -l log-format -d 'How diagnostics are printed on stderr (json: one object per line, for log collectors)' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and __fish_seen_subcommand_from show" -l budget -d 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say more on stderr (each request, each decision)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Say nothing on stderr but the error that explains a non-zero exit'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and __fish_seen_subcommand_from show" -l dry-run -d 'Print the requests that would be sent; send nothing and write no state'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and __fish_seen_subcommand_from show" -l ack-rejected -d 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and __fish_seen_subcommand_from help" -f -a "show" -d 'The event body, its outcome, and each request with its attempts'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand events; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand prune" -l older-than -d 'Age of the entries to drop (e.g. 30d, 12h) [default: retention_days of the configuration]' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand prune" -l config -d 'Configuration file [default: config.toml in the platform config directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand prune" -l state -d 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand prune" -l instance -d 'The configured instance to use (else the event\'s gitops_connector_config_name, else the only one)' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand prune" -l output -d 'How results are printed on stdout' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand prune" -l log-format -d 'How diagnostics are printed on stderr (json: one object per line, for log collectors)' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand prune" -l budget -d 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand prune" -s v -l verbose -d 'Say more on stderr (each request, each decision)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand prune" -s q -l quiet -d 'Say nothing on stderr but the error that explains a non-zero exit'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand prune" -l dry-run -d 'Print the requests that would be sent; send nothing and write no state'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand prune" -l ack-rejected -d 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand prune" -s h -l help -d 'Print help'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand config" -l config -d 'Configuration file [default: config.toml in the platform config directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand config" -l state -d 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand config" -l instance -d 'The configured instance to use (else the event\'s gitops_connector_config_name, else the only one)' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand config" -l output -d 'How results are printed on stdout' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand config" -l log-format -d 'How diagnostics are printed on stderr (json: one object per line, for log collectors)' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand config" -l budget -d 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand config" -s v -l verbose -d 'Say more on stderr (each request, each decision)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand config" -s q -l quiet -d 'Say nothing on stderr but the error that explains a non-zero exit'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand config" -l dry-run -d 'Print the requests that would be sent; send nothing and write no state'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand config" -l ack-rejected -d 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand config" -s h -l help -d 'Print help'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand periodic" -l every -d 'Run a round every AGE (e.g. 60s, 5m) until stopped; without it, one round and exit' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand periodic" -l max-age -d 'Only PRs closed within this age count (e.g. 72h, 3d, 90m)' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand periodic" -l config -d 'Configuration file [default: config.toml in the platform config directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand periodic" -l state -d 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand periodic" -l instance -d 'The configured instance to use (else the event\'s gitops_connector_config_name, else the only one)' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand periodic" -l output -d 'How results are printed on stdout' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand periodic" -l log-format -d 'How diagnostics are printed on stderr (json: one object per line, for log collectors)' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand periodic" -l budget -d 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand periodic" -s v -l verbose -d 'Say more on stderr (each request, each decision)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand periodic" -s q -l quiet -d 'Say nothing on stderr but the error that explains a non-zero exit'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand periodic" -l dry-run -d 'Print the requests that would be sent; send nothing and write no state'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand periodic" -l ack-rejected -d 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand periodic" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and not __fish_seen_subcommand_from migrate help" -l config -d 'Configuration file [default: config.toml in the platform config directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and not __fish_seen_subcommand_from migrate help" -l state -d 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and not __fish_seen_subcommand_from migrate help" -l instance -d 'The configured instance to use (else the event\'s gitops_connector_config_name, else the only one)' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and not __fish_seen_subcommand_from migrate help" -l output -d 'How results are printed on stdout' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and not __fish_seen_subcommand_from migrate help" -l log-format -d 'How diagnostics are printed on stderr (json: one object per line, for log collectors)' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and not __fish_seen_subcommand_from migrate help" -l budget -d 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and not __fish_seen_subcommand_from migrate help" -s v -l verbose -d 'Say more on stderr (each request, each decision)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and not __fish_seen_subcommand_from migrate help" -s q -l quiet -d 'Say nothing on stderr but the error that explains a non-zero exit'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and not __fish_seen_subcommand_from migrate help" -l dry-run -d 'Print the requests that would be sent; send nothing and write no state'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and not __fish_seen_subcommand_from migrate help" -l ack-rejected -d 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and not __fish_seen_subcommand_from migrate help" -s h -l help -d 'Print help'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and not __fish_seen_subcommand_from migrate help" -f -a "migrate" -d 'Copy a state (journal, outbox with what is owed, what was told, handled PRs) into an empty one'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and not __fish_seen_subcommand_from migrate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and __fish_seen_subcommand_from migrate" -l from -d 'The state to copy: a SQLite file (it must exist)' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and __fish_seen_subcommand_from migrate" -l to -d 'The empty state to copy into: a postgres:// URL [default: the configured state]' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and __fish_seen_subcommand_from migrate" -l config -d 'Configuration file [default: config.toml in the platform config directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and __fish_seen_subcommand_from migrate" -l state -d 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and __fish_seen_subcommand_from migrate" -l instance -d 'The configured instance to use (else the event\'s gitops_connector_config_name, else the only one)' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and __fish_seen_subcommand_from migrate" -l output -d 'How results are printed on stdout' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and __fish_seen_subcommand_from migrate" -l log-format -d 'How diagnostics are printed on stderr (json: one object per line, for log collectors)' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and __fish_seen_subcommand_from migrate" -l budget -d 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and __fish_seen_subcommand_from migrate" -s v -l verbose -d 'Say more on stderr (each request, each decision)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and __fish_seen_subcommand_from migrate" -s q -l quiet -d 'Say nothing on stderr but the error that explains a non-zero exit'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and __fish_seen_subcommand_from migrate" -l dry-run -d 'Print the requests that would be sent; send nothing and write no state'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and __fish_seen_subcommand_from migrate" -l ack-rejected -d 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and __fish_seen_subcommand_from migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and __fish_seen_subcommand_from help" -f -a "migrate" -d 'Copy a state (journal, outbox with what is owed, what was told, handled PRs) into an empty one'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand state; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand generate" -l out -d 'Where to write completions/ and man/' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand generate" -l config -d 'Configuration file [default: config.toml in the platform config directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand generate" -l state -d 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]' -r -F
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand generate" -l instance -d 'The configured instance to use (else the event\'s gitops_connector_config_name, else the only one)' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand generate" -l output -d 'How results are printed on stdout' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand generate" -l log-format -d 'How diagnostics are printed on stderr (json: one object per line, for log collectors)' -r -f -a "text\t''
json\t''"
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand generate" -l budget -d 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]' -r
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand generate" -s v -l verbose -d 'Say more on stderr (each request, each decision)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand generate" -s q -l quiet -d 'Say nothing on stderr but the error that explains a non-zero exit'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand generate" -l dry-run -d 'Print the requests that would be sent; send nothing and write no state'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand generate" -l ack-rejected -d 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand generate" -s h -l help -d 'Print help'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand help; and not __fish_seen_subcommand_from status notify handle poll-prs replay events prune config periodic state generate help" -f -a "status" -d 'Post the event\'s commit statuses to the Git host and subscribers'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand help; and not __fish_seen_subcommand_from status notify handle poll-prs replay events prune config periodic state generate help" -f -a "notify" -d 'If the event ends the deployment, tell the orchestrator (once per commit)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand help; and not __fish_seen_subcommand_from status notify handle poll-prs replay events prune config periodic state generate help" -f -a "handle" -d 'Status and notify in one invocation: what a webhook relay runs'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand help; and not __fish_seen_subcommand_from status notify handle poll-prs replay events prune config periodic state generate help" -f -a "poll-prs" -d 'Fail the Azure Pipelines tasks still waiting on abandoned PRs (see also `periodic`)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand help; and not __fish_seen_subcommand_from status notify handle poll-prs replay events prune config periodic state generate help" -f -a "replay" -d 'Send what is still owed, or process a journaled event again'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand help; and not __fish_seen_subcommand_from status notify handle poll-prs replay events prune config periodic state generate help" -f -a "events" -d 'List journaled events, or show one with its requests and their attempts'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand help; and not __fish_seen_subcommand_from status notify handle poll-prs replay events prune config periodic state generate help" -f -a "prune" -d 'Drop journal entries older than a given age (owed requests are always kept)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand help; and not __fish_seen_subcommand_from status notify handle poll-prs replay events prune config periodic state generate help" -f -a "config" -d 'Print the resolved configuration, secrets redacted, with where each value came from'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand help; and not __fish_seen_subcommand_from status notify handle poll-prs replay events prune config periodic state generate help" -f -a "periodic" -d 'Run the periodic work: replay --failed, then poll-prs; with --every, in a loop'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand help; and not __fish_seen_subcommand_from status notify handle poll-prs replay events prune config periodic state generate help" -f -a "state" -d 'Work on the state itself: copy a SQLite state into PostgreSQL'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand help; and not __fish_seen_subcommand_from status notify handle poll-prs replay events prune config periodic state generate help" -f -a "generate" -d 'Write shell completions and man pages (what `completions/` and `man/` hold)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand help; and not __fish_seen_subcommand_from status notify handle poll-prs replay events prune config periodic state generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand help; and __fish_seen_subcommand_from events" -f -a "show" -d 'The event body, its outcome, and each request with its attempts'
complete -c gitops-connector -n "__fish_gitops_connector_using_subcommand help; and __fish_seen_subcommand_from state" -f -a "migrate" -d 'Copy a state (journal, outbox with what is owed, what was told, handled PRs) into an empty one'
