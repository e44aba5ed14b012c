
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'gitops-connector' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'gitops-connector'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'gitops-connector' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: config.toml in the platform config directory]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How results are printed on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How diagnostics are printed on stderr (json: one object per line, for log collectors)')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the requests that would be sent; send nothing and write no state')
            [CompletionResult]::new('--ack-rejected', '--ack-rejected', [CompletionResultType]::ParameterName, 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Post the event''s commit statuses to the Git host and subscribers')
            [CompletionResult]::new('notify', 'notify', [CompletionResultType]::ParameterValue, 'If the event ends the deployment, tell the orchestrator (once per commit)')
            [CompletionResult]::new('handle', 'handle', [CompletionResultType]::ParameterValue, 'Status and notify in one invocation: what a webhook relay runs')
            [CompletionResult]::new('poll-prs', 'poll-prs', [CompletionResultType]::ParameterValue, 'Fail the Azure Pipelines tasks still waiting on abandoned PRs (see also `periodic`)')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Send what is still owed, or process a journaled event again')
            [CompletionResult]::new('events', 'events', [CompletionResultType]::ParameterValue, 'List journaled events, or show one with its requests and their attempts')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Drop journal entries older than a given age (owed requests are always kept)')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print the resolved configuration, secrets redacted, with where each value came from')
            [CompletionResult]::new('periodic', 'periodic', [CompletionResultType]::ParameterValue, 'Run the periodic work: replay --failed, then poll-prs; with --every, in a loop')
            [CompletionResult]::new('state', 'state', [CompletionResultType]::ParameterValue, 'Work on the state itself: copy a SQLite state into PostgreSQL')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (what `completions/` and `man/` hold)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gitops-connector;status' {
            [CompletionResult]::new('--signature', '--signature', [CompletionResultType]::ParameterName, 'The sender''s X-Signature header (Flux generic-hmac), e.g. sha256=<hex>')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: config.toml in the platform config directory]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How results are printed on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How diagnostics are printed on stderr (json: one object per line, for log collectors)')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]')
            [CompletionResult]::new('--verified-by-relay', '--verified-by-relay', [CompletionResultType]::ParameterName, 'The relay authenticated this request itself (its trigger rule checked Flux''s HMAC or Argo CD''s shared header token): ask no signature of it even where an HMAC key is configured. Only for hooks whose trigger rule authenticates')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the requests that would be sent; send nothing and write no state')
            [CompletionResult]::new('--ack-rejected', '--ack-rejected', [CompletionResultType]::ParameterName, 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'gitops-connector;notify' {
            [CompletionResult]::new('--signature', '--signature', [CompletionResultType]::ParameterName, 'The sender''s X-Signature header (Flux generic-hmac), e.g. sha256=<hex>')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: config.toml in the platform config directory]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How results are printed on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How diagnostics are printed on stderr (json: one object per line, for log collectors)')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]')
            [CompletionResult]::new('--verified-by-relay', '--verified-by-relay', [CompletionResultType]::ParameterName, 'The relay authenticated this request itself (its trigger rule checked Flux''s HMAC or Argo CD''s shared header token): ask no signature of it even where an HMAC key is configured. Only for hooks whose trigger rule authenticates')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the requests that would be sent; send nothing and write no state')
            [CompletionResult]::new('--ack-rejected', '--ack-rejected', [CompletionResultType]::ParameterName, 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'gitops-connector;handle' {
            [CompletionResult]::new('--signature', '--signature', [CompletionResultType]::ParameterName, 'The sender''s X-Signature header (Flux generic-hmac), e.g. sha256=<hex>')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: config.toml in the platform config directory]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How results are printed on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How diagnostics are printed on stderr (json: one object per line, for log collectors)')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]')
            [CompletionResult]::new('--verified-by-relay', '--verified-by-relay', [CompletionResultType]::ParameterName, 'The relay authenticated this request itself (its trigger rule checked Flux''s HMAC or Argo CD''s shared header token): ask no signature of it even where an HMAC key is configured. Only for hooks whose trigger rule authenticates')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the requests that would be sent; send nothing and write no state')
            [CompletionResult]::new('--ack-rejected', '--ack-rejected', [CompletionResultType]::ParameterName, 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'gitops-connector;poll-prs' {
            [CompletionResult]::new('--max-age', '--max-age', [CompletionResultType]::ParameterName, 'Only PRs closed within this age count (e.g. 72h, 3d, 90m)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: config.toml in the platform config directory]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How results are printed on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How diagnostics are printed on stderr (json: one object per line, for log collectors)')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the requests that would be sent; send nothing and write no state')
            [CompletionResult]::new('--ack-rejected', '--ack-rejected', [CompletionResultType]::ParameterName, 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'gitops-connector;replay' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: config.toml in the platform config directory]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How results are printed on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How diagnostics are printed on stderr (json: one object per line, for log collectors)')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]')
            [CompletionResult]::new('--failed', '--failed', [CompletionResultType]::ParameterName, 'Send every request still owed, oldest first, in order per commit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the requests that would be sent; send nothing and write no state')
            [CompletionResult]::new('--ack-rejected', '--ack-rejected', [CompletionResultType]::ParameterName, 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'gitops-connector;events' {
            [CompletionResult]::new('--commit', '--commit', [CompletionResultType]::ParameterName, 'Only events for this commit: its id, or a prefix of 7 or more hex digits')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most this many, newest first')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: config.toml in the platform config directory]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How results are printed on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How diagnostics are printed on stderr (json: one object per line, for log collectors)')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]')
            [CompletionResult]::new('--failed', '--failed', [CompletionResultType]::ParameterName, 'Only events that were rejected or still have requests owed or failed')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the requests that would be sent; send nothing and write no state')
            [CompletionResult]::new('--ack-rejected', '--ack-rejected', [CompletionResultType]::ParameterName, 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'The event body, its outcome, and each request with its attempts')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gitops-connector;events;show' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: config.toml in the platform config directory]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How results are printed on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How diagnostics are printed on stderr (json: one object per line, for log collectors)')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the requests that would be sent; send nothing and write no state')
            [CompletionResult]::new('--ack-rejected', '--ack-rejected', [CompletionResultType]::ParameterName, 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'gitops-connector;events;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'The event body, its outcome, and each request with its attempts')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gitops-connector;events;help;show' {
            break
        }
        'gitops-connector;events;help;help' {
            break
        }
        'gitops-connector;prune' {
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Age of the entries to drop (e.g. 30d, 12h) [default: retention_days of the configuration]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: config.toml in the platform config directory]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How results are printed on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How diagnostics are printed on stderr (json: one object per line, for log collectors)')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the requests that would be sent; send nothing and write no state')
            [CompletionResult]::new('--ack-rejected', '--ack-rejected', [CompletionResultType]::ParameterName, 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'gitops-connector;config' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: config.toml in the platform config directory]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How results are printed on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How diagnostics are printed on stderr (json: one object per line, for log collectors)')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the requests that would be sent; send nothing and write no state')
            [CompletionResult]::new('--ack-rejected', '--ack-rejected', [CompletionResultType]::ParameterName, 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'gitops-connector;periodic' {
            [CompletionResult]::new('--every', '--every', [CompletionResultType]::ParameterName, 'Run a round every AGE (e.g. 60s, 5m) until stopped; without it, one round and exit')
            [CompletionResult]::new('--max-age', '--max-age', [CompletionResultType]::ParameterName, 'Only PRs closed within this age count (e.g. 72h, 3d, 90m)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: config.toml in the platform config directory]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How results are printed on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How diagnostics are printed on stderr (json: one object per line, for log collectors)')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the requests that would be sent; send nothing and write no state')
            [CompletionResult]::new('--ack-rejected', '--ack-rejected', [CompletionResultType]::ParameterName, 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'gitops-connector;state' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: config.toml in the platform config directory]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How results are printed on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How diagnostics are printed on stderr (json: one object per line, for log collectors)')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the requests that would be sent; send nothing and write no state')
            [CompletionResult]::new('--ack-rejected', '--ack-rejected', [CompletionResultType]::ParameterName, 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Copy a state (journal, outbox with what is owed, what was told, handled PRs) into an empty one')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gitops-connector;state;migrate' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'The state to copy: a SQLite file (it must exist)')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The empty state to copy into: a postgres:// URL [default: the configured state]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: config.toml in the platform config directory]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How results are printed on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How diagnostics are printed on stderr (json: one object per line, for log collectors)')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the requests that would be sent; send nothing and write no state')
            [CompletionResult]::new('--ack-rejected', '--ack-rejected', [CompletionResultType]::ParameterName, 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'gitops-connector;state;help' {
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Copy a state (journal, outbox with what is owed, what was told, handled PRs) into an empty one')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gitops-connector;state;help;migrate' {
            break
        }
        'gitops-connector;state;help;help' {
            break
        }
        'gitops-connector;generate' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where to write completions/ and man/')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: config.toml in the platform config directory]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'The state: a SQLite file, or a postgres:// URL several replicas share [env: GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The configured instance to use (else the event''s gitops_connector_config_name, else the only one)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How results are printed on stdout')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How diagnostics are printed on stderr (json: one object per line, for log collectors)')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (each request, each decision)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but the error that explains a non-zero exit')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the requests that would be sent; send nothing and write no state')
            [CompletionResult]::new('--ack-rejected', '--ack-rejected', [CompletionResultType]::ParameterName, 'Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx and the sender stops resending them. Bad signatures and owed deliveries stay non-zero')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'gitops-connector;help' {
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Post the event''s commit statuses to the Git host and subscribers')
            [CompletionResult]::new('notify', 'notify', [CompletionResultType]::ParameterValue, 'If the event ends the deployment, tell the orchestrator (once per commit)')
            [CompletionResult]::new('handle', 'handle', [CompletionResultType]::ParameterValue, 'Status and notify in one invocation: what a webhook relay runs')
            [CompletionResult]::new('poll-prs', 'poll-prs', [CompletionResultType]::ParameterValue, 'Fail the Azure Pipelines tasks still waiting on abandoned PRs (see also `periodic`)')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Send what is still owed, or process a journaled event again')
            [CompletionResult]::new('events', 'events', [CompletionResultType]::ParameterValue, 'List journaled events, or show one with its requests and their attempts')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Drop journal entries older than a given age (owed requests are always kept)')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print the resolved configuration, secrets redacted, with where each value came from')
            [CompletionResult]::new('periodic', 'periodic', [CompletionResultType]::ParameterValue, 'Run the periodic work: replay --failed, then poll-prs; with --every, in a loop')
            [CompletionResult]::new('state', 'state', [CompletionResultType]::ParameterValue, 'Work on the state itself: copy a SQLite state into PostgreSQL')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (what `completions/` and `man/` hold)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gitops-connector;help;status' {
            break
        }
        'gitops-connector;help;notify' {
            break
        }
        'gitops-connector;help;handle' {
            break
        }
        'gitops-connector;help;poll-prs' {
            break
        }
        'gitops-connector;help;replay' {
            break
        }
        'gitops-connector;help;events' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'The event body, its outcome, and each request with its attempts')
            break
        }
        'gitops-connector;help;events;show' {
            break
        }
        'gitops-connector;help;prune' {
            break
        }
        'gitops-connector;help;config' {
            break
        }
        'gitops-connector;help;periodic' {
            break
        }
        'gitops-connector;help;state' {
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Copy a state (journal, outbox with what is owed, what was told, handled PRs) into an empty one')
            break
        }
        'gitops-connector;help;state;migrate' {
            break
        }
        'gitops-connector;help;generate' {
            break
        }
        'gitops-connector;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
