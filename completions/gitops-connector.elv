
use builtin;
use str;

set edit:completion:arg-completer[gitops-connector] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'gitops-connector'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'gitops-connector'= {
            cand --config 'Configuration file [default: config.toml in the platform config directory]'
            cand --state 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]'
            cand --instance 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)'
            cand --output 'How results are printed on stdout'
            cand --log-format 'How diagnostics are printed on stderr (json: one object per line, for log collectors)'
            cand --budget 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]'
            cand -v 'Say more on stderr (each request, each decision)'
            cand --verbose 'Say more on stderr (each request, each decision)'
            cand -q 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --quiet 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --dry-run 'Print the requests that would be sent; send nothing and write no state'
            cand --ack-rejected 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand status 'Post the event''s commit statuses to the Git host and subscribers'
            cand notify 'If the event ends the deployment, tell the orchestrator (once per commit)'
            cand handle 'Status and notify in one invocation: what a webhook relay runs'
            cand poll-prs 'Fail the Azure Pipelines tasks still waiting on abandoned PRs (see also `periodic`)'
            cand replay 'Send what is still owed, or process a journaled event again'
            cand events 'List journaled events, or show one with its requests and their attempts'
            cand prune 'Drop journal entries older than a given age (owed requests are always kept)'
            cand config 'Print the resolved configuration, secrets redacted, with where each value came from'
            cand periodic 'Run the periodic work: replay --failed, then poll-prs; with --every, in a loop'
            cand state 'Work on the state itself: copy a SQLite state into PostgreSQL'
            cand generate 'Write shell completions and man pages (what `completions/` and `man/` hold)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gitops-connector;status'= {
            cand --signature 'The sender''s X-Signature header (Flux generic-hmac), e.g. sha256=<hex>'
            cand --config 'Configuration file [default: config.toml in the platform config directory]'
            cand --state 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]'
            cand --instance 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)'
            cand --output 'How results are printed on stdout'
            cand --log-format 'How diagnostics are printed on stderr (json: one object per line, for log collectors)'
            cand --budget 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]'
            cand --verified-by-relay 'The relay authenticated this request itself (its trigger rule checked Flux''s HMAC or Argo CD''s shared header token): ask no signature of it even where an HMAC key is configured. Only for hooks whose trigger rule authenticates'
            cand -v 'Say more on stderr (each request, each decision)'
            cand --verbose 'Say more on stderr (each request, each decision)'
            cand -q 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --quiet 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --dry-run 'Print the requests that would be sent; send nothing and write no state'
            cand --ack-rejected 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'gitops-connector;notify'= {
            cand --signature 'The sender''s X-Signature header (Flux generic-hmac), e.g. sha256=<hex>'
            cand --config 'Configuration file [default: config.toml in the platform config directory]'
            cand --state 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]'
            cand --instance 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)'
            cand --output 'How results are printed on stdout'
            cand --log-format 'How diagnostics are printed on stderr (json: one object per line, for log collectors)'
            cand --budget 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]'
            cand --verified-by-relay 'The relay authenticated this request itself (its trigger rule checked Flux''s HMAC or Argo CD''s shared header token): ask no signature of it even where an HMAC key is configured. Only for hooks whose trigger rule authenticates'
            cand -v 'Say more on stderr (each request, each decision)'
            cand --verbose 'Say more on stderr (each request, each decision)'
            cand -q 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --quiet 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --dry-run 'Print the requests that would be sent; send nothing and write no state'
            cand --ack-rejected 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'gitops-connector;handle'= {
            cand --signature 'The sender''s X-Signature header (Flux generic-hmac), e.g. sha256=<hex>'
            cand --config 'Configuration file [default: config.toml in the platform config directory]'
            cand --state 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]'
            cand --instance 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)'
            cand --output 'How results are printed on stdout'
            cand --log-format 'How diagnostics are printed on stderr (json: one object per line, for log collectors)'
            cand --budget 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]'
            cand --verified-by-relay 'The relay authenticated this request itself (its trigger rule checked Flux''s HMAC or Argo CD''s shared header token): ask no signature of it even where an HMAC key is configured. Only for hooks whose trigger rule authenticates'
            cand -v 'Say more on stderr (each request, each decision)'
            cand --verbose 'Say more on stderr (each request, each decision)'
            cand -q 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --quiet 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --dry-run 'Print the requests that would be sent; send nothing and write no state'
            cand --ack-rejected 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'gitops-connector;poll-prs'= {
            cand --max-age 'Only PRs closed within this age count (e.g. 72h, 3d, 90m)'
            cand --config 'Configuration file [default: config.toml in the platform config directory]'
            cand --state 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]'
            cand --instance 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)'
            cand --output 'How results are printed on stdout'
            cand --log-format 'How diagnostics are printed on stderr (json: one object per line, for log collectors)'
            cand --budget 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]'
            cand -v 'Say more on stderr (each request, each decision)'
            cand --verbose 'Say more on stderr (each request, each decision)'
            cand -q 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --quiet 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --dry-run 'Print the requests that would be sent; send nothing and write no state'
            cand --ack-rejected 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'gitops-connector;replay'= {
            cand --config 'Configuration file [default: config.toml in the platform config directory]'
            cand --state 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]'
            cand --instance 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)'
            cand --output 'How results are printed on stdout'
            cand --log-format 'How diagnostics are printed on stderr (json: one object per line, for log collectors)'
            cand --budget 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]'
            cand --failed 'Send every request still owed, oldest first, in order per commit'
            cand -v 'Say more on stderr (each request, each decision)'
            cand --verbose 'Say more on stderr (each request, each decision)'
            cand -q 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --quiet 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --dry-run 'Print the requests that would be sent; send nothing and write no state'
            cand --ack-rejected 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'gitops-connector;events'= {
            cand --commit 'Only events for this commit: its id, or a prefix of 7 or more hex digits'
            cand --limit 'At most this many, newest first'
            cand --config 'Configuration file [default: config.toml in the platform config directory]'
            cand --state 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]'
            cand --instance 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)'
            cand --output 'How results are printed on stdout'
            cand --log-format 'How diagnostics are printed on stderr (json: one object per line, for log collectors)'
            cand --budget 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]'
            cand --failed 'Only events that were rejected or still have requests owed or failed'
            cand -v 'Say more on stderr (each request, each decision)'
            cand --verbose 'Say more on stderr (each request, each decision)'
            cand -q 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --quiet 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --dry-run 'Print the requests that would be sent; send nothing and write no state'
            cand --ack-rejected 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
            cand -h 'Print help'
            cand --help 'Print help'
            cand show 'The event body, its outcome, and each request with its attempts'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gitops-connector;events;show'= {
            cand --config 'Configuration file [default: config.toml in the platform config directory]'
            cand --state 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]'
            cand --instance 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)'
            cand --output 'How results are printed on stdout'
            cand --log-format 'How diagnostics are printed on stderr (json: one object per line, for log collectors)'
            cand --budget 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]'
            cand -v 'Say more on stderr (each request, each decision)'
            cand --verbose 'Say more on stderr (each request, each decision)'
            cand -q 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --quiet 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --dry-run 'Print the requests that would be sent; send nothing and write no state'
            cand --ack-rejected 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'gitops-connector;events;help'= {
            cand show 'The event body, its outcome, and each request with its attempts'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gitops-connector;events;help;show'= {
        }
        &'gitops-connector;events;help;help'= {
        }
        &'gitops-connector;prune'= {
            cand --older-than 'Age of the entries to drop (e.g. 30d, 12h) [default: retention_days of the configuration]'
            cand --config 'Configuration file [default: config.toml in the platform config directory]'
            cand --state 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]'
            cand --instance 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)'
            cand --output 'How results are printed on stdout'
            cand --log-format 'How diagnostics are printed on stderr (json: one object per line, for log collectors)'
            cand --budget 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]'
            cand -v 'Say more on stderr (each request, each decision)'
            cand --verbose 'Say more on stderr (each request, each decision)'
            cand -q 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --quiet 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --dry-run 'Print the requests that would be sent; send nothing and write no state'
            cand --ack-rejected 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'gitops-connector;config'= {
            cand --config 'Configuration file [default: config.toml in the platform config directory]'
            cand --state 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]'
            cand --instance 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)'
            cand --output 'How results are printed on stdout'
            cand --log-format 'How diagnostics are printed on stderr (json: one object per line, for log collectors)'
            cand --budget 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]'
            cand -v 'Say more on stderr (each request, each decision)'
            cand --verbose 'Say more on stderr (each request, each decision)'
            cand -q 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --quiet 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --dry-run 'Print the requests that would be sent; send nothing and write no state'
            cand --ack-rejected 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'gitops-connector;periodic'= {
            cand --every 'Run a round every AGE (e.g. 60s, 5m) until stopped; without it, one round and exit'
            cand --max-age 'Only PRs closed within this age count (e.g. 72h, 3d, 90m)'
            cand --config 'Configuration file [default: config.toml in the platform config directory]'
            cand --state 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]'
            cand --instance 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)'
            cand --output 'How results are printed on stdout'
            cand --log-format 'How diagnostics are printed on stderr (json: one object per line, for log collectors)'
            cand --budget 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]'
            cand -v 'Say more on stderr (each request, each decision)'
            cand --verbose 'Say more on stderr (each request, each decision)'
            cand -q 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --quiet 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --dry-run 'Print the requests that would be sent; send nothing and write no state'
            cand --ack-rejected 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'gitops-connector;state'= {
            cand --config 'Configuration file [default: config.toml in the platform config directory]'
            cand --state 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]'
            cand --instance 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)'
            cand --output 'How results are printed on stdout'
            cand --log-format 'How diagnostics are printed on stderr (json: one object per line, for log collectors)'
            cand --budget 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]'
            cand -v 'Say more on stderr (each request, each decision)'
            cand --verbose 'Say more on stderr (each request, each decision)'
            cand -q 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --quiet 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --dry-run 'Print the requests that would be sent; send nothing and write no state'
            cand --ack-rejected 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
            cand -h 'Print help'
            cand --help 'Print help'
            cand migrate 'Copy a state (journal, outbox with what is owed, what was told, handled PRs) into an empty one'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gitops-connector;state;migrate'= {
            cand --from 'The state to copy: a SQLite file (it must exist)'
            cand --to 'The empty state to copy into: a postgres:// URL [default: the configured state]'
            cand --config 'Configuration file [default: config.toml in the platform config directory]'
            cand --state 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]'
            cand --instance 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)'
            cand --output 'How results are printed on stdout'
            cand --log-format 'How diagnostics are printed on stderr (json: one object per line, for log collectors)'
            cand --budget 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]'
            cand -v 'Say more on stderr (each request, each decision)'
            cand --verbose 'Say more on stderr (each request, each decision)'
            cand -q 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --quiet 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --dry-run 'Print the requests that would be sent; send nothing and write no state'
            cand --ack-rejected 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'gitops-connector;state;help'= {
            cand migrate 'Copy a state (journal, outbox with what is owed, what was told, handled PRs) into an empty one'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gitops-connector;state;help;migrate'= {
        }
        &'gitops-connector;state;help;help'= {
        }
        &'gitops-connector;generate'= {
            cand --out 'Where to write completions/ and man/'
            cand --config 'Configuration file [default: config.toml in the platform config directory]'
            cand --state 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]'
            cand --instance 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)'
            cand --output 'How results are printed on stdout'
            cand --log-format 'How diagnostics are printed on stderr (json: one object per line, for log collectors)'
            cand --budget 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]'
            cand -v 'Say more on stderr (each request, each decision)'
            cand --verbose 'Say more on stderr (each request, each decision)'
            cand -q 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --quiet 'Say nothing on stderr but the error that explains a non-zero exit'
            cand --dry-run 'Print the requests that would be sent; send nothing and write no state'
            cand --ack-rejected 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'gitops-connector;help'= {
            cand status 'Post the event''s commit statuses to the Git host and subscribers'
            cand notify 'If the event ends the deployment, tell the orchestrator (once per commit)'
            cand handle 'Status and notify in one invocation: what a webhook relay runs'
            cand poll-prs 'Fail the Azure Pipelines tasks still waiting on abandoned PRs (see also `periodic`)'
            cand replay 'Send what is still owed, or process a journaled event again'
            cand events 'List journaled events, or show one with its requests and their attempts'
            cand prune 'Drop journal entries older than a given age (owed requests are always kept)'
            cand config 'Print the resolved configuration, secrets redacted, with where each value came from'
            cand periodic 'Run the periodic work: replay --failed, then poll-prs; with --every, in a loop'
            cand state 'Work on the state itself: copy a SQLite state into PostgreSQL'
            cand generate 'Write shell completions and man pages (what `completions/` and `man/` hold)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gitops-connector;help;status'= {
        }
        &'gitops-connector;help;notify'= {
        }
        &'gitops-connector;help;handle'= {
        }
        &'gitops-connector;help;poll-prs'= {
        }
        &'gitops-connector;help;replay'= {
        }
        &'gitops-connector;help;events'= {
            cand show 'The event body, its outcome, and each request with its attempts'
        }
        &'gitops-connector;help;events;show'= {
        }
        &'gitops-connector;help;prune'= {
        }
        &'gitops-connector;help;config'= {
        }
        &'gitops-connector;help;periodic'= {
        }
        &'gitops-connector;help;state'= {
            cand migrate 'Copy a state (journal, outbox with what is owed, what was told, handled PRs) into an empty one'
        }
        &'gitops-connector;help;state;migrate'= {
        }
        &'gitops-connector;help;generate'= {
        }
        &'gitops-connector;help;help'= {
        }
    ]
    $completions[$command]
}
